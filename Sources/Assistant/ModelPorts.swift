/// What dense retrieval needs of an embedding model (an OpenAI-compatible `/v1/embeddings`).
package protocol TextEmbedder: Sendable {
    /// One vector a text, in order; `kind` tells models like E5 a query from a passage.
    func embed(_ texts: [String], as kind: EmbeddingKind) async throws -> [[Float]]
}

package enum EmbeddingKind: String, Sendable {
    case query
    case passage
}

/// What generation needs of a chat model (an OpenAI-compatible `/v1/chat/completions`): the
/// answer's text as it streams, piece by piece. The stream ends with the answer or throws.
package protocol ChatModel: Sendable {
    func stream(system: String, user: String, maxTokens: Int) -> AsyncThrowingStream<String, any Error>
}
