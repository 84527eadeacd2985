import Audio
import Foundation
import Testing

/// Voice activity on real telephone speech: a French speaker recorded at 8 kHz (Debian's
/// `asterisk-core-sounds-fr-wav`), mixed with line noise, coughs and clicks made here.
@Suite struct VoiceActivityTests {
    static let sounds = "/usr/share/asterisk/sounds/fr_CA_f_June/"

    /// The recording, trimmed of its own leading and trailing silence.
    static func speech(_ name: String) throws -> [Int16] {
        let samples = try SoundFile.read(sounds + name).resampled(to: 8000).samples
        let loud = samples.indices.filter { abs(Int(samples[$0])) > 600 }
        guard let first = loud.first, let last = loud.last else { return samples }
        return Array(samples[first...last])
    }

    /// White noise at a level in dBFS, from a fixed seed.
    static func noise(seconds: Double, dBFS: Double, seed: UInt64 = 1) -> [Int16] {
        var generator = SeededNoise(state: seed)
        let amplitude = 32768 * pow(10, dBFS / 20) * 1.7
        return (0..<Int(seconds * 8000)).map { _ in
            Int16(clamping: Int((Double(generator.next() % 2001) / 1000 - 1) * amplitude))
        }
    }

    static func mix(_ a: [Int16], _ b: [Int16]) -> [Int16] {
        (0..<max(a.count, b.count)).map { (i: Int) -> Int16 in
            let left: Int = i < a.count ? Int(a[i]) : 0
            let right: Int = i < b.count ? Int(b[i]) : 0
            return Int16(clamping: left + right)
        }
    }

    /// Runs the detector; each event with the time (s) of the frame that produced it.
    static func events(_ samples: [Int16], settings: TurnSettings = TurnSettings()) -> [(
        Double, VoiceActivityDetector.Event
    )] {
        var detector = VoiceActivityDetector(settings: settings)
        var out: [(Double, VoiceActivityDetector.Event)] = []
        var index = 0
        while index + 160 <= samples.count {
            if let event = detector.process(Array(samples[index..<index + 160])) {
                out.append((Double(index + 160) / 8000, event))
            }
            index += 160
        }
        return out
    }

    static func utterances(_ events: [(Double, VoiceActivityDetector.Event)]) -> [(Double, [Int16])] {
        events.compactMap { if case .utterance(let audio) = $0.1 { ($0.0, audio) } else { nil } }
    }

    @Test func aSentenceInLineNoiseIsOneUtteranceHeardWithin200ms() throws {
        let sentence = try Self.speech("please-try-call-later.wav")
        let lead = 2.0
        let clean = [Int16](repeating: 0, count: Int(lead * 8000)) + sentence + [Int16](repeating: 0, count: 16000)
        let line = Self.mix(clean, Self.noise(seconds: Double(clean.count) / 8000, dBFS: -45))
        let events = Self.events(line)
        let starts = events.filter { $0.1 == .speechStarted }.map(\.0)
        #expect(starts.count == 1, "\(events.map(\.0))")
        let heardAt = starts.first ?? 0
        #expect(heardAt > lead && heardAt - lead <= 0.2, "speech heard at \(starts)")
        let heard = Self.utterances(events)
        #expect(heard.count == 1)
        if let (at, audio) = heard.first {
            let speechEnd: Double = lead + Double(sentence.count) / 8000
            let delay: Double = at - speechEnd
            // The speech's last loud sample is a little after its energy falls under the threshold.
            #expect(delay >= 0.35 && delay <= 0.75, "endpoint \(delay) s after the speech")
            let extra: Double = Double(audio.count - sentence.count) / 8000
            #expect(abs(extra) < 0.6, "the audio holds the sentence")
        }
    }

    @Test func aPauseOffersTheUtteranceBeforeItsEndpoint() throws {
        let sentence = try Self.speech("goodbye.wav")
        let line = [Int16](repeating: 0, count: 8000) + sentence + [Int16](repeating: 0, count: 16000)
        let events = Self.events(line)
        let pauses = events.compactMap { if case .pause(let audio) = $0.1 { ($0.0, audio) } else { nil } }
        let heard = Self.utterances(events)
        #expect(pauses.count == 1 && heard.count == 1, "\(events.map(\.0))")
        if let pause = pauses.last, let utterance = heard.first {
            #expect(pause.1 == utterance.1, "the same audio: recognition started at the pause holds")
            #expect(abs(utterance.0 - pause.0 - 0.3) < 0.03, "offered 300 ms earlier")
        }
        // A pause the caller talks through: offered, then the utterance is longer.
        let twice =
            [Int16](repeating: 0, count: 8000) + sentence + [Int16](repeating: 0, count: 3200) + sentence
            + [Int16](repeating: 0, count: 16000)
        let both = Self.events(twice)
        let offered = both.compactMap { if case .pause(let audio) = $0.1 { audio } else { nil } }
        let final = Self.utterances(both)
        #expect(final.count == 1 && offered.count == 2, "\(both.map(\.0))")
        #expect(offered.first != final.first?.1 && offered.last == final.first?.1)
    }

    @Test func theTrailingSilenceIsConfigurable() throws {
        let sentence = try Self.speech("goodbye.wav")
        let line = [Int16](repeating: 0, count: 8000) + sentence + [Int16](repeating: 0, count: 24000)
        let quick = Self.utterances(Self.events(line, settings: TurnSettings(trailingSilence: 0.3)))
        let patient = Self.utterances(Self.events(line, settings: TurnSettings(trailingSilence: 1.2)))
        #expect(quick.count == 1 && patient.count == 1)
        if let q = quick.first, let p = patient.first { #expect(abs((p.0 - q.0) - 0.9) < 0.05) }
    }

    @Test func steadyNoiseCoughsAndClicksAreNotUtterances() {
        // Loud steady noise that starts mid-call, a cough-like burst, a click.
        var line = [Int16](repeating: 0, count: 8000) + Self.noise(seconds: 3, dBFS: -30, seed: 2)
        var burst = Self.noise(seconds: 0.35, dBFS: -12, seed: 3)
        for i in burst.indices { burst[i] = Int16(Double(burst[i]) * exp(-Double(i) / 900)) }
        line += [Int16](repeating: 0, count: 8000) + burst + [Int16](repeating: 0, count: 8000)
        line += [Int16](repeating: 12000, count: 40) + [Int16](repeating: 0, count: 12000)
        let events = Self.events(line)
        #expect(Self.utterances(events).isEmpty, "\(events.map(\.0))")
        #expect(!events.contains { $0.1 == .speechStarted }, "nothing interrupts the bot")
    }

    @Test func speechOverSteadyNoiseIsStillHeard() throws {
        let sentence = try Self.speech("please-try-call-later.wav")
        let noise = Self.noise(seconds: 6, dBFS: -35, seed: 4)
        let clean = [Int16](repeating: 0, count: 20000) + sentence
        let events = Self.events(Self.mix(noise, clean))
        #expect(Self.utterances(events).count == 1, "\(events.map(\.0))")
    }

    @Test func aLongTalkerIsCutAtTheMaximum() throws {
        let sentence = try Self.speech("please-try-call-later.wav")
        let talk = Array([[Int16]](repeating: sentence, count: 4).joined())
        let heard = Self.utterances(
            Self.events(talk + [Int16](repeating: 0, count: 8000), settings: TurnSettings(maxUtterance: 3)))
        #expect(heard.count >= 2)
        #expect(heard.allSatisfy { Double($0.1.count) / 8000 <= 3.4 }, "\(heard.map { $0.1.count })")
    }
}

/// A small deterministic generator for test noise.
struct SeededNoise: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
