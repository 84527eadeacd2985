/// Finding the caller's appointment (by caller ID, else by reference) to cancel, move or keep it.
/// A caller without a reference is offered an agent or a callback, never left at the prompt.
struct ManageFlow {
    enum State {
        case lookingUp(byReference: Bool)
        case askingReference
        case choosing(Appointment)
        case confirmingCancel(Appointment)
        case cancelling(Appointment)
        /// No reference: 0 for an agent, 1 for a callback, 2 for neither.
        case offeringHelp
    }

    private(set) var state: State = .lookingUp(byReference: false)
    /// What the caller said they want done with it, when they said it.
    enum Wish: Equatable {
        /// "décaler mon rendez-vous à jeudi": moved, nearest to the preference.
        case move(Preference)
        /// "annuler mon rendez-vous": the cancellation is confirmed at once.
        case cancel
        /// "c'est au sujet de mon rendez-vous": the choices are read.
        case undecided
    }

    private let wish: Wish
    private var wrongReferences = 0

    init(wish: Wish) { self.wish = wish }

    mutating func start(_ turn: inout DialogueTurn) -> FlowStep {
        if let number = turn.context.callerNumber {
            state = .lookingUp(byReference: false)
            turn.request(.findAppointments(.caller(phone: number)))
            return .waiting
        }
        return askReference(&turn)
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        if case .stop = reply {
            if appointment != nil { turn.say(.manageKept) }
            return .ended(.declined)
        }
        switch state {
        case .askingReference:
            let digits = turn.context.config.appointments.referenceDigits
            switch reply {
            case .digits(let reference) where reference.count == digits:
                state = .lookingUp(byReference: true)
                turn.request(.findAppointments(.reference(reference)))
                return .waiting
            case .dontHave, .no: return offerHelp(&turn)
            default: return .notUnderstood
            }
        case .choosing(let appointment):
            switch reply {
            case .option(1): return confirmCancel(appointment, &turn)
            case .option(2): return .ended(.startBooking(Preference()))
            case .option(3), .no:
                turn.say(.manageKept)
                return .ended(.declined)
            case .when(let preference): return .ended(.startBooking(preference))
            case .request(let request):
                guard let u = request.understanding else { return .notUnderstood }
                if Understander.mentions(u.tokens, anyOf: turn.context.config.appointments.cancelKeywords) {
                    return confirmCancel(appointment, &turn)
                }
                if Understander.mentions(u.tokens, anyOf: turn.context.config.appointments.moveKeywords) {
                    return .ended(.startBooking(Preference(u.slots)))
                }
                if Understander.mentions(u.tokens, anyOf: ["garder", "maintenir", "conserver", "laisser"]) {
                    turn.say(.manageKept)
                    return .ended(.declined)
                }
                return .notUnderstood
            default: return .notUnderstood
            }
        case .confirmingCancel(let appointment):
            switch reply {
            case .yes:
                state = .cancelling(appointment)
                turn.request(.cancel(appointment))
                return .waiting
            case .no:
                turn.say(.manageKept)
                return .ended(.declined)
            default: return .notUnderstood
            }
        case .offeringHelp:
            switch reply {
            case .option(1), .yes: return .ended(.startCallback(Preference()))
            case .option(2), .no: return .ended(.declined)
            default: return .notUnderstood
            }
        case .lookingUp, .cancelling:
            return .waiting
        }
    }

    /// The appointment found, for the booking flow that moves it.
    var appointment: Appointment? {
        switch state {
        case .choosing(let a), .confirmingCancel(let a), .cancelling(let a): a
        default: nil
        }
    }

    /// Whether it waits for storage rather than for the caller.
    var isWaiting: Bool {
        switch state {
        case .lookingUp, .cancelling: true
        default: false
        }
    }

    /// The result of a request it made; nil for a result that is not this flow's.
    mutating func handle(result: DialogueEvent, _ turn: inout DialogueTurn) -> FlowStep? {
        switch result {
        case .appointmentsFound(let appointments): return appointmentsFound(appointments, &turn)
        case .cancelled(let appointment): return cancelled(appointment, &turn)
        case .bookingFailed:
            guard case .cancelling = state else { return .waiting }
            // The appointment was cancelled or moved meanwhile (another call, an agent).
            turn.say(.manageNotFound)
            return .ended(.declined)
        default: return nil
        }
    }

    private mutating func appointmentsFound(_ appointments: [Appointment], _ turn: inout DialogueTurn) -> FlowStep {
        guard case .lookingUp(let byReference) = state else { return .waiting }
        let now = turn.now
        let upcoming = appointments.filter { $0.status == .booked && $0.start >= now }.sorted { $0.start < $1.start }
        guard let appointment = upcoming.first else {
            guard byReference else {
                turn.say(.manageNoneForCaller)
                return askReference(&turn)
            }
            turn.say(.manageNotFound)
            wrongReferences += 1
            guard wrongReferences <= turn.context.config.dialogue.maxReprompts else { return offerHelp(&turn) }
            return askReference(&turn)
        }
        let values = [
            "motif": turn.context.motifLabel(appointment.motifID),
            "slot": turn.context.format.slot(Self.slot(of: appointment), today: turn.context.today),
        ]
        state = .choosing(appointment)
        switch wish {
        case .move(let preference):
            turn.say(.manageMoving, values)
            return .ended(.startBooking(preference))
        case .cancel:
            return confirmCancel(appointment, &turn)
        case .undecided:
            turn.ask(.manageFound, values, expecting: .options(count: 3, more: false))
            return .waiting
        }
    }

    private mutating func cancelled(_ appointment: Appointment, _ turn: inout DialogueTurn) -> FlowStep {
        guard case .cancelling = state else { return .waiting }
        turn.record(
            .appointmentCancelled,
            [
                "reference": .string(appointment.reference), "motif": .string(appointment.motifID),
                "slot": .string(appointment.start.iso),
            ])
        turn.say(
            .manageCancelled, ["slot": turn.context.format.slot(Self.slot(of: appointment), today: turn.context.today)])
        return .ended(.served)
    }

    private mutating func askReference(_ turn: inout DialogueTurn) -> FlowStep {
        let digits = turn.context.config.appointments.referenceDigits
        state = .askingReference
        turn.ask(.manageAskReference, ["digits": String(digits)], expecting: .digits(count: digits))
        return .waiting
    }

    private mutating func offerHelp(_ turn: inout DialogueTurn) -> FlowStep {
        state = .offeringHelp
        turn.say(.manageNoReference)
        // Agents closed: only the callback is offered (0 would only say they are closed).
        if turn.context.agentsOpen {
            turn.ask(.handoffOfferOrCallback, expecting: .options(count: 2, more: false))
        } else {
            turn.ask(.handoffOfferCallback, expecting: .offer)
        }
        return .waiting
    }

    private mutating func confirmCancel(_ appointment: Appointment, _ turn: inout DialogueTurn) -> FlowStep {
        state = .confirmingCancel(appointment)
        turn.ask(
            .manageConfirmCancel,
            ["slot": turn.context.format.slot(Self.slot(of: appointment), today: turn.context.today)],
            expecting: .yesNo)
        return .waiting
    }

    static func slot(of appointment: Appointment) -> Slot {
        Slot(motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes)
    }
}
