/// The conversation of one call, as a state machine: events in, actions out.
///
/// It never does I/O. Requests that need storage or the network (free slots, a booking, the
/// generative fallback…) are actions; their results come back as events. A booking is only
/// announced once the `booked` event confirms it was committed.
package struct DialogueEngine: Sendable {
    /// Where the conversation stands.
    enum State: Sendable {
        case notStarted
        /// Waiting for a request; `afterAnswer` once something was answered ("autre chose ?").
        case main(afterAnswer: Bool)
        /// A yes/no question (1 = yes, 2 = no).
        case question(Question)
        case choosingMotif(Purpose)
        case waitingForSlots(Purpose, motif: String, preference: Preference, fellBack: Bool)
        case offeringSlots(Purpose, motif: String, slots: [Slot])
        case askingDay(Purpose, motif: String)
        case confirmingSlot(Purpose, Slot)
        case waitingForBooking(Purpose, Slot)
        case waitingForAppointments(byReference: Bool, moveRequested: Bool?)
        case askingReference(moveRequested: Bool?)
        case managing(Appointment, moveRequested: Bool?)
        case confirmingCancel(Appointment)
        case waitingForCancel(Appointment)
        case waitingForWindows(Preference, fellBack: Bool)
        case offeringWindow(CallbackWindow)
        case askingWhen
        case confirmingCallerID(CallbackWindow)
        case askingNumber(CallbackWindow)
        case readingBackNumber(CallbackWindow, phone: String)
        case waitingForCallback
        /// After a refused or impossible hand-off: 1 = callback, 2 = appointment.
        case offeringAlternatives
        case transferring(HandoffContext)
        case waitingForAssistant
        case survey
        /// A poorly recognised utterance read back to the caller: yes resumes `resume` with it.
        indirect case checkingHeard(Understanding, resume: State)
        case ended
    }

    enum Question: Sendable, Equatable {
        case offerBooking(motif: String)
        case offerHandoff
    }

    enum Purpose: Sendable, Equatable {
        case book
        case move(Appointment)
    }

    private let deployment: Deployment
    private let understander: Understander
    private let format: SpokenFormat
    private let callID: String
    private let callerNumber: String?

    private(set) var state: State = .notStarted
    private var reprompts = 0
    /// What to say again on "répétez" or after a no-input.
    private var lastQuestion: [Prompt] = []
    private var intents: [String] = []
    private var requests: [String] = []
    private var lastSlots: [String: String] = [:]
    /// The last answered intent, to choose a motif without asking.
    private var lastTopic: String?
    private var served = false
    private var referenceAttempts = 0
    private var callbackScheduled = false
    private var surveyed = false
    private var now = LocalDateTime(date: LocalDate(daysSinceEpoch: 0), time: TimeOfDay(minutes: 0))

    /// A dialogue for call `callID`; `callerNumber` (E.164) is the caller ID when there is one.
    package init(deployment: Deployment, understander: Understander, callID: String, callerNumber: String?) {
        self.deployment = deployment
        self.understander = understander
        self.format = SpokenFormat(messages: deployment.messages)
        self.callID = callID
        self.callerNumber = callerNumber
    }

    /// Whether the call is over for the bot (hung up, transferred or said goodbye).
    package var isFinished: Bool {
        if case .ended = state { return true }
        return false
    }

    private var config: ServiceConfig { deployment.config }
    private var today: LocalDate { now.date }

    // MARK: Events

    /// Advances the conversation; `now` is the wall-clock time in the service's zone.
    package mutating func handle(_ event: DialogueEvent, now: LocalDateTime) -> [DialogueAction] {
        self.now = now
        if case .ended = state { return [] }
        var out = Output(now: now)
        switch event {
        case .started:
            ask([prompt("greeting", ["service": config.service.name])], then: .main(afterAnswer: false), &out)
        case .hangUp:
            end(outcome: outcomeOnHangUp, &out, hangUp: false)
        case .utterance(let text, let confidence):
            let understanding = understander.understand(text, today: today)
            out.record(
                "utterance",
                [
                    "text": .string(understanding.redacted), "confidence": .double(confidence),
                    "intent": .string(understanding.intent), "intent_confidence": .double(understanding.confidence),
                ])
            if confidence < config.speech.confirmBelow, needsCheck(understanding) {
                checkHeard(understanding, text: text, &out)
            } else {
                onUtterance(understanding, &out)
            }
        case .speechUnavailable:
            out.record("speech_unavailable")
            onSpeechUnavailable(&out)
        case .digits(let digits):
            out.record("digits", ["digits": .string(digits.count > 2 ? "***" : digits)])
            onDigits(digits, &out)
        case .silence:
            out.record("no_input")
            onSilence(&out)
        case .transferResult(let outcome):
            onTransferResult(outcome, &out)
        case .slotsFound(let slots):
            onSlots(slots, &out)
        case .booked(let appointment):
            onBooked(appointment, &out)
        case .bookingFailed(let failure):
            onBookingFailed(failure, &out)
        case .appointmentsFound(let appointments):
            onAppointments(appointments, &out)
        case .cancelled(let appointment):
            onCancelled(appointment, &out)
        case .callbackWindowsFound(let windows):
            onWindows(windows, &out)
        case .callbackScheduled(let callback):
            onCallbackScheduled(callback, &out)
        case .assistantReplied(let reply):
            onAssistant(reply, &out)
        case .serviceFailed:
            out.say(prompt("technical_problem"))
            handoff(reason: "technical_problem", &out)
        }
        return out.actions
    }

    // MARK: Caller input

    private mutating func onUtterance(_ u: Understanding, _ out: inout Output) {
        if case .checkingHeard(let heard, let resume) = state {
            state = resume
            switch u.slots.yesNo {
            case true?: return onUtterance(heard, &out)
            case false?:
                out.say(prompt("speech.rephrase"))
                return listen(&out)
            case nil: break  // a new request: taken as it is
            }
        }
        if !u.slots.isEmpty { lastSlots.merge(slotStrings(u.slots)) { _, new in new } }
        // A request for an agent or a repetition is honoured wherever the caller is,
        // except while they dictate a number.
        if !collectingNumber, let intent = deployment.intents.intent(named: u.intent) {
            if intent.action == .handoff && intent.answer == nil && !isYesNoState {
                noteIntent(u)
                return handoff(reason: "caller_request", &out)
            }
            if intent.action == .repeat { return repeatLast(&out) }
        }
        switch state {
        case .main(let afterAnswer):
            if afterAnswer, u.slots.yesNo == false, u.confidence < 0.6 || u.intent == IntentClassifier.none {
                return finish(&out)
            }
            if u.intent == IntentClassifier.none, u.slots.yesNo == true, u.tokens.count <= 3 {
                out.say(prompt("listening"))
                return listen(&out)
            }
            dispatch(u, &out)
        case .question(let question):
            guard let yes = u.slots.yesNo else { return retryOrDispatch(u, &out) }
            answer(question, yes: yes, &out)
        case .choosingMotif(let purpose):
            guard let motif = motif(in: u) else { return noMatch(&out) }
            startSlotSearch(purpose, motif: motif.id, preference: Preference(u.slots), &out)
        case .offeringSlots(let purpose, let motif, let slots):
            let preference = Preference(u.slots)
            if let choice = u.slots.choice, let slot = pick(choice, from: slots) {
                return confirmSlot(purpose, slot, &out)
            }
            if !preference.isEmpty {
                return startSlotSearch(purpose, motif: motif, preference: preference, &out)
            }
            if u.slots.yesNo == true, let slot = slots.first { return confirmSlot(purpose, slot, &out) }
            if u.slots.yesNo == false {
                return ask([prompt("booking.ask_day")], then: .askingDay(purpose, motif: motif), &out)
            }
            retryOrDispatch(u, &out)
        case .askingDay(let purpose, let motif):
            let preference = Preference(u.slots)
            guard !preference.isEmpty else {
                if u.slots.yesNo == false { return abandonBooking(purpose, &out) }
                return retryOrDispatch(u, &out)
            }
            startSlotSearch(purpose, motif: motif, preference: preference, &out)
        case .confirmingSlot(let purpose, let slot):
            if let yes = u.slots.yesNo {
                return yes
                    ? commit(purpose, slot, &out)
                    : ask([prompt("booking.ask_day")], then: .askingDay(purpose, motif: slot.motifID), &out)
            }
            let preference = Preference(u.slots)
            if !preference.isEmpty {
                return startSlotSearch(purpose, motif: slot.motifID, preference: preference, &out)
            }
            retryOrDispatch(u, &out)
        case .askingReference(let moveRequested):
            guard let digits = u.slots.digits, digits.count == config.appointments.referenceDigits else {
                return noMatch(&out)
            }
            lookUp(.reference(digits), moveRequested: moveRequested, &out)
        case .managing(let appointment, _):
            if u.slots.choice == 1 || Understander.mentions(u.tokens, anyOf: ["annuler", "annulation"]) {
                return confirmCancel(appointment, &out)
            }
            if u.slots.choice == 2 || Understander.mentions(u.tokens, anyOf: config.appointments.moveKeywords) {
                return startBooking(
                    .move(appointment), preference: Preference(u.slots), motif: appointment.motifID, &out)
            }
            if u.slots.choice == 3 || u.slots.yesNo == false {
                out.say(prompt("manage.kept"))
                return enterMain(afterAnswer: true, &out)
            }
            retryOrDispatch(u, &out)
        case .confirmingCancel(let appointment):
            guard let yes = u.slots.yesNo else { return retryOrDispatch(u, &out) }
            if yes {
                state = .waitingForCancel(appointment)
                out.actions.append(.cancel(appointment))
            } else {
                out.say(prompt("manage.kept"))
                enterMain(afterAnswer: true, &out)
            }
        case .offeringWindow(let window):
            let preference = Preference(u.slots)
            if u.slots.yesNo == true && preference.isEmpty { return confirmNumber(window, &out) }
            if !preference.isEmpty { return findWindows(preference, &out) }
            if u.slots.yesNo == false { return ask([prompt("callback.ask_when")], then: .askingWhen, &out) }
            retryOrDispatch(u, &out)
        case .askingWhen:
            let preference = Preference(u.slots)
            guard !preference.isEmpty else {
                if u.slots.yesNo == false {
                    out.say(prompt("callback.abandoned"))
                    return enterMain(afterAnswer: true, &out)
                }
                return retryOrDispatch(u, &out)
            }
            findWindows(preference, &out)
        case .confirmingCallerID(let window):
            if u.slots.yesNo == true || u.slots.choice == 1 { return schedule(window, phone: callerNumber!, &out) }
            if let phone = u.slots.phone { return readBack(window, phone: phone, &out) }
            if u.slots.yesNo == false || u.slots.choice == 2 {
                return ask([prompt("callback.ask_number")], then: .askingNumber(window), &out, maxDigits: 10)
            }
            noMatch(&out)
        case .askingNumber(let window):
            guard let phone = u.slots.phone else { return invalidNumber(&out) }
            readBack(window, phone: phone, &out)
        case .readingBackNumber(let window, let phone):
            guard let yes = u.slots.yesNo else {
                if let other = u.slots.phone { return readBack(window, phone: other, &out) }
                return noMatch(&out)
            }
            if yes { return schedule(window, phone: phone, &out) }
            ask([prompt("callback.ask_number")], then: .askingNumber(window), &out, maxDigits: 10)
        case .offeringAlternatives:
            let action = deployment.intents.intent(named: u.intent)?.action
            if u.slots.choice == 1 || action == .callback { return startCallback(Preference(u.slots), &out) }
            if u.slots.choice == 2 || action == .book {
                return startBooking(.book, preference: Preference(u.slots), motif: motif(in: u)?.id, &out)
            }
            if u.slots.yesNo == false { return enterMain(afterAnswer: true, &out) }
            retryOrDispatch(u, &out)
        case .survey:
            if let score = u.slots.digits.flatMap({ Int($0) }) ?? u.slots.choice, (1...5).contains(score) {
                return recordSurvey(score, &out)
            }
            surveyRetry(&out)
        case .notStarted, .ended, .transferring, .waitingForSlots, .waitingForBooking, .waitingForAppointments,
            .waitingForCancel, .waitingForWindows, .waitingForCallback, .waitingForAssistant, .checkingHeard:
            // Speech while the bot is busy: nothing to do; the caller will be asked.
            break
        }
    }

    private mutating func onDigits(_ digits: String, _ out: inout Output) {
        if case .checkingHeard(let heard, let resume) = state {
            state = resume
            if digits == "1" { return onUtterance(heard, &out) }
            if digits == "2" {
                out.say(prompt("speech.rephrase"))
                return listen(&out)
            }
        }
        if !collectingNumber, digits == "0", deployment.intents.intent(forKeypad: "0")?.action == .handoff {
            intents.append(deployment.intents.intent(forKeypad: "0")!.name)
            return handoff(reason: "caller_request", &out)
        }
        if !collectingNumber, let intent = deployment.intents.intent(forKeypad: digits), intent.action == .repeat {
            return repeatLast(&out)
        }
        let key = digits.first.map(String.init) ?? ""
        switch state {
        case .main:
            guard let intent = deployment.intents.intent(forKeypad: digits) else { return noMatch(&out) }
            intents.append(intent.name)
            perform(intent, understanding: nil, &out)
        case .question(let question):
            guard key == "1" || key == "2" else { return noMatch(&out) }
            answer(question, yes: key == "1", &out)
        case .choosingMotif(let purpose):
            guard let motif = config.appointments.motifs.first(where: { $0.keypad == key }) else {
                return noMatch(&out)
            }
            startSlotSearch(purpose, motif: motif.id, preference: Preference(), &out)
        case .offeringSlots(let purpose, _, let slots):
            guard let choice = Int(key), let slot = pick(choice, from: slots) else { return noMatch(&out) }
            confirmSlot(purpose, slot, &out)
        case .confirmingSlot(let purpose, let slot):
            if key == "1" { return commit(purpose, slot, &out) }
            if key == "2" {
                return ask([prompt("booking.ask_day")], then: .askingDay(purpose, motif: slot.motifID), &out)
            }
            noMatch(&out)
        case .askingReference(let moveRequested):
            let reference = digits.filter(\.isNumber)
            guard reference.count == config.appointments.referenceDigits else { return noMatch(&out) }
            lookUp(.reference(reference), moveRequested: moveRequested, &out)
        case .managing(let appointment, _):
            switch key {
            case "1": confirmCancel(appointment, &out)
            case "2": startBooking(.move(appointment), preference: Preference(), motif: appointment.motifID, &out)
            case "3":
                out.say(prompt("manage.kept"))
                enterMain(afterAnswer: true, &out)
            default: noMatch(&out)
            }
        case .confirmingCancel(let appointment):
            if key == "1" {
                state = .waitingForCancel(appointment)
                out.actions.append(.cancel(appointment))
            } else if key == "2" {
                out.say(prompt("manage.kept"))
                enterMain(afterAnswer: true, &out)
            } else {
                noMatch(&out)
            }
        case .offeringWindow(let window):
            if key == "1" { return confirmNumber(window, &out) }
            if key == "2" { return ask([prompt("callback.ask_when")], then: .askingWhen, &out) }
            noMatch(&out)
        case .confirmingCallerID(let window):
            if key == "1" { return schedule(window, phone: callerNumber!, &out) }
            if key == "2" {
                return ask([prompt("callback.ask_number")], then: .askingNumber(window), &out, maxDigits: 10)
            }
            noMatch(&out)
        case .askingNumber(let window):
            guard let phone = SlotExtractor.frenchNumber(in: Array(digits.filter(\.isNumber))) else {
                return invalidNumber(&out)
            }
            readBack(window, phone: phone, &out)
        case .readingBackNumber(let window, let phone):
            if key == "1" { return schedule(window, phone: phone, &out) }
            if key == "2" {
                return ask([prompt("callback.ask_number")], then: .askingNumber(window), &out, maxDigits: 10)
            }
            noMatch(&out)
        case .offeringAlternatives:
            if key == "1" { return startCallback(Preference(), &out) }
            if key == "2" { return startBooking(.book, preference: Preference(), motif: nil, &out) }
            noMatch(&out)
        case .survey:
            guard let score = Int(key), (1...5).contains(score) else { return surveyRetry(&out) }
            recordSurvey(score, &out)
        case .askingDay, .askingWhen:
            noMatch(&out)
        case .notStarted, .ended, .transferring, .waitingForSlots, .waitingForBooking, .waitingForAppointments,
            .waitingForCancel, .waitingForWindows, .waitingForCallback, .waitingForAssistant, .checkingHeard:
            break
        }
    }

    private mutating func onSilence(_ out: inout Output) {
        if case .checkingHeard(_, let resume) = state { state = resume }
        switch state {
        case .survey:
            // No score is an answer too: leave politely.
            out.say(prompt("goodbye"))
            end(outcome: servedOutcome, &out, hangUp: true)
        case .main(let afterAnswer) where afterAnswer && reprompts >= 1:
            // "Autre chose ?" met twice with silence: the caller is done.
            finish(&out)
        default:
            reprompt(prompt("no_input"), &out)
        }
    }

    /// Whether the caller is dictating digits, where `0` is a digit and not a request for an agent.
    private var collectingNumber: Bool {
        switch state {
        case .askingReference, .askingNumber, .survey: return true
        default: return false
        }
    }

    private var isYesNoState: Bool {
        if case .question(.offerHandoff) = state { return true }
        return false
    }

    // MARK: Speech

    /// Whether a poorly recognised utterance is worth reading back: it would act on something,
    /// and is not a short yes or no, nor digits that the next step reads back anyway.
    private func needsCheck(_ u: Understanding) -> Bool {
        switch state {
        case .checkingHeard, .askingNumber, .askingReference, .readingBackNumber, .survey: return false
        case .notStarted, .ended, .transferring, .waitingForSlots, .waitingForBooking, .waitingForAppointments,
            .waitingForCancel, .waitingForWindows, .waitingForCallback, .waitingForAssistant:
            return false
        default: break
        }
        if u.slots.yesNo != nil && u.tokens.count <= 3 { return false }
        return !u.tokens.isEmpty
    }

    private mutating func checkHeard(_ u: Understanding, text: String, _ out: inout Output) {
        out.record("speech.check")
        out.say(prompt("speech.check", ["text": FrenchText.spokenQuote(text)]))
        state = .checkingHeard(u, resume: state)
        listen(&out)
    }

    /// The recogniser failed: the caller is told once, then everything goes by the keypad.
    private mutating func onSpeechUnavailable(_ out: inout Output) {
        out.say(prompt("speech.unavailable"))
        if case .checkingHeard(_, let resume) = state { state = resume }
        if case .main = state {
            out.say(prompt("menu"))
        } else {
            for p in lastQuestion { out.say(p) }
        }
        listen(&out)
    }

    // MARK: Intents

    private mutating func dispatch(_ u: Understanding, _ out: inout Output) {
        if u.intent == IntentClassifier.none {
            requests.append(u.redacted)
            state = .waitingForAssistant
            out.actions.append(.ask(u.redacted))
            return
        }
        guard let intent = deployment.intents.intent(named: u.intent) else { return noMatch(&out) }
        noteIntent(u)
        perform(intent, understanding: u, &out)
    }

    private mutating func noteIntent(_ u: Understanding) {
        intents.append(u.intent)
        requests.append(u.redacted)
    }

    private mutating func perform(_ intent: IntentDefinition, understanding u: Understanding?, _ out: inout Output) {
        reprompts = 0
        let preference = u.map { Preference($0.slots) } ?? Preference()
        switch intent.action {
        case .answer:
            out.say(answerPrompt(intent))
            served = true
            lastTopic = intent.name
            if let motif = intent.offerMotif,
                let label = config.appointments.motifs.first(where: { $0.id == motif })?.label
            {
                return ask(
                    [prompt("booking.offer", ["motif": label])], then: .question(.offerBooking(motif: motif)), &out)
            }
            enterMain(afterAnswer: true, &out)
        case .book:
            startBooking(.book, preference: preference, motif: u.flatMap { motif(in: $0) }?.id, &out)
        case .cancel:
            let move = u.map { Understander.mentions($0.tokens, anyOf: config.appointments.moveKeywords) }
            if let callerNumber {
                lookUp(.caller(phone: callerNumber), moveRequested: move, &out)
            } else {
                askReference(moveRequested: move, &out)
            }
        case .callback:
            startCallback(preference, &out)
        case .handoff:
            if intent.answer != nil { out.say(answerPrompt(intent)) }
            handoff(reason: intent.answer == nil ? "caller_request" : "personal_case", &out)
        case .goodbye:
            finish(&out)
        case .repeat:
            repeatLast(&out)
        }
    }

    private func answerPrompt(_ intent: IntentDefinition) -> Prompt {
        prompt(
            intent.answer!,
            [
                "opening_hours": format.weeklyHours(config.opening.hours),
                "agent_hours": format.weeklyHours(config.agents.hours), "address": config.service.address,
                "service": config.service.name, "website": config.service.website ?? "",
            ])
    }

    private mutating func answer(_ question: Question, yes: Bool, _ out: inout Output) {
        switch question {
        case .offerBooking(let motif):
            if yes { return startBooking(.book, preference: Preference(), motif: motif, &out) }
            enterMain(afterAnswer: true, &out)
        case .offerHandoff:
            if yes { return handoff(reason: "caller_accepted", &out) }
            enterMain(afterAnswer: true, &out)
        }
    }

    /// The motif a caller names, by keyword, by intent, or the last topic of the call.
    private func motif(in u: Understanding) -> Motif? {
        let motifs = config.appointments.motifs
        if let byKeyword = motifs.first(where: { Understander.mentions(u.tokens, anyOf: $0.keywords) }) {
            return byKeyword
        }
        if let byIntent = motifs.first(where: { $0.intents.contains(u.intent) }) { return byIntent }
        if let digit = u.slots.digits ?? u.slots.choice.map(String.init),
            let byKey = motifs.first(where: { $0.keypad == digit })
        {
            return byKey
        }
        return nil
    }

    // MARK: Booking

    private mutating func startBooking(_ purpose: Purpose, preference: Preference, motif: String?, _ out: inout Output)
    {
        reprompts = 0
        let motifs = config.appointments.motifs
        let chosen =
            motif ?? (motifs.count == 1 ? motifs[0].id : nil)
            ?? lastTopic.flatMap { topic in motifs.first { $0.intents.contains(topic) }?.id }
        guard let chosen else {
            let options = motifs.map { prompt("booking.motif_option", ["label": $0.label, "digit": $0.keypad]).text }
            return ask(
                [prompt("booking.ask_motif", ["motifs": options.joined(separator: " ; ")])],
                then: .choosingMotif(purpose),
                &out)
        }
        startSlotSearch(purpose, motif: chosen, preference: preference, &out)
    }

    private mutating func startSlotSearch(
        _ purpose: Purpose, motif: String, preference: Preference, fellBack: Bool = false, _ out: inout Output
    ) {
        state = .waitingForSlots(purpose, motif: motif, preference: preference, fellBack: fellBack)
        var excluding: [Slot] = []
        if case .move(let appointment) = purpose {
            excluding.append(
                Slot(
                    motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes
                ))
        }
        out.actions.append(.findSlots(motifID: motif, preference: preference, excluding: excluding, limit: 2))
    }

    private mutating func onSlots(_ slots: [Slot], _ out: inout Output) {
        guard case .waitingForSlots(let purpose, let motif, let preference, let fellBack) = state else { return }
        let label = motifLabel(motif)
        if slots.isEmpty {
            if !preference.isEmpty && !fellBack {
                if let date = preference.date {
                    out.say(prompt("booking.nothing_that_day", ["date": format.date(date, today: today)]))
                }
                return startSlotSearch(purpose, motif: motif, preference: Preference(), fellBack: true, &out)
            }
            out.say(prompt("booking.no_slot", ["motif": label]))
            return offerAlternatives(&out)
        }
        if let date = preference.date, slots[0].start.date != date, !fellBack {
            out.say(prompt("booking.nothing_that_day", ["date": format.date(date, today: today)]))
        }
        let options = slots.prefix(2).map { format.slot($0, today: today) }
        let offer =
            options.count == 2
            ? prompt("booking.offer_two", ["option1": options[0], "option2": options[1]])
            : prompt("booking.offer_one", ["option1": options[0]])
        ask([offer], then: .offeringSlots(purpose, motif: motif, slots: Array(slots.prefix(2))), &out)
    }

    private func pick(_ choice: Int, from slots: [Slot]) -> Slot? {
        if choice == -1 { return slots.last }
        return (1...slots.count).contains(choice) ? slots[choice - 1] : nil
    }

    private mutating func confirmSlot(_ purpose: Purpose, _ slot: Slot, _ out: inout Output) {
        ask(
            [prompt("booking.confirm", ["motif": motifLabel(slot.motifID), "slot": format.slot(slot, today: today)])],
            then: .confirmingSlot(purpose, slot), &out)
    }

    private mutating func commit(_ purpose: Purpose, _ slot: Slot, _ out: inout Output) {
        state = .waitingForBooking(purpose, slot)
        switch purpose {
        case .book: out.actions.append(.book(slot))
        case .move(let appointment): out.actions.append(.move(appointment, to: slot))
        }
    }

    private mutating func onBooked(_ appointment: Appointment, _ out: inout Output) {
        guard case .waitingForBooking(let purpose, _) = state else { return }
        served = true
        let slot = Slot(
            motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes)
        let spokenSlot = format.slot(slot, today: today)
        let reference = SpokenFormat.digitByDigit(appointment.reference)
        let fields: [String: JSONValue] = [
            "reference": .string(appointment.reference), "motif": .string(appointment.motifID),
            "slot": .string(appointment.start.iso), "duration_minutes": .int(appointment.durationMinutes),
        ]
        switch purpose {
        case .book:
            out.record("appointment.booked", fields)
            out.say(
                prompt(
                    "booking.booked",
                    ["motif": motifLabel(appointment.motifID), "slot": spokenSlot, "reference": reference]))
        case .move(let previous):
            var moved = fields
            moved["previous_slot"] = .string(previous.start.iso)
            out.record("appointment.moved", moved)
            out.say(prompt("manage.moved", ["slot": spokenSlot, "reference": reference]))
        }
        enterMain(afterAnswer: true, &out)
    }

    private mutating func onBookingFailed(_ failure: BookingFailure, _ out: inout Output) {
        guard case .waitingForBooking(let purpose, let slot) = state else { return }
        out.say(prompt("booking.slot_taken"))
        startSlotSearch(purpose, motif: slot.motifID, preference: Preference(date: slot.start.date), &out)
    }

    private mutating func abandonBooking(_ purpose: Purpose, _ out: inout Output) {
        if case .move = purpose {
            out.say(prompt("manage.kept"))
        } else {
            out.say(prompt("booking.abandoned"))
        }
        enterMain(afterAnswer: true, &out)
    }

    private func motifLabel(_ id: String) -> String {
        config.appointments.motifs.first { $0.id == id }?.label ?? id
    }

    // MARK: Cancel and move

    private mutating func lookUp(_ lookup: AppointmentLookup, moveRequested: Bool?, _ out: inout Output) {
        let byReference = if case .reference = lookup { true } else { false }
        state = .waitingForAppointments(byReference: byReference, moveRequested: moveRequested)
        out.actions.append(.findAppointments(lookup))
    }

    private mutating func askReference(moveRequested: Bool?, _ out: inout Output) {
        ask(
            [prompt("manage.ask_reference", ["digits": String(config.appointments.referenceDigits)])],
            then: .askingReference(moveRequested: moveRequested), &out, maxDigits: config.appointments.referenceDigits)
    }

    private mutating func onAppointments(_ appointments: [Appointment], _ out: inout Output) {
        guard case .waitingForAppointments(let byReference, let moveRequested) = state else { return }
        let upcoming = appointments.filter { $0.status == .booked && $0.start >= now }.sorted { $0.start < $1.start }
        guard let appointment = upcoming.first else {
            out.say(prompt("manage.not_found"))
            guard byReference else { return askReference(moveRequested: moveRequested, &out) }
            // A wrong reference: ask again, within the reprompt budget.
            let attempts = referenceAttempts + 1
            guard attempts <= config.dialogue.maxReprompts else {
                referenceAttempts = 0
                return giveUp(&out)
            }
            referenceAttempts = attempts
            return askReference(moveRequested: moveRequested, &out)
        }
        referenceAttempts = 0
        let values = ["motif": motifLabel(appointment.motifID), "slot": spoken(appointment)]
        if moveRequested == true {
            out.say(prompt("manage.moving", values))
            return startBooking(.move(appointment), preference: Preference(), motif: appointment.motifID, &out)
        }
        ask([prompt("manage.found", values)], then: .managing(appointment, moveRequested: moveRequested), &out)
    }

    private func spoken(_ appointment: Appointment) -> String {
        format.slot(
            Slot(motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes),
            today: today)
    }

    private mutating func confirmCancel(_ appointment: Appointment, _ out: inout Output) {
        ask(
            [prompt("manage.confirm_cancel", ["slot": spoken(appointment)])], then: .confirmingCancel(appointment), &out
        )
    }

    private mutating func onCancelled(_ appointment: Appointment, _ out: inout Output) {
        guard case .waitingForCancel = state else { return }
        served = true
        out.record(
            "appointment.cancelled",
            [
                "reference": .string(appointment.reference), "motif": .string(appointment.motifID),
                "slot": .string(appointment.start.iso),
            ])
        out.say(prompt("manage.cancelled", ["slot": spoken(appointment)]))
        enterMain(afterAnswer: true, &out)
    }

    // MARK: Callback

    private mutating func startCallback(_ preference: Preference, _ out: inout Output) {
        reprompts = 0
        findWindows(preference, &out)
    }

    private mutating func findWindows(_ preference: Preference, fellBack: Bool = false, _ out: inout Output) {
        state = .waitingForWindows(preference, fellBack: fellBack)
        out.actions.append(.findCallbackWindows(preference))
    }

    private mutating func onWindows(_ windows: [CallbackWindow], _ out: inout Output) {
        let preference: Preference
        switch state {
        case .waitingForWindows(let wanted, _): preference = wanted
        case .waitingForCallback: preference = Preference()  // the chosen window filled up meanwhile
        default: return
        }
        guard let window = windows.first else {
            out.say(prompt("callback.full"))
            return offerHandoffOrGoodbye(&out)
        }
        if !preference.isEmpty, !Self.window(window, matches: preference) {
            // The day the caller asked for is said back, so a misheard day is noticed.
            if let date = preference.date, window.date != date {
                out.say(prompt("callback.nothing_that_day", ["date": format.date(date, today: today)]))
            } else {
                out.say(prompt("callback.no_window"))
            }
        }
        ask(
            [prompt("callback.offer_window", ["window": format.window(window, today: today)])],
            then: .offeringWindow(window), &out)
    }

    static func window(_ window: CallbackWindow, matches preference: Preference) -> Bool {
        if let date = preference.date, window.date != date { return false }
        if let time = preference.time, !window.range.contains(time) { return false }
        if let part = preference.partOfDay {
            let noon = 12 * 60
            switch part {
            case .morning: return window.range.start.minutes < noon
            case .afternoon, .evening: return window.range.end.minutes > noon
            }
        }
        return true
    }

    private mutating func confirmNumber(_ window: CallbackWindow, _ out: inout Output) {
        reprompts = 0
        if let callerNumber, callerNumber.hasPrefix("+33"), callerNumber.count == 12 {
            let end = SpokenFormat.phonePairs(callerNumber).split(separator: " ").suffix(2).joined(separator: " ")
            return ask(
                [prompt("callback.confirm_caller_id", ["phone_end": end])], then: .confirmingCallerID(window), &out)
        }
        ask([prompt("callback.ask_number")], then: .askingNumber(window), &out, maxDigits: 10)
    }

    private mutating func invalidNumber(_ out: inout Output) {
        reprompt(prompt("callback.invalid_number"), &out)
    }

    private mutating func readBack(_ window: CallbackWindow, phone: String, _ out: inout Output) {
        ask(
            [prompt("callback.read_back", ["phone": SpokenFormat.phonePairs(phone)])],
            then: .readingBackNumber(window, phone: phone), &out)
    }

    private mutating func schedule(_ window: CallbackWindow, phone: String, _ out: inout Output) {
        state = .waitingForCallback
        out.actions.append(.scheduleCallback(CallbackRequest(window: window, phone: phone, context: contextSummary)))
    }

    private mutating func onCallbackScheduled(_ callback: Callback, _ out: inout Output) {
        guard case .waitingForCallback = state else { return }
        served = true
        callbackScheduled = true
        out.record(
            "callback.scheduled",
            [
                "id": .string(callback.id),
                "window_start": .string(
                    LocalDateTime(
                        date: callback.window.date, time: callback.window.range.start, utcOffset: now.utcOffset
                    ).iso),
                "window_end": .string(
                    LocalDateTime(date: callback.window.date, time: callback.window.range.end, utcOffset: now.utcOffset)
                        .iso),
                "date": .string(callback.window.date.iso), "window": .string(callback.window.range.description),
            ])
        out.say(prompt("callback.scheduled", ["window": format.window(callback.window, today: today)]))
        enterMain(afterAnswer: true, &out)
    }

    // MARK: Hand-off

    private mutating func handoff(reason: String, _ out: inout Output) {
        reprompts = 0
        let agentsOpen = config.agentCalendar.isOpen(at: now) && config.agents.capacity > 0
        guard agentsOpen else {
            out.record(
                "handoff", ["status": "unavailable", "reason": .string(reason), "context": context(reason).json])
            out.say(prompt("handoff.closed", ["agent_hours": format.weeklyHours(config.agents.hours)]))
            return offerAlternatives(&out)
        }
        let context = context(reason)
        out.record("handoff", ["status": "requested", "reason": .string(reason), "context": context.json])
        out.say(prompt("handoff.transferring", interruptible: false))
        state = .transferring(context)
        out.actions.append(.transfer(context))
    }

    private mutating func onTransferResult(_ outcome: TransferOutcome, _ out: inout Output) {
        guard case .transferring = state else { return }
        out.record("transfer.result", ["result": .string(outcome.rawValue)])
        if outcome == .answered { return end(outcome: "transferred", &out, hangUp: false) }
        out.say(prompt(outcome == .busy ? "handoff.busy" : "handoff.failed"))
        offerAlternatives(&out)
    }

    private mutating func offerAlternatives(_ out: inout Output) {
        ask([prompt("handoff.alternatives")], then: .offeringAlternatives, &out)
    }

    private mutating func offerHandoffOrGoodbye(_ out: inout Output) {
        if config.agentCalendar.isOpen(at: now) {
            return ask([prompt("handoff.offer")], then: .question(.offerHandoff), &out)
        }
        enterMain(afterAnswer: true, &out)
    }

    private func context(_ reason: String) -> HandoffContext {
        HandoffContext(
            callID: callID, reason: reason, intent: intents.last, intents: intents, slots: lastSlots,
            summary: contextSummary)
    }

    private var contextSummary: String {
        let topics = intents.joined(separator: ", ")
        let said = requests.suffix(5).joined(separator: " / ")
        return [topics, said].filter { !$0.isEmpty }.joined(separator: " — ")
    }

    private func slotStrings(_ slots: Slots) -> [String: String] {
        var out: [String: String] = [:]
        if let date = slots.date { out["date"] = date.iso }
        if let time = slots.time { out["time"] = time.description }
        if let part = slots.partOfDay { out["part_of_day"] = part.rawValue }
        return out
    }

    // MARK: Generative fallback

    private mutating func onAssistant(_ reply: AssistantReply, _ out: inout Output) {
        guard case .waitingForAssistant = state else { return }
        switch reply {
        case .answer(let text, let sources):
            served = true
            out.record("assistant.answer", ["mode": "generative", "sources": .array(sources.map(JSONValue.string))])
            out.say(Prompt(key: "assistant.answer", text: text))
            enterMain(afterAnswer: true, &out)
        case .refused(let reason):
            out.record("assistant.answer", ["mode": "refused", "reason": .string(reason)])
            out.say(prompt("fallback.unknown"))
            offerHandoffOrGoodbye(&out)
        case .unavailable:
            out.record("assistant.answer", ["mode": "unavailable"])
            out.say(prompt("fallback.unknown"))
            offerHandoffOrGoodbye(&out)
        }
    }

    // MARK: Reprompts

    private mutating func enterMain(afterAnswer: Bool, _ out: inout Output) {
        ask([prompt(afterAnswer ? "anything_else" : "listening")], then: .main(afterAnswer: afterAnswer), &out)
    }

    private mutating func ask(
        _ prompts: [Prompt], then next: State, _ out: inout Output, maxDigits: Int = 1
    ) {
        for p in prompts { out.say(p) }
        lastQuestion = prompts
        reprompts = 0
        state = next
        listen(&out, maxDigits: maxDigits)
    }

    private func listen(_ out: inout Output, maxDigits: Int? = nil) {
        let digits: Int
        switch state {
        case .askingNumber: digits = 10
        case .askingReference: digits = config.appointments.referenceDigits
        default: digits = maxDigits ?? 1
        }
        out.actions.append(
            .listen(ListenSpec(timeoutSeconds: config.dialogue.noInputTimeoutSeconds, maxDigits: digits)))
    }

    private mutating func noMatch(_ out: inout Output) {
        out.record("no_match")
        reprompt(prompt("no_match"), &out)
    }

    /// Input that does not answer the question: maybe a new request (a topic change).
    private mutating func retryOrDispatch(_ u: Understanding, _ out: inout Output) {
        if u.intent != IntentClassifier.none, u.confidence >= 0.5,
            let intent = deployment.intents.intent(named: u.intent),
            intent.action != .goodbye
        {
            noteIntent(u)
            return perform(intent, understanding: u, &out)
        }
        noMatch(&out)
    }

    private mutating func reprompt(_ apology: Prompt, _ out: inout Output) {
        reprompts += 1
        guard reprompts <= config.dialogue.maxReprompts else { return giveUp(&out) }
        out.say(apology)
        if case .main = state {
            out.say(prompt("menu"))
        } else {
            for p in lastQuestion { out.say(p) }
        }
        listen(&out)
    }

    private mutating func giveUp(_ out: inout Output) {
        out.say(prompt("give_up"))
        reprompts = 0
        handoff(reason: "not_understood", &out)
    }

    private mutating func repeatLast(_ out: inout Output) {
        guard !lastQuestion.isEmpty else {
            out.say(prompt("repeat_unavailable"))
            return listen(&out)
        }
        for p in lastQuestion { out.say(p) }
        listen(&out)
    }

    // MARK: End of call

    private mutating func finish(_ out: inout Output) {
        if config.dialogue.surveyEnabled && !surveyed {
            surveyed = true
            return ask([prompt("survey.ask")], then: .survey, &out)
        }
        out.say(prompt("goodbye"))
        end(outcome: servedOutcome, &out, hangUp: true)
    }

    private mutating func surveyRetry(_ out: inout Output) {
        reprompts += 1
        if reprompts > 1 {
            out.say(prompt("goodbye"))
            return end(outcome: servedOutcome, &out, hangUp: true)
        }
        out.say(prompt("survey.invalid"))
        listen(&out)
    }

    private mutating func recordSurvey(_ score: Int, _ out: inout Output) {
        out.record("survey", ["score": .int(score)])
        out.say(prompt("survey.thanks"))
        out.say(prompt("goodbye"))
        end(outcome: servedOutcome, &out, hangUp: true)
    }

    private var servedOutcome: String {
        if callbackScheduled { return "callback" }
        return served ? "self_service" : "unresolved"
    }

    private var outcomeOnHangUp: String {
        switch state {
        case .transferring: return "abandoned_in_queue"
        case .survey: return servedOutcome
        default: return served ? servedOutcome : "abandoned"
        }
    }

    private mutating func end(outcome: String, _ out: inout Output, hangUp: Bool) {
        if hangUp { out.actions.append(.hangUp) }
        out.record("call.ended", ["outcome": .string(outcome), "intents": .array(intents.map(JSONValue.string))])
        state = .ended
    }

    // MARK: Output

    private func prompt(_ key: String, _ values: [String: String] = [:], interruptible: Bool = true) -> Prompt {
        Prompt(
            key: key, text: deployment.messages.render(key, values),
            interruptible: interruptible && !config.dialogue.uninterruptible.contains(key))
    }

    /// Collects the actions of one step.
    struct Output {
        let now: LocalDateTime
        var actions: [DialogueAction] = []

        mutating func say(_ prompt: Prompt) {
            actions.append(.say(prompt))
        }

        mutating func record(_ type: String, _ fields: [String: JSONValue] = [:]) {
            actions.append(.record(CallEvent(type: type, at: now, fields: fields)))
        }
    }
}
