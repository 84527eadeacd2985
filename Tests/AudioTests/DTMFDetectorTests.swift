import Foundation
import Testing

@testable import Audio

/// Touch tones heard in the audio of the local line.
@Suite struct DTMFDetectorTests {
    static let frequencies: [Character: (Double, Double)] = [
        "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
        "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "*": (941, 1209), "0": (941, 1336), "#": (941, 1477),
    ]

    /// A key pressed for `seconds` at `level` (0–1 of full scale per tone), as a phone sends it.
    static func tone(_ key: Character, seconds: Double, level: Double = 0.25, phase: Double = 0) -> [Int16] {
        let (low, high) = frequencies[key]!
        return (0..<Int(seconds * 8000)).map { n in
            let t = Double(n) / 8000
            let value = level * (sin(2 * .pi * low * t + phase) + sin(2 * .pi * high * t)) * 32767
            return Int16(max(-32768, min(32767, value)))
        }
    }

    static func silence(_ seconds: Double) -> [Int16] { [Int16](repeating: 0, count: Int(seconds * 8000)) }

    static func noise(_ seconds: Double, level: Double) -> [Int16] {
        var generator = SystemRandomNumberGenerator()
        return (0..<Int(seconds * 8000)).map { _ in Int16(Double.random(in: -1...1, using: &generator) * level * 32767)
        }
    }

    @Test func everyKeyIsHeardOncePerPress() {
        var detector = DTMFDetector()
        var audio: [Int16] = []
        let sequence = Array("0123456789*#")
        for key in sequence { audio += Self.tone(key, seconds: 0.1) + Self.silence(0.06) }
        // Fed in odd-sized pieces, as a sound card delivers them.
        var heard: [Character] = []
        var index = 0
        while index < audio.count {
            let end = min(audio.count, index + 137)
            heard += detector.process(Array(audio[index..<end]))
            index = end
        }
        #expect(heard == sequence)
    }

    @Test func aLongPressIsOneKeyAndQuietOrNoisyTonesStillCount() {
        var detector = DTMFDetector()
        #expect(detector.process(Self.tone("5", seconds: 1.5)) == ["5"])
        let noisy = zip(Self.tone("9", seconds: 0.1, level: 0.05), Self.noise(0.1, level: 0.01)).map { $0 &+ $1 }
        #expect(detector.process(Self.silence(0.1) + noisy + Self.silence(0.1)) == ["9"])
    }

    @Test func speechNoiseAndSingleTonesAreNotKeys() throws {
        var detector = DTMFDetector()
        #expect(detector.process(Self.noise(2, level: 0.3)).isEmpty)
        let single = (0..<8000).map { Int16(sin(2 * .pi * 770 * Double($0) / 8000) * 12000) }
        #expect(detector.process(single).isEmpty)
        // Too short to be a press (20 ms).
        #expect(detector.process(Self.silence(0.1) + Self.tone("1", seconds: 0.02) + Self.silence(0.1)).isEmpty)
        // Human speech (asterisk-core-sounds-fr), several sentences.
        let folder = "/usr/share/asterisk/sounds/fr_CA_f_June/"
        for name in ["vm-options.wav", "dir-usingkeypad.wav", "vm-nobodyavail.wav", "queue-youarenext.wav"] {
            let speech = try SoundFile.read(folder + name)
            #expect(detector.process(speech.samples).isEmpty, "\(name)")
        }
    }
}
