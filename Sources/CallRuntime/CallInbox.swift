package import CallbotCore
package import Logging

/// Where the bot's voice goes: an RTP stream, a sound device.
package protocol VoiceOutput: AnyObject, Sendable {
    /// Plays 8 kHz samples; returns when they are played or interrupted.
    func speak(_ samples: [Int16]) async
    /// Stops what is playing and everything queued (barge-in).
    func interrupt()
    var isPlaying: Bool { get }
}

/// Something the line tells about a call.
package enum LineSignal: Sendable, Equatable {
    case key(Character)
    /// The transfer ended with this SIP status (200 answered, 486 busy, 408 timeout…).
    case transferFinished(Int)
    case hangUp
    /// The caller vanished without hanging up (no media, no answer to the line's probes).
    case lost
}

/// What the caller said on one turn, and when each stage of hearing it ended.
package struct HeardUtterance: Sendable {
    package var text: String
    package var confidence: Double
    package var timing: TurnTiming

    package init(text: String, confidence: Double, timing: TurnTiming) {
        self.text = text
        self.confidence = confidence
        self.timing = timing
    }
}

/// The stages from the end of the caller's speech to the bot's answer.
package struct TurnTiming: Sendable {
    /// The last frame of speech (the endpoint minus the trailing silence).
    package var speechEnded: ContinuousClock.Instant
    /// The trailing silence was heard: the utterance is complete.
    package var endpointed: ContinuousClock.Instant
    package var recognized: ContinuousClock.Instant
    package var audioSeconds: Double

    package init(
        speechEnded: ContinuousClock.Instant, endpointed: ContinuousClock.Instant, recognized: ContinuousClock.Instant,
        audioSeconds: Double
    ) {
        self.speechEnded = speechEnded
        self.endpointed = endpointed
        self.recognized = recognized
        self.audioSeconds = audioSeconds
    }
}

/// What the line says about a call, waiting to be read by the dialogue: keys typed and speech
/// heard (also while the bot speaks: an interruptible prompt stops at the first key or at the
/// start of speech), hang-up, transfer outcome.
package actor CallInbox {
    private let voice: any VoiceOutput
    private let logger: Logger
    private var keys: [Character] = []
    package private(set) var hungUp = false
    private var lost = false
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

    package init(voice: any VoiceOutput, logger: Logger) {
        self.voice = voice
        self.logger = logger
    }

    package func deliver(_ signal: LineSignal) {
        switch signal {
        case .key(let key):
            keys.append(key)
            if prompt.playing && prompt.interruptible { voice.interrupt() }
        case .hangUp:
            hungUp = true
            voice.interrupt()
        case .lost:
            hungUp = true
            lost = true
            voice.interrupt()
        case .transferFinished(let status):
            transferStatus = status
        }
        wake()
    }

    /// The caller started speaking: an interruptible prompt stops (barge-in). Returns whether the
    /// utterance is listened to: speech over an uninterruptible message is not.
    package func callerStartedSpeaking() -> Bool {
        if prompt.playing && !prompt.interruptible { return false }
        speaking = true
        if prompt.playing {
            voice.interrupt()
            logger.info("barge-in")
        }
        wake()
        return true
    }

    /// The caller stopped: a noise, or an utterance now being transcribed.
    package func callerStoppedSpeaking(recognizing: Bool) {
        speaking = false
        if recognizing { self.recognizing += 1 }
        wake()
    }

    /// A transcript, or nil when there were no words in the utterance after all.
    package func heard(_ utterance: HeardUtterance?) {
        recognizing = max(0, recognizing - 1)
        if let utterance { utterances.append(utterance) }
        wake()
    }

    /// The recogniser failed: the dialogue is told once and goes on with keys.
    package func speechLost() {
        speech.lost = true
        speaking = false
        recognizing = 0
        wake()
    }

    /// Plays a prompt to its end, or until the caller interrupts it (a key, the start of speech).
    /// An interruptible prompt is skipped when the caller has already answered: the rest of what
    /// the bot meant to say goes. Checked and queued without a suspension in between, so no key
    /// or speech can slip past.
    package func play(_ samples: [Int16], interruptible: Bool) async {
        if interruptible && (!keys.isEmpty || speaking || recognizing > 0 || !utterances.isEmpty) { return }
        prompt = (true, interruptible)
        await voice.speak(samples)
        prompt = (false, false)
    }

    /// The stages of the utterance `listen` last returned.
    package func takeTurnTiming() -> TurnTiming? {
        defer { turnTiming = nil }
        return turnTiming
    }

    /// Keys until `maxDigits`, `#` or 3 s after the last key; an utterance; silence after the
    /// timeout, which waits while the caller speaks or their words are being transcribed.
    package func listen(_ spec: ListenSpec) async -> DialogueEvent {
        var deadline = ContinuousClock.now + .seconds(spec.timeoutSeconds)
        while true {
            pendingWake = false  // the state is read now
            if hungUp { return ending }
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
                return .utterance(utterance.text, confidence: utterance.confidence)
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

    /// How the call ended, for the dialogue.
    package var ending: DialogueEvent { lost ? .lineLost : .hangUp }

    /// The transfer's end as the dialogue sees it.
    package func transferOutcome() async -> DialogueEvent {
        while transferStatus == nil && !hungUp {
            pendingWake = false
            _ = await wait(until: ContinuousClock.now + .seconds(60))
        }
        if hungUp && transferStatus == nil { return ending }
        let status = transferStatus!
        transferStatus = nil
        return .transferResult(TransferOutcome(finalStatus: status))
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
