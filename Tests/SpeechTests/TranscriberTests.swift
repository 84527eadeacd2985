import Audio
import Foundation
import Testing

@testable import Speech

/// The OpenAI-compatible client's pure parts: the answer it reads and the WAV it sends.
@Suite struct TranscriberTests {
    @Test func readsPlainAndVerboseAnswers() throws {
        let plain = try OpenAITranscriber.transcript(
            from: Data(#"{"text": " Bonjour, je voudrais un rendez-vous. "}"#.utf8))
        #expect(plain == Transcript(text: "Bonjour, je voudrais un rendez-vous.", confidence: 1))
        let verbose = try OpenAITranscriber.transcript(
            from: Data(
                #"{"text":"au revoir","segments":[{"avg_logprob":-0.1,"no_speech_prob":0.0},{"avg_logprob":-1.2,"no_speech_prob":0.5}]}"#
                    .utf8))
        #expect(abs(verbose.confidence - (exp(-0.1) + exp(-1.2) * 0.5) / 2) < 1e-9)
        #expect(try OpenAITranscriber.transcript(from: Data(#"{"text":"  "}"#.utf8)).confidence == 0)
        #expect(throws: RecognitionError.self) { try OpenAITranscriber.transcript(from: Data("<html>".utf8)) }
    }

    @Test func encodesAWAVThatReadsBack() throws {
        let samples: [Int16] = [0, 1000, -1000, 32767, -32768]
        let bytes = WAV.encode(samples, sampleRate: 8000)
        #expect(bytes.count == 44 + 10 && Array(bytes[0..<4]) == Array("RIFF".utf8))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wav-\(UUID()).wav").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let read = try SoundFile.read(path)
        #expect(read.samples == samples && read.sampleRate == 8000)
    }
}
