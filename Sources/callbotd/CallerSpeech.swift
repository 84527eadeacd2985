import Audio
import CallRuntime
import Foundation
import Logging
import Speech
import Telephony

/// Hears the caller on one call: voice activity on each frame, barge-in at the start of speech,
/// and each utterance transcribed while the detector keeps listening. A failing recogniser turns
/// speech off for the rest of the call (the inbox tells the dialogue once).
struct CallerSpeech: Sendable {
    let recognizer: any SpeechRecognizer
    /// Words the caller may use (intent and motif keywords), for engines that take a prompt.
    let hints: [String]
    let turn: TurnSettings
    let logger: Logger

    private struct Pending: Sendable {
        var samples: [Int16]
        var speechEnded: ContinuousClock.Instant
        var endpointed: ContinuousClock.Instant
        /// Recognition started at the caller's pause, on this very audio.
        var early: Task<Transcript, any Error>?
    }

    func run(_ frames: AsyncStream<JitterBuffer.Frame>, inbox: CallInbox) async {
        let (pending, queue) = AsyncStream.makeStream(of: Pending.self)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await utterance in pending {
                    guard await transcribe(utterance, inbox: inbox) else {
                        queue.finish()
                        return
                    }
                }
            }
            var detector = VoiceActivityDetector(settings: turn)
            var listened = true
            // Recognition started when the caller paused: if the pause lasts to the endpoint, its
            // result is the utterance's, ready sooner; if they talk on, it is dropped.
            var speculation: (audio: [Int16], task: Task<Transcript, any Error>)?
            defer { speculation?.task.cancel() }
            for await frame in frames {
                guard let event = detector.process(frame.samples) else { continue }
                switch event {
                case .speechStarted:
                    listened = await inbox.callerStartedSpeaking()
                case .pause(let samples):
                    speculation?.task.cancel()
                    speculation = nil
                    if listened {
                        let task = Task { [recognizer, hints] () async throws -> Transcript in
                            try await recognizer.transcribe(samples, sampleRate: 8000, hints: hints)
                        }
                        speculation = (samples, task)
                    }
                case .noise:
                    speculation?.task.cancel()
                    speculation = nil
                    await inbox.callerStoppedSpeaking(recognizing: false)
                case .utterance(let samples):
                    let now = ContinuousClock.now
                    let early = speculation.flatMap { $0.audio == samples ? $0.task : nil }
                    if early == nil { speculation?.task.cancel() }
                    speculation = nil
                    await inbox.callerStoppedSpeaking(recognizing: listened)
                    if listened {
                        let ended = now - .milliseconds(Int(turn.trailingSilence * 1000))
                        let pending = Pending(samples: samples, speechEnded: ended, endpointed: now, early: early)
                        if case .terminated = queue.yield(pending) {
                            return  // speech is off on this call
                        }
                    } else {
                        early?.cancel()
                    }
                }
            }
            queue.finish()
        }
    }

    /// False when the recogniser failed: speech is then over for this call.
    private func transcribe(_ utterance: Pending, inbox: CallInbox) async -> Bool {
        let seconds = Double(utterance.samples.count) / 8000
        do {
            let transcript =
                if let early = utterance.early {
                    try await early.value
                } else {
                    try await recognizer.transcribe(utterance.samples, sampleRate: 8000, hints: hints)
                }
            let recognized = ContinuousClock.now
            logger.info(
                "utterance recognised",
                metadata: [
                    "audio.seconds": "\(rounded(seconds))",
                    "recognition.ms": "\(milliseconds(recognized - utterance.endpointed))",
                    "early": "\(utterance.early != nil)",
                    "confidence": "\(rounded(transcript.confidence))", "characters": "\(transcript.text.count)",
                ])
            let text = transcript.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let heard =
                text.isEmpty
                ? nil
                : HeardUtterance(
                    text: text, confidence: transcript.confidence,
                    timing: TurnTiming(
                        speechEnded: utterance.speechEnded, endpointed: utterance.endpointed, recognized: recognized,
                        audioSeconds: seconds))
            await inbox.heard(heard)
            return true
        } catch {
            logger.error("speech recognition failed; the call goes on with keys", metadata: ["error": "\(error)"])
            await inbox.speechLost()
            return false
        }
    }
}

func milliseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
}

func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
