#if canImport(Glibc)
    import Glibc
#endif

/// How the bot decides that a caller speaks and has finished.
package struct TurnSettings: Sendable, Equatable {
    /// Silence that ends an utterance.
    package var trailingSilence: Double
    /// Longest utterance; the caller is cut there and the bot answers what it heard.
    package var maxUtterance: Double
    /// Speech needed before the caller counts as speaking (and interrupts a prompt).
    package var speechStart: Double
    /// Less voiced speech than this in an utterance makes it a noise (a cough, a door, a click).
    package var minVoiced: Double
    /// How far above the tracked noise floor a frame must be to count as speech, in dB.
    package var marginDB: Double
    /// Silence after which the utterance so far is offered for recognition ahead of the endpoint
    /// (`Event.pause`); 0, or not less than `trailingSilence`, offers nothing.
    package var speculateAfter: Double

    package init(
        trailingSilence: Double = 0.6, maxUtterance: Double = 15, speechStart: Double = 0.1, minVoiced: Double = 0.12,
        marginDB: Double = 9, speculateAfter: Double = 0.3
    ) {
        self.trailingSilence = trailingSilence
        self.maxUtterance = maxUtterance
        self.speechStart = speechStart
        self.minVoiced = minVoiced
        self.marginDB = marginDB
        self.speculateAfter = speculateAfter
    }
}

