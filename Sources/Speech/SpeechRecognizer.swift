package import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a recogniser heard.
package struct Transcript: Sendable, Equatable {
    package var text: String
    /// 0–1: how sure the engine is (from its token log-probabilities when it gives them).
    package var confidence: Double

    package init(text: String, confidence: Double) {
        self.text = text
        self.confidence = confidence
    }
}

/// Why a recogniser gave no transcript: the call then goes on with the keypad.
package struct RecognitionError: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }

    package init(reason: String) { self.reason = reason }
}

/// Speech to text.
package protocol SpeechRecognizer: Sendable {
    /// Transcribes an utterance (mono, 16-bit) in French; `hints` are words the caller may use.
    func transcribe(_ samples: [Int16], sampleRate: Int, hints: [String]) async throws(RecognitionError) -> Transcript
}

/// Any OpenAI-compatible `/v1/audio/transcriptions` endpoint: the State's Albert API, speaches,
/// vLLM, whisper.cpp's server, or the bundled engine (`speech/server.py`).
package struct OpenAITranscriber: SpeechRecognizer {
    /// Up to and including `/v1`: `https://albert.api.etalab.gouv.fr/v1`, `http://127.0.0.1:8765/v1`.
    package var baseURL: URL
    package var model: String
    package var apiKey: String?
    package var timeout: Duration
    package var language = "fr"

    package init(baseURL: URL, model: String, apiKey: String?, timeout: Duration) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
    }

    package func transcribe(_ samples: [Int16], sampleRate: Int, hints: [String]) async throws(RecognitionError)
        -> Transcript
    {
        let boundary = "callbot-\(UInt64.random(in: 0...UInt64.max))"
        var form = MultipartForm(boundary: boundary)
        form.add(name: "model", value: model)
        form.add(name: "language", value: language)
        form.add(name: "temperature", value: "0")
        form.add(name: "response_format", value: "verbose_json")
        if !hints.isEmpty { form.add(name: "prompt", value: hints.joined(separator: ", ")) }
        form.add(
            name: "file", filename: "utterance.wav", contentType: "audio/wav",
            data: WAV.encode(samples, sampleRate: sampleRate))
        var request = URLRequest(url: baseURL.appendingPathComponent("audio/transcriptions"))
        request.httpMethod = "POST"
        request.timeoutInterval = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        let (data, response): (Data, URLResponse)
        do {
            // URLSession's own timeout is an idle timer that fires late on a busy machine: the
            // deadline is held here, and the request cancelled when it passes.
            let (body, prepared) = (form.finished(), request)
            let answer = try await withThrowingTaskGroup(of: (Data, URLResponse)?.self) { group in
                group.addTask { try await URLSession.shared.upload(for: prepared, from: body) }
                group.addTask { [timeout] in
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            guard let answer else { throw RecognitionError(reason: "speech engine gave no answer within \(timeout)") }
            (data, response) = answer
        } catch let error as RecognitionError {
            throw error
        } catch let error as URLError where error.code == .timedOut {
            // URLSession's own timer can fire first: the same deadline.
            throw RecognitionError(reason: "speech engine gave no answer within \(timeout)")
        } catch {
            throw RecognitionError(reason: "speech engine unreachable: \(error.localizedDescription)")
        }
        guard let status = (response as? HTTPURLResponse)?.statusCode, status == 200 else {
            let code = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw RecognitionError(reason: "speech engine answered HTTP \(code)")
        }
        return try Self.transcript(from: data)
    }

    /// Reads `{"text": …}` or the verbose form with segments; the confidence is the mean of
    /// exp(avg_logprob) over segments, lowered by their no-speech probability.
    static func transcript(from data: Data) throws(RecognitionError) -> Transcript {
        struct Body: Decodable {
            struct Segment: Decodable {
                var averageLogProbability: Double?
                var noSpeechProbability: Double?
                enum CodingKeys: String, CodingKey {
                    case averageLogProbability = "avg_logprob"
                    case noSpeechProbability = "no_speech_prob"
                }
            }
            var text: String
            var segments: [Segment]?
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch {
            throw RecognitionError(reason: "speech engine answer is not a transcription")
        }
        let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return Transcript(text: "", confidence: 0) }
        let scores = (body.segments ?? []).compactMap { segment in
            segment.averageLogProbability.map { exp($0) * (1 - (segment.noSpeechProbability ?? 0)) }
        }
        let confidence = scores.isEmpty ? 1 : scores.reduce(0, +) / Double(scores.count)
        return Transcript(text: text, confidence: min(1, max(0, confidence)))
    }
}

/// A multipart/form-data body (RFC 7578).
struct MultipartForm {
    let boundary: String
    private var body = Data()

    init(boundary: String) { self.boundary = boundary }

    mutating func add(name: String, value: String) {
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n".utf8))
        body.append(Data(value.utf8))
        body.append(Data("\r\n".utf8))
    }

    mutating func add(name: String, filename: String, contentType: String, data: [UInt8]) {
        body.append(
            Data(
                ("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
                    + "Content-Type: \(contentType)\r\n\r\n").utf8))
        body.append(contentsOf: data)
        body.append(Data("\r\n".utf8))
    }

    func finished() -> Data { body + Data("--\(boundary)--\r\n".utf8) }
}

/// 16-bit PCM WAV files in memory.
package enum WAV {
    package static func encode(_ samples: [Int16], sampleRate: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(44 + samples.count * 2)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        out += Array("RIFF".utf8)
        append(UInt32(36 + samples.count * 2))
        out += Array("WAVEfmt ".utf8)
        append(UInt32(16))
        append(UInt16(1))
        append(UInt16(1))
        append(UInt32(sampleRate))
        append(UInt32(sampleRate * 2))
        append(UInt16(2))
        append(UInt16(16))
        out += Array("data".utf8)
        append(UInt32(samples.count * 2))
        for sample in samples { append(sample) }
        return out
    }
}
