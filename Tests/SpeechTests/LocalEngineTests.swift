import Audio
import Foundation
import Testing

@testable import Speech

/// The bundled engine (`speech/server.py`, installed by scripts/setup.sh) on loopback, reached by
/// the OpenAI-compatible client, on human French telephone speech cut by the VAD.
@Suite(.serialized) struct LocalEngineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Starts the engine on `port` and waits until it answers (the model loads in a few seconds).
    static func startEngine(port: Int, log: URL? = nil) async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: root + "/.venv/bin/python")
        process.arguments = [
            root + "/speech/server.py", "--model-dir", root + "/var/models/whisper-base", "--port", String(port),
        ]
        process.standardOutput = FileHandle.nullDevice
        if let log {
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if let data = try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/health")!),
                String(decoding: data, as: UTF8.self).contains("ok")
            {
                // Ours, not another engine left on the port.
                guard process.isRunning else { break }
                return process
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        process.terminate()
        throw RecognitionError(reason: "the bundled speech engine did not start (run scripts/setup.sh)")
    }

    /// The utterance the VAD cuts from a recording placed in a second of line silence.
    static func utterance(_ name: String) throws -> [Int16] {
        let speech = try SoundFile.read("/usr/share/asterisk/sounds/fr_CA_f_June/\(name).wav").resampled(to: 8000)
        let line = [Int16](repeating: 0, count: 8000) + speech.samples + [Int16](repeating: 0, count: 8000)
        var detector = VoiceActivityDetector()
        for start in stride(from: 0, to: line.count - 159, by: 160) {
            if case .utterance(let audio)? = detector.process(Array(line[start..<start + 160])) { return audio }
        }
        throw RecognitionError(reason: "no utterance in \(name)")
    }

    @Test func transcribesHumanFrenchSpeechCutByTheVAD() async throws {
        let engine = try await Self.startEngine(port: 28765)
        defer { engine.terminate() }
        let client = OpenAITranscriber(
            baseURL: URL(string: "http://127.0.0.1:28765/v1")!, model: "whisper-base", apiKey: nil,
            timeout: .seconds(20))
        let expected = ["goodbye": "revoir", "queue-thankyou": "patience", "please-try-call-later": "plus tard"]
        for (name, words) in expected.sorted(by: { $0.key < $1.key }) {
            let heard = try await client.transcribe(try Self.utterance(name), sampleRate: 8000, hints: ["rendez-vous"])
            #expect(heard.text.lowercased().contains(words), "\(name): \(heard)")
            #expect(heard.confidence > 0.3, "\(name): \(heard)")
        }
    }

    /// A speculative request the caller made obsolete by talking on is given up by the daemon:
    /// the engine must not spend its turn on it while other callers wait.
    @Test func aRequestGivenUpWhileQueuedIsNotDecoded() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let engine = try await Self.startEngine(port: 28766, log: log)
        defer { engine.terminate() }
        let client = OpenAITranscriber(
            baseURL: URL(string: "http://127.0.0.1:28766/v1")!, model: "whisper-base", apiKey: nil,
            timeout: .seconds(30))
        // About ten seconds of speech keeps the engine busy while the second request waits.
        var long: [Int16] = []
        for name in ["please-try-call-later", "queue-thankyou", "vm-nobodyavail", "queue-youarenext"] {
            long += try SoundFile.read("/usr/share/asterisk/sounds/fr_CA_f_June/\(name).wav").resampled(to: 8000)
                .samples
        }
        let first = Task { try await client.transcribe(long, sampleRate: 8000, hints: []) }
        // The second is sent once the engine is decoding the first, ten seconds long (not after a
        // guessed delay: on a loaded machine the first could still be on its way).
        for _ in 0..<100 {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("with duration 00:10") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let second = Task { try await client.transcribe(try Self.utterance("goodbye"), sampleRate: 8000, hints: []) }
        try await Task.sleep(for: .milliseconds(150))
        second.cancel()
        let heard = try await first.value
        #expect(heard.text.lowercased().contains("patience"), "\(heard)")
        await #expect(throws: (any Error).self) { try await second.value }
        var text = ""
        for _ in 0..<20 {
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.contains("dropped") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(text.contains("the client left before its turn"), "engine log:\n\(text)")
        #expect(text.components(separatedBy: "transcribed").count - 1 == 1, "engine log:\n\(text)")
    }

    @Test func anEngineThatIsDownIsAnErrorNotAHang() async throws {
        let client = OpenAITranscriber(
            baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "whisper-base", apiKey: nil, timeout: .seconds(2))
        let started = ContinuousClock.now
        await #expect(throws: RecognitionError.self) {
            try await client.transcribe([Int16](repeating: 0, count: 8000), sampleRate: 8000, hints: [])
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
