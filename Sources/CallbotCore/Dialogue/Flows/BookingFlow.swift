/// Booking an appointment, or moving one: motif, free slots near what the caller wants, a
/// recap, the booking. Closed days and impossible dates are said with why, then the nearest
/// slots to the day asked are offered.
struct BookingFlow {
    enum Purpose: Equatable {
        case book
        case move(Appointment)
    }

    enum State {
        case choosingMotif
        case searching(preference: Preference, fellBack: Bool)
        case offering([Slot])
        case confirming(Slot)
        case committing(Slot)
    }

    let purpose: Purpose
    private(set) var motif: String?
    private(set) var state: State = .choosingMotif
    /// Slots already offered and declined, so that "d'autres" moves on.
    private var declined: [Slot] = []
    private var lastPreference = Preference()

    init(purpose: Purpose, motif: String?) {
        self.purpose = purpose
        self.motif = motif
    }

    /// Asks for the motif if needed, then searches.
    mutating func start(_ preference: Preference, _ turn: inout DialogueTurn) -> FlowStep {
        let motifs = turn.context.config.appointments.motifs
        if motif == nil, motifs.count == 1 { motif = motifs[0].id }
        guard motif != nil else {
            let options = motifs.map {
                turn.context.prompt(.bookingMotifOption, ["label": $0.label, "digit": $0.keypad]).text
            }
            state = .choosingMotif
            turn.ask(
                .bookingAskMotif, ["motifs": options.joined(separator: " ; ")],
                expecting: .options(count: 9, more: false))
            return .waiting
        }
        return search(preference, &turn)
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        if case .stop = reply { return abandon(&turn) }
        if case .when = reply { declined = [] }  // a day asked again may have what was declined
        switch state {
        case .choosingMotif:
            let motifs = turn.context.config.appointments.motifs
            var chosen: Motif?
            switch reply {
            case .option(let n): chosen = motifs.first { $0.keypad == String(n) }
            case .request(let request):
                chosen =
                    request.understanding.flatMap { Self.motif(in: $0, motifs) }
                    ?? motifs.first { $0.intents.contains(request.name) }
            case .digits(let d): chosen = motifs.first { $0.keypad == d }
            case .no: return .ended(.declined)
            default: break
            }
            guard let chosen else { return .notUnderstood }
            motif = chosen.id
            var preference = Preference()
            if case .request(let request) = reply { preference = request.preference }
            return search(preference, &turn)
        case .offering(let slots):
            switch reply {
            case .option(let n) where n <= slots.count: return confirm(slots[n - 1], &turn)
            case .yes: return confirm(slots[0], &turn)
            case .when(let preference):
                if let slot = Self.slot(in: slots, matching: preference) { return confirm(slot, &turn) }
                return search(preference, &turn)
            case .more, .no:
                declined += slots
                return search(
                    lastPreference.date.map { Preference(near: $0) } ?? Preference(near: slots.last?.start.date), &turn)
            case .request(let request) where !request.preference.isEmpty:
                return search(request.preference, &turn)
            default: return .notUnderstood
            }
        case .confirming(let slot):
            switch reply {
            case .yes, .option(1): return commit(slot, &turn)
            case .no, .option(2), .more:
                declined.append(slot)
                return search(Preference(near: slot.start.date), &turn)
            case .when(let preference): return search(preference, &turn)
            default: return .notUnderstood
            }
        case .searching, .committing:
            return .waiting
        }
    }

    /// Whether it waits for storage rather than for the caller.
    var isWaiting: Bool {
        switch state {
        case .searching, .committing: true
        default: false
        }
    }

    /// The result of a request it made; nil for a result that is not a booking's.
    mutating func handle(result: DialogueEvent, _ turn: inout DialogueTurn) -> FlowStep? {
        switch result {
        case .slotsFound(let slots): slotsFound(slots, &turn)
        case .booked(let appointment): booked(appointment, &turn)
        case .bookingFailed: bookingFailed(&turn)
        default: nil
        }
    }

