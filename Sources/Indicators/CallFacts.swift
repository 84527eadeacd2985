package import CallbotCore

/// What one call counts for in the telephone-plan indicators. Every definition lives here, once;
/// `docs/indicators.md` says the same for a manager.
///
/// A call counts on the local day it started (a call over midnight counts on its first day; the
/// day comes from the local time of the service, so daylight-saving days are ordinary days of
/// 23 or 25 hours). Each fact is per call: a hand-off requested twice in one call is one hand-off
/// requested.
package struct CallFacts: Sendable, Equatable {
    package var callID: String
    /// The local day the call started.
    package var day: LocalDate
    /// The bot took the call (every recorded call, but one refused by the line: outcome `rejected`).
    package var answered: Bool
    /// The caller asked for an agent, or accepted one (during the agents' hours or not).
    package var handoffRequested: Bool
    /// An agent took the call.
    package var handoffAnswered: Bool
    /// The caller hung up while waiting for an agent.
    package var handoffAbandoned: Bool
    /// Asked for an agent and got none: agents closed, busy, no answer, failed transfer.
    package var handoffRefused: Bool
    /// Seconds from the request to the agent's answer, for answered hand-offs.
    package var waitSeconds: Double?
    /// Settled by the bot alone: the call's outcome is `self_service`.
    package var selfService: Bool
    /// A callback was offered (the caller was asked whether they want one).
    package var callbackOffered: Bool
    /// Callbacks scheduled on the call.
    package var callbacksScheduled: Int
    package var appointmentsBooked: Int
    package var appointmentsMoved: Int
    package var appointmentsCancelled: Int
    /// The survey's score, 1…5, when the caller gave one.
    package var satisfaction: Int?
    /// Answers of the knowledge-base fallback that were said (quoted or generated).
    package var assistantAnswers: Int
    /// Questions the fallback did not answer (no fiche, personal, instructions, check, late).
    package var assistantRefusals: Int
    /// A hand-off was requested after a fallback answer or refusal on the same call.
    package var assistantFollowedByHandoff: Bool
    /// The intents the caller asked for, in order, each once.
    package var intents: [String]

    package init(_ record: CallRecord) {
        callID = record.id
        day = record.startedAt.date
        answered = record.outcome != "rejected"
        var handoffs = 0
        var answeredTransfer = false
        var wait: Double?
        var callbackOffered = false
        var callbacks = 0
        var booked = 0
        var moved = 0
        var cancelled = 0
        var answers = 0
        var refusals = 0
        var fallbackSeen = false
        var followed = false
        for event in record.events {
            switch event.kind {
            case .handoff:
                handoffs += 1
                if fallbackSeen { followed = true }
            case .transferResult:
                if event.fields["result"]?.stringValue == TransferOutcome.answered.rawValue {
                    answeredTransfer = true
                    wait = event.fields["wait_seconds"].flatMap(Self.number)
                }
            case .callbackOffered: callbackOffered = true
            case .callbackScheduled: callbacks += 1
            case .appointmentBooked: booked += 1
            case .appointmentMoved: moved += 1
            case .appointmentCancelled: cancelled += 1
            case .assistantAnswer:
                fallbackSeen = true
                switch event.fields["mode"]?.stringValue {
                case "extractive", "generative": answers += 1
                default: refusals += 1
                }
            default: break
            }
        }
        let abandoned = record.outcome == CallOutcome.abandonedInQueue.rawValue
        handoffRequested = handoffs > 0
        handoffAnswered = answeredTransfer
        handoffAbandoned = handoffRequested && !answeredTransfer && abandoned
        handoffRefused = handoffRequested && !answeredTransfer && !abandoned
        waitSeconds = answeredTransfer ? wait : nil
        selfService = record.outcome == CallOutcome.selfService.rawValue
        self.callbackOffered = callbackOffered || callbacks > 0
        callbacksScheduled = callbacks
        appointmentsBooked = booked
        appointmentsMoved = moved
        appointmentsCancelled = cancelled
        satisfaction = record.surveyScore.flatMap { (1...5).contains($0) ? $0 : nil }
        assistantAnswers = answers
        assistantRefusals = refusals
        assistantFollowedByHandoff = followed
        var seen = Set<String>()
        intents = record.intents.filter { seen.insert($0).inserted }
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .double(let number): number
        case .int(let number): Double(number)
        default: nil
        }
    }
}
