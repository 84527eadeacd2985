/// The flow in progress: each keeps its own state and answers to its own results.
enum ActiveFlow {
    case booking(BookingFlow)
    case managing(ManageFlow)
    case callback(CallbackFlow)
    case handoff(HandoffFlow)
    case survey(SurveyFlow)

    /// Whether it waits for a result rather than for the caller.
    var isWaiting: Bool {
        switch self {
        case .booking(let flow): flow.isWaiting
        case .managing(let flow): flow.isWaiting
        case .callback(let flow): flow.isWaiting
        case .handoff(let flow): flow.isWaiting
        case .survey: false
        }
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        switch self {
        case .booking(var flow):
            defer { self = .booking(flow) }
            return flow.handle(reply, &turn)
        case .managing(var flow):
            defer { self = .managing(flow) }
            return flow.handle(reply, &turn)
        case .callback(var flow):
            defer { self = .callback(flow) }
            return flow.handle(reply, &turn)
        case .handoff(var flow):
            defer { self = .handoff(flow) }
            return flow.handle(reply, &turn)
        case .survey(var flow):
            defer { self = .survey(flow) }
            return flow.handle(reply, &turn)
        }
    }

    /// A result of the flow's own request; nil when it is not for this flow.
    mutating func handle(result: DialogueEvent, _ turn: inout DialogueTurn) -> FlowStep? {
        switch self {
        case .booking(var flow):
            defer { self = .booking(flow) }
            return flow.handle(result: result, &turn)
        case .managing(var flow):
            defer { self = .managing(flow) }
            return flow.handle(result: result, &turn)
        case .callback(var flow):
            defer { self = .callback(flow) }
            return flow.handle(result: result, &turn)
        case .handoff(var flow):
            defer { self = .handoff(flow) }
            return flow.handle(result: result, &turn)
        case .survey:
            return nil
        }
    }
}
