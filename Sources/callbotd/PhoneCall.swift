import CallbotCore
import Foundation
import Logging
import Speech
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
        let callID = newCallID()
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
        let inbox = CallInbox(media: call.media, logger: logger)
        logger.info("call answered")

        await withDiscardingTaskGroup { group in
            group.addTask { [logger] in
                for await signal in call.signals {
                    logger.debug("line signal", metadata: ["signal": "\(signal.logDescription)"])
                    await inbox.deliver(signal)
                }
                await inbox.deliver(.hangUp)
            }
            if let speech = context.speech {
                group.addTask { await speech.run(call.media.callerAudio, inbox: inbox) }
            }
            var outputs = await session.handle(.started)
            /// The caller's last turn, until the bot's answer starts playing.
            var turn: (timing: TurnTiming, handled: ContinuousClock.Instant)?
            while !session.isFinished {
                var next: DialogueEvent?
                for output in outputs {
                    guard next == nil else { break }
                    switch output {
                    case .say(let prompt):
                        do {
                            let samples = try await context.prompts.audio(key: prompt.key, text: prompt.text)
                            if let (timing, handled) = turn {
                                logTurn(timing, handled: handled, logger)
                                turn = nil
                            }
                            await inbox.play(samples, interruptible: prompt.interruptible)
                        } catch {
                            logger.error(
                                "cannot voice a prompt", metadata: ["prompt.key": "\(prompt.key)", "error": "\(error)"])
                        }
                        if await inbox.hungUp { next = .hangUp }
                    case .listen(let spec):
                        next = await inbox.listen(spec)
                        turn = nil
                    case .transfer(let handoff):
                        logger.info("transferring to agents", metadata: ["handoff.reason": "\(handoff.reason)"])
                        await waitForPlayback(call.media, inbox)
                        guard await context.desk.take() else {
                            // As many hand-offs in progress as agents can take: the caller gets alternatives.
                            next = .transferResult(.busy)
                            break
                        }
                        await call.transfer(context.deployment.config.agents.queueURI, [("X-Callbot-Call-Id", callID)])
                        next = await inbox.transferOutcome()
                        await context.desk.release()
                    case .hangUp:
                        await waitForPlayback(call.media, inbox)
                        await call.hangUp()
                    case .event(let event):
                        if EventKind.reported.contains(event.kind) {
                            logger.info(
                                "\(event.type)",
                                metadata: event.kind == .callEnded
                                    ? ["outcome": "\(event.fields["outcome"]?.stringValue ?? "")"] : [:])
                        }
                    }
                }
                if session.isFinished { break }
                let timing = if case .utterance = next { await inbox.takeTurnTiming() } else { TurnTiming?.none }
                outputs = await session.handle(next ?? .hangUp)
                turn = timing.map { ($0, ContinuousClock.now) }
            }
            if await !inbox.hungUp { await call.hangUp() }
            group.cancelAll()
        }
    }

    /// Where the time went between the end of the caller's speech and the first audio of the answer.
    static func logTurn(_ timing: TurnTiming, handled: ContinuousClock.Instant, _ logger: Logger) {
        let now = ContinuousClock.now
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

    /// Waits until the bot has finished speaking (or the caller hung up).
    static func waitForPlayback(_ media: any CallMedia, _ inbox: CallInbox) async {
        while media.isPlaying, await !inbox.hungUp {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A caller ID as E.164 when it is a French number.
    static func callerNumber(_ user: String?) -> String? {
        guard let user else { return nil }
        let digits = Array(user.filter(\.isNumber))
        return SlotExtractor.frenchNumber(in: digits, international: user.hasPrefix("+"))
    }

    static func newCallID() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<6).map { _ in String(Int.random(in: 0...35, using: &generator), radix: 36) }.joined()
        return "c-" + String(Int(Date().timeIntervalSince1970), radix: 36) + random
    }
}

