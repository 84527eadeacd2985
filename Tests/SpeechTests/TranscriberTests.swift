import Audio
import Foundation
import Testing

@testable import Speech

#if canImport(Glibc)
    import Glibc
#endif

/// The OpenAI-compatible client: the answer it reads, the WAV it sends, an engine that fails.
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

    @Test func aSilentOrAbsentEngineFailsWithinTheTimeout() async throws {
        // A server that takes the connection and never answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let audio = [Int16](repeating: 0, count: 8000)
        let silent = OpenAITranscriber(
            baseURL: URL(string: "http://127.0.0.1:\(port)/v1")!, model: "whisper-base", apiKey: nil,
            timeout: .seconds(1))
        let started = ContinuousClock.now
        let error = await #expect(throws: RecognitionError.self) {
            try await silent.transcribe(audio, sampleRate: 8000, hints: [])
        }
        // The transcriber's own deadline ended the wait (not a connection error). The wall-clock
        // bound is loose: the line tests that run beside this one can hold the shared threads
        // for seconds (seen: 6 s for a 1 s deadline in the full suite, 1.0 s alone).
        #expect(error?.reason.contains("no answer within") == true, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(15), "the timeout holds")
        // Nobody on the port at all.
        let absent = OpenAITranscriber(
            baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "whisper-base", apiKey: nil, timeout: .seconds(1))
        await #expect(throws: RecognitionError.self) { try await absent.transcribe(audio, sampleRate: 8000, hints: []) }
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
