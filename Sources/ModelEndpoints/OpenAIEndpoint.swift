package import Assistant
package import AsyncHTTPClient
package import CallbotCore
import Foundation
import NIOCore
import NIOHTTP1

/// An OpenAI-compatible endpoint on AsyncHTTPClient: `/v1/embeddings` for dense retrieval and
/// `/v1/chat/completions`, streamed, for generation. Albert, vLLM, Ollama, llama.cpp's server
/// and the bundled embedding engine speak it.
package struct OpenAIEndpoint: TextEmbedder, ChatModel {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    private let endpoint: ModelEndpoint
    private let apiKey: String?
    private let client: HTTPClient
    private let timeout: Duration
    private let temperature: Double

    /// `timeout` bounds a whole request, body included: one embedding (a batch gets it once per
    /// text), or an answer streamed to its end. `client` holds the connect deadline (see
    /// ``makeClient(connectTimeout:)``).
    package init(
        _ endpoint: ModelEndpoint, apiKey: String?, client: HTTPClient, timeout: Duration, temperature: Double = 0.2
    ) {
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.client = client
        self.timeout = timeout
        self.temperature = temperature
    }

    /// A client that gives up connecting after `connectTimeout`, for the life of the process.
    package static func makeClient(connectTimeout: Duration) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .milliseconds(Int64(connectTimeout.milliseconds))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// The API key of `endpoint`: its environment variable (wins) or its file; nil when neither is set.
    package static func apiKey(_ endpoint: ModelEndpoint, environment: [String: String]) throws(Failure) -> String? {
        do {
            return try APIKey.read(env: endpoint.apiKeyEnv, file: endpoint.apiKeyFile, environment: environment)
        } catch {
            throw Failure(description: error.description)
        }
    }

    // MARK: Embeddings

    private struct EmbeddingRequest: Encodable {
        var model: String
        var input: [String]
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var input_type: String
    }

    private struct EmbeddingResponse: Decodable {
        struct Item: Decodable {
            var index: Int
            var embedding: [Float]
        }
        var data: [Item]
    }

    package func embed(_ texts: [String], as kind: EmbeddingKind) async throws -> [[Float]] {
        // E5 models want "query: " or "passage: "; servers that read `input_type` add it themselves.
        let body = EmbeddingRequest(model: endpoint.model, input: texts, input_type: kind.rawValue)
        // A batch of passages takes longer than one query.
        let limit = timeout * max(1, texts.count)
        let request = try request("/embeddings", body)
        return try await within(limit) { [client] in
            let response = try await client.execute(request, timeout: timeAmount(limit))
            let data = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else { throw failure(response.status, data) }
            let decoded = try JSONDecoder().decode(EmbeddingResponse.self, from: Data(data.readableBytesView))
            return decoded.data.sorted { $0.index < $1.index }.map(\.embedding)
        }
    }

    /// `body`'s result, or a failure once `limit` has passed (the body is then cancelled).
    private func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T.self) { [endpoint] group in
            group.addTask(operation: body)
            group.addTask {
                try await Task.sleep(for: limit)
                throw Failure(description: "\(endpoint.baseURL): no complete answer within \(limit)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    // MARK: Chat completions

    private struct ChatRequest: Encodable {
        struct Message: Encodable {
            var role: String
            var content: String
        }
        var model: String
        var messages: [Message]
        var stream = true
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var max_tokens: Int
        var temperature: Double
    }

    private struct ChatChunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { var content: String? }
            var delta: Delta?
        }
        var choices: [Choice]
    }

    package func stream(system: String, user: String, maxTokens: Int) -> AsyncThrowingStream<String, any Error> {
        let body = ChatRequest(
            model: endpoint.model,
            messages: [.init(role: "system", content: system), .init(role: "user", content: user)],
            max_tokens: maxTokens, temperature: temperature)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: String.self)
        let request: HTTPClientRequest
        do {
            request = try self.request("/chat/completions", body)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let task = Task { [client, timeout] in
            do {
                try await within(timeout) {
                    let response = try await client.execute(request, timeout: timeAmount(timeout))
                    guard response.status == .ok else {
                        throw failure(response.status, try await response.body.collect(upTo: 1 << 16))
                    }
                    // Server-sent events: "data: {chunk}" lines, then "data: [DONE]".
                    var pending = Data()
                    for try await buffer in response.body {
                        pending.append(contentsOf: buffer.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                            pending.removeSubrange(pending.startIndex...newline)
                            guard line.hasPrefix("data:") else { continue }
                            let payload = line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)
                            if payload == "[DONE]" { return }
                            let chunk = try JSONDecoder().decode(ChatChunk.self, from: Data(payload.utf8))
                            if let text = chunk.choices.first?.delta?.content, !text.isEmpty {
                                continuation.yield(text)
                            }
                        }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    // MARK: Requests

    private func request(_ path: String, _ body: some Encodable) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.baseURL.trimmingSuffix("/") + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(body))))
        return request
    }

    private func failure(_ status: HTTPResponseStatus, _ body: ByteBuffer) -> Failure {
        let text = String(buffer: body).prefix(200)
        return Failure(description: "\(endpoint.baseURL) answered \(status.code): \(text)")
    }

    private func timeAmount(_ duration: Duration) -> TimeAmount {
        .milliseconds(Int64(duration.milliseconds))
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
