import Foundation
import Testing

@testable import Audio
@testable import Speech

/// espeak-ng and libsndfile for real. Serialized: espeak-ng is one engine per process.
@Suite(.serialized) struct SpeechTests {
    @Test func synthesisesFrenchSpeech() throws {
        let engine = try EspeakSynthesizer.shared()
        let pcm = try engine.synthesizeNow("Bonjour, vous êtes bien à la mairie.")
        #expect(pcm.sampleRate == 22050)
        #expect(pcm.duration > 1 && pcm.duration < 5, "\(pcm.duration) s")
        #expect(pcm.level > -40, "not silent: \(pcm.level) dBFS")
        let phone = pcm.resampled(to: 8000)
        #expect(phone.sampleRate == 8000)
        #expect(abs(phone.duration - pcm.duration) < 0.01)
        #expect(abs(phone.level - pcm.level) < 3, "resampling keeps the level")
    }

    @Test func resamplingRemovesWhatTheTelephoneCannotCarry() {
        // A 6 kHz tone at 22.05 kHz cannot pass 8 kHz sampling: it must be filtered, not folded to 2 kHz.
        let tone = PCM(
            samples: (0..<22050).map { Int16(10000 * sin(2 * Double.pi * 6000 * Double($0) / 22050)) },
            sampleRate: 22050)
        let speechBand = PCM(
            samples: (0..<22050).map { Int16(10000 * sin(2 * Double.pi * 1000 * Double($0) / 22050)) },
            sampleRate: 22050)
        #expect(tone.resampled(to: 8000).level < speechBand.resampled(to: 8000).level - 20)
    }

    @Test func whatTheCallerSaidIsNeverCached() async throws {
        let folder = NSTemporaryDirectory() + "callbot-prompts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let library = PromptLibrary(
            audioDirectory: "/nonexistent", messages: ["goodbye": "Au revoir.", "read_back": "J'ai noté le {phone}."],
            synthesizer: try EspeakSynthesizer.shared(), cacheDirectory: folder, personal: ["read_back"])
        let fixed = try await library.audio(key: "goodbye", text: "Au revoir.")
        let personal = try await library.audio(key: "read_back", text: "J'ai noté le 06 12 30 40 50.")
        #expect(!fixed.isEmpty && !personal.isEmpty)
        let kept = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(kept == [PromptLibrary.fileName(for: "Au revoir.")], "only the fixed message is on disk: \(kept)")
    }

    @Test func readsAndWritesSoundFiles() throws {
        let path = NSTemporaryDirectory() + "callbot-\(UUID().uuidString).wav"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pcm = PCM(samples: (0..<16000).map { Int16(8000 * sin(Double($0) / 10)) }, sampleRate: 16000)
        try SoundFile.writeWAV(pcm, to: path)
        let back = try SoundFile.read(path)
        #expect(back == pcm)
        #expect(throws: SoundFileError.self) { try SoundFile.read("/nonexistent.wav") }
    }
}