/// Voice activity and endpointing on 8 kHz telephone audio, fed 20 ms frames.
///
/// A frame is speech when its energy stands `marginDB` above a noise floor that follows the line
/// (it falls at once to quieter frames and rises slowly, so steady noise is learnt and speech is
/// not). An utterance starts after `speechStart` of speech, ends after `trailingSilence` without,
/// and is kept only if enough of it is voiced (a periodic signal in the pitch range): coughs,
/// clicks and bursts of noise are not.
package struct VoiceActivityDetector: Sendable {
    package enum Event: Sendable, Equatable {
        /// The caller started speaking: stop an interruptible prompt.
        case speechStarted
        /// An utterance, with the audio from a little before its start.
        case utterance([Int16])
        /// What started was not speech after all.
        case noise
        /// The caller paused for `speculateAfter`: the audio so far, exactly the utterance that
        /// will end if the pause lasts to the endpoint (recognition may start on it now).
        case pause([Int16])
    }

    package static let frameSamples = 160
    package let settings: TurnSettings
    /// The noise floor, in dB relative to full scale.
    package private(set) var noiseFloor = -60.0

    private enum State { case silence, starting, speaking }
    private var state = State.silence
    private var speechRun = 0
    private var silenceRun = 0
    private var voicedFrames = 0
    private var preRoll: [[Int16]] = []
    private var audio: [Int16] = []
    private var framesSeen = 0
    /// The DC blocker's last input and output.
    private var blocker = (0.0, 0.0)
    /// The previous frame, to judge voicing over 40 ms.
    private var previousFrame = [Int16](repeating: 0, count: 160)

    static let preRollFrames = 15
    static let frameSeconds = 0.02
    /// Quieter than this is silence whatever the floor (-50 dBFS).
    static let absoluteFloorDB = -50.0

    package init(settings: TurnSettings = TurnSettings()) {
        self.settings = settings
    }

    /// Whether the detector is inside a possible utterance.
    package var isHearingSpeech: Bool { state != .silence }

    /// Processes one 20 ms frame (160 samples at 8 kHz).
    package mutating func process(_ frame: [Int16]) -> Event? {
        framesSeen += 1
        let energy = energyDB(frame)
        let isSpeech = energy > max(noiseFloor + settings.marginDB, Self.absoluteFloorDB)
        // Voicing is only worth its cost on frames loud enough to be speech.
        let voiced = isSpeech && Self.isVoiced(previousFrame + frame)
        previousFrame = frame
        trackNoise(energy, isSpeech: isSpeech)
        switch state {
        case .silence:
            preRoll.append(frame)
            if preRoll.count > Self.preRollFrames { preRoll.removeFirst() }
            guard isSpeech else { return nil }
            state = .starting
            audio = preRoll.flatMap { $0 }
            preRoll = []
            speechRun = 1
            silenceRun = 0
            voicedFrames = voiced ? 1 : 0
            return startIfLongEnough()
        case .starting:
            audio += frame
            if isSpeech {
                speechRun += 1
                silenceRun = 0
                if voiced { voicedFrames += 1 }
                if voicedFrames == 0, Double(speechRun) * Self.frameSeconds >= 0.5 {
                    // Half a second of loud but unvoiced sound: the line got noisier. Learn it.
                    noiseFloor = energy
                    reset()
                    return nil
                }
                return startIfLongEnough()
            }
            silenceRun += 1
            if Double(silenceRun) * Self.frameSeconds >= 0.1 {
                // A click or a breath: back to silence, nothing said.
                reset()
            }
            return nil
        case .speaking:
            audio += frame
            if isSpeech {
                silenceRun = 0
                if voiced { voicedFrames += 1 }
            } else {
                silenceRun += 1
            }
            let length = Double(audio.count) / 8000
            if Double(silenceRun) * Self.frameSeconds >= settings.trailingSilence || length >= settings.maxUtterance {
                return finish()
            }
            let pauseFrames = Int((settings.speculateAfter / Self.frameSeconds).rounded())
            if settings.speculateAfter > 0, settings.speculateAfter < settings.trailingSilence,
                silenceRun == pauseFrames,
                Double(voicedFrames) * Self.frameSeconds >= settings.minVoiced
            {
                return .pause(trimmed())
            }
            return nil
        }
    }

    /// Ends the current utterance now (the caller hung up, or listening stopped).
    package mutating func flush() -> Event? {
        state == .speaking ? finish() : nil
    }

    private mutating func startIfLongEnough() -> Event? {
        guard Double(speechRun) * Self.frameSeconds >= settings.speechStart, voicedFrames > 0 else { return nil }
        state = .speaking
        return .speechStarted
    }

    private mutating func finish() -> Event {
        let utterance = trimmed()
        let voiced = Double(voicedFrames) * Self.frameSeconds
        reset()
        return voiced >= settings.minVoiced ? .utterance(utterance) : .noise
    }

    /// The audio so far with at most 200 ms of the trailing silence.
    private func trimmed() -> [Int16] {
        Array(audio.dropLast(max(0, silenceRun - 10) * Self.frameSamples))
    }

    private mutating func reset() {
        state = .silence
        audio = []
        preRoll = []
        speechRun = 0
        silenceRun = 0
        voicedFrames = 0
    }

    /// The floor falls at once to a quieter frame and rises by 0.05 dB per non-speech frame
    /// (2.5 dB/s), 0.01 dB during speech; the first half second learns fast.
    private mutating func trackNoise(_ energy: Double, isSpeech: Bool) {
        if energy < noiseFloor || framesSeen <= 25 && !isSpeech {
            noiseFloor = framesSeen <= 25 ? (framesSeen == 1 ? energy : 0.7 * noiseFloor + 0.3 * energy) : energy
        } else {
            noiseFloor += isSpeech ? 0.01 : 0.05
        }
        noiseFloor = max(noiseFloor, -90)
    }

    /// Energy of the frame after a DC blocker (removes offset and hum below ~30 Hz), in dBFS.
    private mutating func energyDB(_ frame: [Int16]) -> Double {
        var sum = 0.0
        var (x1, y1) = blocker
        for sample in frame {
            let x = Double(sample)
            let y = x - x1 + 0.98 * y1
            x1 = x
            y1 = y
            sum += y * y
        }
        blocker = (x1, y1)
        let rms = (sum / Double(max(frame.count, 1))).squareRoot()
        return 20 * log10(max(rms, 1) / 32768)
    }

    /// A frame is voiced when the last 40 ms, normalised, correlate above 0.6 with themselves
    /// shifted by a pitch period between 65 and 400 Hz (a fixed 197-sample window at every lag).
    static func isVoiced(_ window: [Int16]) -> Bool {
        let maxLag = 123
        let length = window.count - maxLag
        guard length >= 160 else { return false }
        let x = window.map(Double.init)
        let mean = x.reduce(0, +) / Double(x.count)
        let centred = x.map { $0 - mean }
        var head = 0.0
        for i in 0..<length { head += centred[i] * centred[i] }
        guard head > 0 else { return false }
        var best = 0.0
        for lag in 20...maxLag {
            var sum = 0.0
            var shifted = 0.0
            for i in 0..<length {
                sum += centred[i] * centred[i + lag]
                shifted += centred[i + lag] * centred[i + lag]
            }
            let score = sum / max((head * shifted).squareRoot(), 1e-9)
            if score > best { best = score }
        }
        return best > 0.6
    }
}