    private mutating func slotsFound(_ slots: [Slot], _ turn: inout DialogueTurn) -> FlowStep {
        guard case .searching(let preference, let fellBack) = state, let motif else { return .waiting }
        let fresh = slots.filter { !declined.contains($0) }
        if fresh.isEmpty {
            if let date = preference.date, !fellBack {
                turn.say(.bookingNothingThatDay, ["date": turn.context.date(date)])
                return request(Preference(near: date), fellBack: true, &turn)
            }
            if !declined.isEmpty {
                turn.say(.bookingNoMore)
            } else {
                turn.say(.bookingNoSlot, ["motif": turn.context.motifLabel(motif)])
            }
            return .ended(.nothingFound)
        }
        // The day asked is said back when the slots found are on another day (whatever the port
        // found), and a time asked when it is not free that day.
        if let date = preference.date, !fellBack, fresh[0].start.date != date {
            turn.say(.bookingNothingThatDay, ["date": turn.context.date(date)])
        } else if let time = preference.time, let date = preference.date, !fellBack,
            !fresh.contains(where: { $0.start.time == time })
        {
            turn.say(.bookingNoTimeThatDay, ["date": turn.context.date(date)])
        }
        let offered = Array(fresh.prefix(2))
        let options = offered.map { turn.context.format.slot($0, today: turn.context.today) }
        state = .offering(offered)
        if options.count == 2 {
            turn.ask(
                .bookingOfferTwo, ["option1": options[0], "option2": options[1]],
                expecting: .options(count: 2, more: true))
        } else {
            turn.ask(.bookingOfferOne, ["option1": options[0]], expecting: .options(count: 1, more: true))
        }
        return .waiting
    }

    private mutating func booked(_ appointment: Appointment, _ turn: inout DialogueTurn) -> FlowStep {
        guard case .committing = state else { return .waiting }
        let slot = Slot(
            motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes)
        let spokenSlot = turn.context.format.slot(slot, today: turn.context.today)
        let reference = SpokenFormat.digitByDigit(appointment.reference)
        var fields: [String: JSONValue] = [
            "reference": .string(appointment.reference), "motif": .string(appointment.motifID),
            "slot": .string(appointment.start.iso), "duration_minutes": .int(appointment.durationMinutes),
        ]
        switch purpose {
        case .book:
            turn.record(.appointmentBooked, fields)
            turn.say(
                .bookingBooked,
                ["motif": turn.context.motifLabel(appointment.motifID), "slot": spokenSlot, "reference": reference])
        case .move(let previous):
            fields["previous_slot"] = .string(previous.start.iso)
            turn.record(.appointmentMoved, fields)
            turn.say(.manageMoved, ["slot": spokenSlot, "reference": reference])
        }
        return .ended(.served)
    }

    private mutating func bookingFailed(_ turn: inout DialogueTurn) -> FlowStep {
        guard case .committing(let slot) = state else { return .waiting }
        turn.say(.bookingSlotTaken)
        declined.append(slot)
        return request(Preference(date: slot.start.date), fellBack: false, &turn)
    }

    // MARK: Steps

    /// Says why the day asked cannot be had (past, too far, too soon, closed), then searches
    /// the nearest days; otherwise searches that day.
    private mutating func search(_ preference: Preference, _ turn: inout DialogueTurn) -> FlowStep {
        guard let motifID = motif,
            let motif = turn.context.config.appointments.motifs.first(where: { $0.id == motifID })
        else { return .ended(.failed) }
        lastPreference = preference
        guard let date = preference.date else { return request(preference, fellBack: false, &turn) }
        let context = turn.context
        let earliest = context.now.adding(minutes: motif.minNoticeHours * 60)
        let last = context.today.adding(days: motif.maxDaysAhead)
        let calendar = context.config.calendar(for: motif)
        let nearest = Preference(time: preference.time, partOfDay: preference.partOfDay, near: date)
        if date < context.today {
            turn.say(.bookingPast)
            return request(Preference(time: preference.time, partOfDay: preference.partOfDay), fellBack: true, &turn)
        }
        if date > last {
            turn.say(.bookingTooFar, ["date": context.date(last)])
            return request(Preference(near: last), fellBack: true, &turn)
        }
        if let closed = context.closedReason(context.config.opening, on: date) {
            turn.say(.bookingClosedDay, ["date": context.date(date), "why": context.why(closed)])
            return request(nearest, fellBack: true, &turn)
        }
        if calendar.ranges(on: date).isEmpty {
            turn.say(
                .bookingMotifNotThatDay,
                ["motif": motif.label, "date": context.date(date), "hours": context.format.weeklyHours(calendar.hours)])
            return request(nearest, fellBack: true, &turn)
        }
        if date < earliest.date
            || (date == earliest.date && calendar.ranges(on: date).allSatisfy { $0.end <= earliest.time })
        {
            turn.say(.bookingTooSoon, ["hours": String(motif.minNoticeHours)])
            return request(nearest, fellBack: true, &turn)
        }
        return request(preference, fellBack: false, &turn)
    }

