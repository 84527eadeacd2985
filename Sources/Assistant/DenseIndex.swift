package import CallbotCore

/// The passages of the knowledge base as vectors of an embedding model, searched by cosine.
/// The vectors are computed once, when the model first answers; until then, and whenever the
/// model fails, searches return nil at once and the lexical index answers alone.
package actor DenseIndex {
    /// A passage and its cosine similarity to the question.
    package struct Hit: Sendable {
        package var fiche: Int
        package var passage: Int
        package var similarity: Float
    }

    private let embedder: any TextEmbedder
    private let texts: [String]
    private let owners: [(fiche: Int, passage: Int)]
    private var vectors: [[Float]]?
    /// The embedding of the passages under way, shared by whoever waits for it.
    private var preparing: Task<[[Float]], any Error>?
    /// When the vectors were last tried and failed: they are tried again a minute later.
    private var failedAt: ContinuousClock.Instant?

    package init(_ fiches: [KnowledgeFiche], embedder: any TextEmbedder) {
        self.embedder = embedder
        var texts: [String] = []
        var owners: [(Int, Int)] = []
        for (f, fiche) in fiches.enumerated() {
            for (p, passage) in fiche.passages.enumerated() {
                texts.append(
                    [fiche.title, passage.section, passage.text].filter { !$0.isEmpty }.joined(separator: ". "))
                owners.append((f, p))
            }
        }
        self.texts = texts
        self.owners = owners
    }

    /// Whether the passages' vectors are there.
    package var isReady: Bool { vectors != nil }

    /// Computes the passages' vectors (in batches, as the engine likes them), or waits for the
    /// computation under way; throws when the model cannot.
    package func prepare() async throws {
        guard vectors == nil else { return }
        let task = preparing ?? start()
        defer { preparing = nil }
        do {
            vectors = try await task.value
            failedAt = nil
        } catch {
            failedAt = .now
            throw error
        }
    }

    private func start() -> Task<[[Float]], any Error> {
        let task = Task { [embedder, texts] in
            var computed: [[Float]] = []
            for start in stride(from: 0, to: texts.count, by: 8) {
                let batch = Array(texts[start..<min(start + 8, texts.count)])
                let vectors = try await embedder.embed(batch, as: .passage)
                guard vectors.count == batch.count else { throw DenseIndexError.wrongCount }
                computed += vectors.map(Self.normalised)
            }
            return computed
        }
        preparing = task
        return task
    }

    /// The passages nearest `question`, best first; nil when the vectors are not there yet (their
    /// computation is then started, and the question is answered lexically) or the model fails.
    package func search(_ question: String, limit: Int = 10) async -> [Hit]? {
        guard let vectors else {
            if preparing == nil, failedAt.map({ ContinuousClock.now - $0 > .seconds(60) }) ?? true {
                Task { try? await self.prepare() }
            }
            return nil
        }
        guard let raw = try? await embedder.embed([question], as: .query).first else { return nil }
        let query = Self.normalised(raw)
        guard vectors.first?.count == query.count else { return nil }
        var hits: [Hit] = []
        for (index, vector) in vectors.enumerated() {
            var dot: Float = 0
            for i in 0..<query.count { dot += query[i] * vector[i] }
            hits.append(Hit(fiche: owners[index].fiche, passage: owners[index].passage, similarity: dot))
        }
        return Array(hits.sorted { $0.similarity > $1.similarity }.prefix(limit))
    }

    nonisolated static func normalised(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }
}

enum DenseIndexError: Error {
    /// The model returned another number of vectors than texts sent.
    case wrongCount
}
