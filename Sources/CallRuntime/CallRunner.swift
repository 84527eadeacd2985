package import CallbotCore

/// What a line does for the conversation of a call: SIP and RTP, a sound device, a terminal.
package protocol CallChannel: Sendable {
    /// Speaks `prompt`; false when the caller has hung up.
    func say(_ prompt: Prompt) async -> Bool
    /// The caller's next turn: keys, words, a silence or a hang-up.
    func listen(_ spec: ListenSpec) async -> DialogueEvent
    /// Returns once the bot has finished speaking (before a transfer or a hang-up).
    func finishSpeaking() async
    /// Hands the call to the agents' queue; how it ended, as the dialogue sees it.
    func transfer(_ context: HandoffContext) async -> DialogueEvent
    func hangUp() async
    /// A notable event of the call, already in its record (for logs or display).
    func note(_ event: CallEvent) async
}

/// Runs one call: the session's outputs carried out on a channel, in order, and the caller's
/// turns fed back, until the session is over. Transfers wait for a place at the agents' desk;
/// without one the caller hears that agents are busy and gets alternatives.
package enum CallRunner {
    package static func run(_ session: inout CallSession, on channel: some CallChannel, desk: AgentDesk) async {
        var outputs = await session.handle(.started)
        while true {
            var next: DialogueEvent?
            for output in outputs where next == nil {
                switch output {
                case .say(let prompt):
                    if await !channel.say(prompt) { next = .hangUp }
                case .listen(let spec):
                    next = await channel.listen(spec)
                case .transfer(let context):
                    await channel.finishSpeaking()
                    guard await desk.take() else {
                        next = .transferResult(.busy)
                        break
                    }
                    next = await channel.transfer(context)
                    await desk.release()
                case .hangUp:
                    await channel.finishSpeaking()
                    await channel.hangUp()
                case .event(let event):
                    await channel.note(event)
                }
            }
            // The last outputs (a goodbye, the hang-up) are carried out before the call ends.
            guard !session.isFinished else { return }
            outputs = await session.handle(next ?? .hangUp)
        }
    }
}