    private mutating func request(_ preference: Preference, fellBack: Bool, _ turn: inout DialogueTurn) -> FlowStep {
        guard let motif else { return .ended(.failed) }
        state = .searching(preference: preference, fellBack: fellBack)
        var excluding = declined
        if case .move(let appointment) = purpose {
            excluding.append(
                Slot(
                    motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes
                ))
        }
        turn.request(.findSlots(motifID: motif, preference: preference, excluding: excluding, limit: 2))
        return .waiting
    }

    private mutating func confirm(_ slot: Slot, _ turn: inout DialogueTurn) -> FlowStep {
        state = .confirming(slot)
        turn.ask(
            .bookingConfirm,
            [
                "motif": turn.context.motifLabel(slot.motifID),
                "slot": turn.context.format.slot(slot, today: turn.context.today),
            ],
            expecting: .yesNo)
        return .waiting
    }

    private mutating func commit(_ slot: Slot, _ turn: inout DialogueTurn) -> FlowStep {
        state = .committing(slot)
        switch purpose {
        case .book: turn.request(.book(slot))
        case .move(let appointment): turn.request(.move(appointment, to: slot))
        }
        return .waiting
    }

    private func abandon(_ turn: inout DialogueTurn) -> FlowStep {
        if case .move = purpose { turn.say(.manageKept) } else { turn.say(.bookingAbandoned) }
        return .ended(.declined)
    }

    /// The offered slot the caller names by its time (and day): "10h30 ça m'arrange".
    static func slot(in slots: [Slot], matching preference: Preference) -> Slot? {
        guard preference.time != nil || preference.date != nil else { return nil }
        let matching = slots.filter { slot in
            if let date = preference.date, slot.start.date != date { return false }
            if let time = preference.time, slot.start.time != time { return false }
            if let part = preference.partOfDay, preference.time == nil {
                return part == .morning ? slot.start.time.minutes < 12 * 60 : slot.start.time.minutes >= 12 * 60
            }
            return true
        }
        return matching.count == 1 ? matching[0] : (preference.time != nil ? matching.first : nil)
    }

    /// The motif a caller names, by keyword or by the intent it belongs to.
    ///
    /// The motif named first, or last when the caller corrects themselves ("pour un mariage, euh
    /// non pardon, pour le permis de construire"); a topic recognised among the alternatives counts
    /// too ("se pacser… faut prendre un rendez-vous ?").
    static func motif(in u: Understanding, _ motifs: [Motif]) -> Motif? {
        let stems = u.tokens.map(FrenchStemmer.stem)
        let corrected = CallerCues.corrects(u.tokens)
        let named = motifs.compactMap { motif -> (Motif, Int)? in
            let starts = Phrases(motif.keywords).occurrences(in: stems)
            return (corrected ? starts.max() : starts.min()).map { (motif, $0) }
        }
        let pick = corrected ? named.max { $0.1 < $1.1 } : named.min { $0.1 < $1.1 }
        if let pick { return pick.0 }
        if let byIntent = motifs.first(where: { $0.intents.contains(u.intent) }) { return byIntent }
        let topics = u.alternatives.filter(\.keywordMatched).map(\.intent)
        return motifs.first { motif in topics.contains(where: motif.intents.contains) }
    }
}
