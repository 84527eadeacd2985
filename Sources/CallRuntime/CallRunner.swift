package import CallbotCore
import Foundation

/// What a line does for the conversation of a call: SIP and RTP, a sound device, a terminal.
package protocol CallChannel: Sendable {
    /// Speaks `prompt`; false when the caller has hung up.
    func say(_ prompt: Prompt) async -> Bool
    /// The caller's next turn: keys, words, a silence or a hang-up.
    func listen(_ spec: ListenSpec) async -> DialogueEvent
    /// Returns once the bot has finished speaking (before a transfer or a hang-up); false when the
    /// caller hung up meanwhile.
    func finishSpeaking() async -> Bool
    /// Hands the call to the agents' queue; how it ended, as the dialogue sees it.
    func transfer(_ context: HandoffContext) async -> DialogueEvent
    func hangUp() async
    /// A notable event of the call, already in its record (for logs or display).
    func note(_ event: CallEvent) async
    /// How the call ended once `say` or `finishSpeaking` says so: a hang-up, or a caller the line lost.
    func ending() async -> DialogueEvent
}

extension CallChannel {
    package func ending() async -> DialogueEvent { .hangUp }
}

/// Runs one call: the session's outputs carried out on a channel, in order, and the caller's
/// turns fed back, until the session is over. A transfer takes a place at the agents' desk;
/// without one the caller hears at once that agents are busy and gets alternatives.
package enum CallRunner {
    /// A new call identifier: sortable by time, unique enough for one service.
    package static func newCallID() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<6).map { _ in String(Int.random(in: 0...35, using: &generator), radix: 36) }.joined()
        return "c-" + String(Int(Date().timeIntervalSince1970), radix: 36) + random
    }

    package static func run(_ session: inout CallSession, on channel: some CallChannel, desk: AgentDesk) async {
        CallMetrics.started()
        defer { CallMetrics.ended(session.record.outcome) }
        var outputs = await session.handle(.started)
        while true {
            var next: DialogueEvent?
            for output in outputs {
                if case .event(let event) = output {
                    CallMetrics.note(event)
                    await channel.note(event)  // also after a hang-up: the call's end is logged
                    continue
                }
                guard next == nil else { continue }  // the caller's turn is known: the rest is moot
                switch output {
                case .say(let prompt):
                    if await !channel.say(prompt) { next = await channel.ending() }
                case .listen(let spec):
                    next = await channel.listen(spec)
                case .transfer(let context):
                    guard await channel.finishSpeaking() else {
                        next = await channel.ending()
                        break
                    }
                    guard await desk.take(context, caller: session.callerNumber) else {
                        next = .agentsBusy(waitMinutes: await desk.estimatedWaitMinutes())
                        break
                    }
                    let ended = await channel.transfer(context)
                    await desk.release(context.callID, ended)
                    next = ended
                case .hangUp:
                    _ = await channel.finishSpeaking()
                    await channel.hangUp()
                case .event:
                    break
                }
            }
            // The last outputs (a goodbye, the hang-up) are carried out before the call ends.
            guard !session.isFinished else { return }
            outputs = await session.handle(next ?? .hangUp) { prompt in _ = await channel.say(prompt) }
        }
    }
}
