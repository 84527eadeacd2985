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
        let connect = settings.generation?.connectTimeoutMilliseconds ?? 1000
        client = OpenAIEndpoint.makeClient(connectTimeout: .milliseconds(connect))
        if let endpoint = settings.embeddings.resolvedEndpoint {
            embedder = OpenAIEndpoint(
                endpoint, apiKey: try OpenAIEndpoint.apiKey(endpoint, environment: environment), client: client,
                timeout: .milliseconds(settings.embeddings.timeoutMilliseconds))
        } else {
            embedder = nil
        }
        if let generation = settings.generation {
            writer = OpenAIEndpoint(
                generation.endpoint,
                apiKey: try OpenAIEndpoint.apiKey(generation.endpoint, environment: environment), client: client,
                timeout: .milliseconds(generation.timeoutMilliseconds))
        } else {
            writer = nil
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
