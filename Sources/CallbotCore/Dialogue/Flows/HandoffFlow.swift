/// Handing the caller to an agent: the transfer when agents can take it, otherwise (closed,
/// busy, no answer) a callback or an appointment instead of waiting.
struct HandoffFlow {
    enum State {
        case transferring(HandoffContext)
        /// 1 callback, 2 appointment, 3 neither.
        case offeringAlternatives
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
        guard case .transferResult(let outcome) = result else { return nil }
        guard case .transferring = state else { return .waiting }
        turn.record(.transferResult, ["result": .string(outcome.rawValue)])
        if outcome == .answered { return .ended(.transferred) }
        turn.say(outcome == .busy ? .handoffBusy : .handoffFailed)
        state = .offeringAlternatives
        Self.offerAlternatives(&turn)
        return .waiting
    }

    private static func offerAlternatives(_ turn: inout DialogueTurn) {
        // A callback is among them: the indicators count it offered.
        turn.record(.callbackOffered, ["after": "handoff"])
        turn.ask(.handoffAlternatives, expecting: .options(count: 3, more: false))
    }
}