/// What the line says about a call, waiting to be read by the dialogue: keys typed and speech
/// heard (also while the bot speaks: an interruptible prompt stops at the first key or at the
/// start of speech), hang-up, transfer outcome.
actor CallInbox {
    private let media: any CallMedia
    private let logger: Logger
    private var keys: [Character] = []
    private(set) var hungUp = false
    private var transferStatus: Int?
    private var prompt: (playing: Bool, interruptible: Bool) = (false, false)
    /// The caller is speaking, or what they said is being transcribed: no-input timers wait.
    private var speaking = false
    private var recognizing = 0
    private var utterances: [HeardUtterance] = []
    private var turnTiming: TurnTiming?
    private var speech: (lost: Bool, reported: Bool) = (false, false)
    private var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
    /// A signal came while nobody waited: the next wait returns at once.
    private var pendingWake = false
    /// Waits that timed out before they suspended.
    private var released: Set<Int> = []
    private var waits = 0

    init(media: any CallMedia, logger: Logger) {
        self.media = media
        self.logger = logger
    }

    func deliver(_ signal: CallSignal) {
        switch signal {
        case .key(let key):
            keys.append(key)
            if prompt.playing && prompt.interruptible { media.interrupt() }
        case .hangUp:
            hungUp = true
            media.interrupt()
        case .transferFinished(let status):
            transferStatus = status
        }
        wake()
    }

    /// The caller started speaking: an interruptible prompt stops (barge-in). Returns whether the
    /// utterance is listened to: speech over an uninterruptible message is not.
    func callerStartedSpeaking() -> Bool {
        if prompt.playing && !prompt.interruptible { return false }
        speaking = true
        if prompt.playing {
            media.interrupt()
            logger.info("barge-in")
        }
        wake()
        return true
    }

    /// The caller stopped: a noise, or an utterance now being transcribed.
    func callerStoppedSpeaking(recognizing: Bool) {
        speaking = false
        if recognizing { self.recognizing += 1 }
        wake()
    }

    /// A transcript, or nil when there were no words in the utterance after all.
    func heard(_ utterance: HeardUtterance?) {
        recognizing = max(0, recognizing - 1)
        if let utterance { utterances.append(utterance) }
        wake()
    }

    /// The recogniser failed: the dialogue is told once and goes on with keys.
    func speechLost() {
        speech.lost = true
        speaking = false
        recognizing = 0
        wake()
    }

    /// Plays a prompt to its end, or until the caller interrupts it (a key, the start of speech).
    /// An interruptible prompt is skipped when the caller has already answered: the rest of what
    /// the bot meant to say goes. Checked and queued without a suspension in between, so no key
    /// or speech can slip past.
    func play(_ samples: [Int16], interruptible: Bool) async {
        if interruptible && (!keys.isEmpty || speaking || recognizing > 0 || !utterances.isEmpty) { return }
        prompt = (true, interruptible)
        _ = await media.play(samples)
        prompt = (false, false)
    }

    /// The stages of the utterance `listen` last returned.
    func takeTurnTiming() -> TurnTiming? {
        defer { turnTiming = nil }
        return turnTiming
    }

    /// Keys until `maxDigits`, `#` or 3 s after the last key; an utterance; silence after the
    /// timeout, which waits while the caller speaks or their words are being transcribed.
    func listen(_ spec: ListenSpec) async -> DialogueEvent {
        var deadline = ContinuousClock.now + .seconds(spec.timeoutSeconds)
        while true {
            pendingWake = false  // the state is read now
            if hungUp { return .hangUp }
            if speech.lost && !speech.reported {
                speech.reported = true
                utterances.removeAll()
                return .speechUnavailable
            }
            if let end = keys.firstIndex(of: "#") {
                let digits = String(keys[..<end])
                keys.removeSubrange(...end)
                if !digits.isEmpty { return .digits(digits) }
                continue
            }
            if keys.count >= spec.maxDigits {
                let digits = String(keys.prefix(spec.maxDigits))
                keys.removeFirst(spec.maxDigits)
                return .digits(digits)
            }
            if keys.isEmpty, !utterances.isEmpty {
                let utterance = utterances.removeFirst()
                turnTiming = utterance.timing
                return .utterance(utterance.transcript.text, confidence: utterance.transcript.confidence)
            }
            if !keys.isEmpty { deadline = min(deadline, ContinuousClock.now + .seconds(3)) }
            let waiting = keys.isEmpty && (speaking || recognizing > 0)
            if waiting { deadline = max(deadline, ContinuousClock.now + .seconds(1)) }
            guard await wait(until: deadline) else {
                if keys.isEmpty {
                    if speaking || recognizing > 0 { continue }
                    return .silence
                }
                let digits = String(keys)
                keys.removeAll()
                return .digits(digits)
            }
        }
    }

    /// The transfer's end as the dialogue sees it.
    func transferOutcome() async -> DialogueEvent {
        while transferStatus == nil && !hungUp {
            pendingWake = false
            _ = await wait(until: ContinuousClock.now + .seconds(60))
        }
        if hungUp && transferStatus == nil { return .hangUp }
        let status = transferStatus!
        transferStatus = nil
        switch status {
        case 200..<300: return .transferResult(.answered)
        case 486, 600, 603: return .transferResult(.busy)
        case 408, 480, 487: return .transferResult(.noAnswer)
        default: return .transferResult(.failed)
        }
    }

    private func wake() {
        if let current = waiter {
            waiter = nil
            current.continuation.resume()
        } else {
            pendingWake = true
        }
    }

    /// Waits for the next signal or the deadline; false on timeout.
    private func wait(until deadline: ContinuousClock.Instant) async -> Bool {
        waits += 1
        let id = waits
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.suspend(id) }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return false
            }
            let first = await group.next()!
            if !first { release(id) }
            group.cancelAll()
            return first
        }
    }

    /// Suspends until a signal (true) or `release` (false).
    private func suspend(_ id: Int) async -> Bool {
        if pendingWake {
            pendingWake = false
            return true
        }
        if released.remove(id) != nil { return false }
        await withCheckedContinuation { continuation in waiter = (id, continuation) }
        return true
    }

    private func release(_ id: Int) {
        if let current = waiter, current.id == id {
            waiter = nil
            current.continuation.resume()
        } else {
            released.insert(id)
        }
    }
}

/// Hand-offs in progress, within the agents' capacity.
actor AgentDesk {
    let capacity: Int
    private(set) var inProgress = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Takes a place for a hand-off; false when agents are all taken.
    func take() -> Bool {
        guard inProgress < capacity else { return false }
        inProgress += 1
        return true
    }

    func release() { inProgress = max(0, inProgress - 1) }
}

extension CallSignal {
    /// The signal for a log line: which key was typed is left out (keys spell phone numbers and
    /// references).
    var logDescription: String {
        switch self {
        case .key: "key"
        case .transferFinished(let status): "transfer finished \(status)"
        case .hangUp: "hang-up"
        }
    }
}
