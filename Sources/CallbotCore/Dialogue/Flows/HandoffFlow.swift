/// Handing the caller to an agent: the transfer when agents can take it, otherwise (closed,
/// busy, no answer) a callback or an appointment instead of waiting. When every agent is taken,
/// the caller hears the estimated wait and may hang up without losing their place: a callback
/// queued in the order of arrival, dialled as soon as an agent is free.
struct HandoffFlow {
    enum State {
        case transferring(HandoffContext)
        /// 1 callback, 2 appointment, 3 neither.
        case offeringAlternatives
        /// 1 keep one's place (a queued callback), 2 appointment, 3 neither.
        case offeringPlace(HandoffContext)
        /// The kept place is being stored.
        case keepingPlace
    }

    private(set) var state: State

    /// Starts the hand-off of `context`: the transfer, or the alternatives when agents are closed.
    init(_ context: HandoffContext, _ turn: inout DialogueTurn) {
        let fields: [String: JSONValue] = ["reason": .string(context.reason), "context": context.json]
        guard turn.context.agentsOpen else {
            turn.record(.handoff, fields.merging(["status": "unavailable"]) { _, new in new })
            turn.say(.handoffClosed, ["agent_hours": turn.context.format.weeklyHours(turn.context.config.agents.hours)])
            state = .offeringAlternatives
            Self.offerAlternatives(&turn)
            return
        }
        turn.record(.handoff, fields.merging(["status": "requested"]) { _, new in new })
        turn.say(turn.context.prompt(.handoffTransferring, interruptible: false))
        state = .transferring(context)
        turn.request(.transfer(context))
    }

    /// Whether the caller is waiting for an agent.
    var isWaiting: Bool {
        if case .transferring = state { return true }
        return false
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        if case .offeringPlace(let context) = state {
            switch reply {
            case .option(1), .yes: return keepPlace(context, &turn)
            case .option(2): return .ended(.startBooking(Preference()))
            case .option(3), .no, .stop: return .ended(.declined)
            default: return .notUnderstood
            }
        }
        guard case .offeringAlternatives = state else { return .waiting }
        switch reply {
        case .option(1): return .ended(.startCallback(Preference()))
        case .option(2): return .ended(.startBooking(Preference()))
        case .option(3), .no, .stop: return .ended(.declined)
        case .smallTalk(.willCallAgain):
            turn.say(.callAgain)
            return .ended(.leave)
        default: return .notUnderstood
        }
    }

    /// How the transfer ended; nil for a result that is not a transfer's.
    mutating func handle(result: DialogueEvent, _ turn: inout DialogueTurn) -> FlowStep? {
        if case .agentsBusy(let minutes) = result {
            guard case .transferring(let context) = state else { return .waiting }
            turn.record(.transferResult, ["result": "busy", "wait_estimate_minutes": .int(minutes)])
            turn.say(.handoffBusyWait, ["wait": minutes <= 1 ? "une minute" : "\(minutes) minutes"])
            // A place is kept by calling back the number on display, while agents work today.
            guard turn.context.callerNumber != nil, Self.restOfAgentsRange(turn.context) != nil else {
                state = .offeringAlternatives
                Self.offerAlternatives(&turn)
                return .waiting
            }
            state = .offeringPlace(context)
            turn.record(.callbackOffered, ["after": "handoff", "queue": .bool(true)])
            turn.ask(.handoffKeepPlace, expecting: .options(count: 3, more: false))
            return .waiting
        }
        if case .callbackScheduled(let callback) = result {
            guard case .keepingPlace = state else { return .waiting }
            turn.record(
                .callbackScheduled,
                [
                    "id": .string(callback.id), "purpose": "queue", "date": .string(callback.window.date.iso),
                    "window": .string(callback.window.range.description),
                ])
            turn.say(.handoffPlaceKept)
            return .ended(.served)
        }
        guard case .transferResult(let outcome) = result else { return nil }
        guard case .transferring = state else { return .waiting }
        turn.record(.transferResult, ["result": .string(outcome.rawValue)])
        if outcome == .answered { return .ended(.transferred) }
        turn.say(outcome == .busy ? .handoffBusy : .handoffFailed)
        state = .offeringAlternatives
        Self.offerAlternatives(&turn)
        return .waiting
    }

    /// A callback in the queue: from now to the end of the agents' current hours.
    private mutating func keepPlace(_ context: HandoffContext, _ turn: inout DialogueTurn) -> FlowStep {
        guard let phone = turn.context.callerNumber, let window = Self.restOfAgentsRange(turn.context) else {
            return .ended(.startCallback(Preference()))
        }
        state = .keepingPlace
        turn.request(
            .scheduleCallback(
                CallbackRequest(
                    window: window, phone: phone, context: context.summary,
                    topic: DialogueEngine.topic(of: context.intents, in: turn.context.deployment.intents),
                    purpose: .queue)))
        return .waiting
    }

    /// Now to the end of the agents' hours that are on, if they are.
    static func restOfAgentsRange(_ context: DialogueContext) -> CallbackWindow? {
        let now = context.now
        guard
            let range = context.config.agentCalendar.ranges(on: now.date).first(where: { $0.contains(now.time) }),
            range.end.minutes - now.time.minutes >= 5
        else { return nil }
        return CallbackWindow(date: now.date, range: TimeRange(start: now.time, end: range.end))
    }

    private static func offerAlternatives(_ turn: inout DialogueTurn) {
        // A callback is among them: the indicators count it offered.
        turn.record(.callbackOffered, ["after": "handoff"])
        turn.ask(.handoffAlternatives, expecting: .options(count: 3, more: false))
    }
}
