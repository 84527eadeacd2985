import CallRuntime
import CallbotCore
import Foundation
import Logging
import Metrics
import Speech
import Synchronization
import Telephony

/// One phone call: the dialogue of `CallSession` spoken over RTP, keys and hang-ups from the line.
enum PhoneCall {
    /// What every call shares.
    struct Context: Sendable {
        let deployment: Deployment
        let understander: Understander
        let ports: any CallPorts
        let records: any CallRecordStore
        let pseudonymizer: any Pseudonymizer
        let prompts: PromptLibrary
        let clock: SystemClock
        let logger: Logger
        let desk: AgentDesk
        /// Hears callers; nil when the deployment takes keys only.
        let speech: CallerSpeech?
    }

    static func run(_ call: CallLine, _ context: Context) async {
        let callID = CallRunner.newCallID()
        var logger = context.logger
        logger[metadataKey: "call.id"] = "\(callID)"
        logger[metadataKey: "\(call.channel).line"] = "\(call.lineID)"
        let number = callerNumber(call.caller)
        let hashSource = number ?? call.caller.flatMap { $0.isEmpty || $0.lowercased() == "anonymous" ? nil : $0 }
        let clock = context.clock
        var session = CallSession(
            deployment: context.deployment, understander: context.understander, ports: context.ports,
            records: context.records, callID: callID, channel: call.channel, callerNumber: number,
            callerHash: hashSource.map(context.pseudonymizer.pseudonym(for:)), clock: { clock.now() })
        let inbox = CallInbox(voice: call.media, logger: logger)
        logger.info("call answered")

        await withDiscardingTaskGroup { group in
            group.addTask { [logger] in
                for await signal in call.signals {
                    logger.debug("line signal", metadata: ["signal": "\(signal.logDescription)"])
                    await inbox.deliver(LineSignal(signal))
                }
                await inbox.deliver(.hangUp)
            }
            if let speech = context.speech {
                group.addTask { await speech.run(call.media.callerAudio, inbox: inbox) }
            }
            let channel = PhoneChannel(
                call: call, inbox: inbox, prompts: context.prompts, logger: logger,
                queueURI: context.deployment.config.agents.queueURI, callID: callID)
            await CallRunner.run(&session, on: channel, desk: context.desk)
            // After a transfer the agent has the caller: the bot leaves the call. (After its own
            // goodbye it has hung up already; the line ignores a second hang-up.)
            if await !inbox.hungUp { await call.hangUp() }
            group.cancelAll()
        }
    }

    /// Where the time went between the end of the caller's speech and the first audio of the answer.
    static func logTurn(_ timing: TurnTiming, handled: ContinuousClock.Instant, _ logger: Logger) {
        let now = ContinuousClock.now
        recognitionLatency.recordNanoseconds(nanoseconds(timing.recognized - timing.endpointed))
        answerLatency.recordNanoseconds(nanoseconds(now - timing.speechEnded))
        logger.info(
            "turn latency",
            metadata: [
                "endpoint.ms": "\(milliseconds(timing.endpointed - timing.speechEnded))",
                "recognition.ms": "\(milliseconds(timing.recognized - timing.endpointed))",
                "dialogue.ms": "\(milliseconds(handled - timing.recognized))",
                "voice.ms": "\(milliseconds(now - handled))",
                "total.ms": "\(milliseconds(now - timing.speechEnded))",
                "audio.seconds": "\(rounded(timing.audioSeconds))",
            ])
    }

    /// Recognition left after the end of the caller's turn, and end of speech → first audio of
    /// the answer (`/metrics`).
    static let recognitionLatency = Metrics.Timer(label: "callbot_recognition_seconds")
    static let answerLatency = Metrics.Timer(label: "callbot_answer_latency_seconds")

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// A caller ID as E.164 when it is a French number.
    static func callerNumber(_ user: String?) -> String? {
        guard let user else { return nil }
        let digits = Array(user.filter(\.isNumber))
        return SlotExtractor.frenchNumber(in: digits, international: user.hasPrefix("+"))
    }
}

extension CallSignal {
    /// The signal for a log line: which key was typed is left out (keys spell phone numbers and
    /// references).
    var logDescription: String {
        switch self {
        case .key: "key"
        case .transferFinished(let status): "transfer finished \(status)"
        case .hangUp: "hang-up"
        case .lost: "caller lost"
        }
    }
}

/// A phone call as the conversation's channel: prompts voiced and played (cut by the caller's
/// keys or speech when they may be), turns read from the inbox, transfers by the line.
final class PhoneChannel: CallChannel {
    let call: CallLine
    let inbox: CallInbox
    let prompts: PromptLibrary
    let logger: Logger
    let queueURI: String
    let callID: String
    /// The caller's last turn, until the first audio of the bot's answer.
    private let turn = Mutex<TurnTiming?>(nil)

    init(call: CallLine, inbox: CallInbox, prompts: PromptLibrary, logger: Logger, queueURI: String, callID: String) {
        self.call = call
        self.inbox = inbox
        self.prompts = prompts
        self.logger = logger
        self.queueURI = queueURI
        self.callID = callID
    }

    func say(_ prompt: Prompt) async -> Bool {
        let handled = ContinuousClock.now
        do {
            let samples = try await prompts.audio(key: prompt.key, text: prompt.text)
            if let timing = turn.withLock({ $0.take() }) { PhoneCall.logTurn(timing, handled: handled, logger) }
            await inbox.play(samples, interruptible: prompt.interruptible)
        } catch {
            logger.error("cannot voice a prompt", metadata: ["prompt.key": "\(prompt.key)", "error": "\(error)"])
        }
        return await !inbox.hungUp
    }

    func listen(_ spec: ListenSpec) async -> DialogueEvent {
        let event = await inbox.listen(spec)
        let timing = if case .utterance = event { await inbox.takeTurnTiming() } else { TurnTiming?.none }
        turn.withLock { $0 = timing }
        return event
    }

    func finishSpeaking() async -> Bool {
        while call.media.isPlaying, await !inbox.hungUp {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await !inbox.hungUp
    }

    func transfer(_ context: HandoffContext) async -> DialogueEvent {
        logger.info("transferring to agents", metadata: ["handoff.reason": "\(context.reason)"])
        await call.transfer(queueURI, [("X-Callbot-Call-Id", callID)])
        return await inbox.transferOutcome()
    }

    func hangUp() async { await call.hangUp() }

    func ending() async -> DialogueEvent { await inbox.ending }

    func note(_ event: CallEvent) async {
        guard EventKind.reported.contains(event.kind) else { return }
        logger.info(
            "\(event.type)",
            metadata: event.kind == .callEnded ? ["outcome": "\(event.fields["outcome"]?.stringValue ?? "")"] : [:])
    }
}

extension LineSignal {
    init(_ signal: CallSignal) {
        switch signal {
        case .key(let key): self = .key(key)
        case .transferFinished(let status): self = .transferFinished(status)
        case .hangUp: self = .hangUp
        case .lost: self = .lost
        }
    }
}
