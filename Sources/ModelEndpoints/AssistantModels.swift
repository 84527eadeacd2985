package import Assistant
import AsyncHTTPClient
package import CallbotCore

/// The models a deployment's assistant uses, from `assistant.embeddings` and
/// `assistant.generation`: none, either or both. Owns their HTTP client: shut it down at the end.
package struct AssistantModels: Sendable {
    package let embedder: (any TextEmbedder)?
    package let writer: (any ChatModel)?
    private let client: HTTPClient

    package init(_ settings: AssistantSettings, environment: [String: String]) throws(OpenAIEndpoint.Failure) {
        // Keys first: a missing key is a configuration error, with no client left to shut down.
        let embedding = try settings.embeddings.resolvedEndpoint.map { endpoint throws(OpenAIEndpoint.Failure) in
            (endpoint, try OpenAIEndpoint.apiKey(endpoint, environment: environment))
        }
        let generation = try settings.generation.map { generation throws(OpenAIEndpoint.Failure) in
            (generation, try OpenAIEndpoint.apiKey(generation.endpoint, environment: environment))
        }
        // One client for both; its connect deadline is generation's (1 s without generation).
        let connect = settings.generation?.connectTimeoutMilliseconds ?? 1000
        client = OpenAIEndpoint.makeClient(connectTimeout: .milliseconds(connect))
        embedder = embedding.map { [client] endpoint, key in
            OpenAIEndpoint(
                endpoint, apiKey: key, client: client, timeout: .milliseconds(settings.embeddings.timeoutMilliseconds))
        }
        writer = generation.map { [client] generation, key in
            OpenAIEndpoint(
                generation.endpoint, apiKey: key, client: client,
                timeout: .milliseconds(generation.timeoutMilliseconds))
        }
    }

    /// "lexical" or "hybrid", then "extractive" or "generative": what callers get.
    package static func describe(_ settings: AssistantSettings) -> (retrieval: String, answers: String) {
        (
            settings.embeddings.engine == .none ? "lexical" : "hybrid",
            settings.generation == nil ? "extractive" : "generative"
        )
    }

    package func shutdown() async {
        try? await client.shutdown()
    }
}
