package import CallbotCore
import Foundation

/// The fallback for questions no intent fits. It finds the fiche that answers (lexical and, when
/// an embedding model is there, dense retrieval, fused by rank), then says what the fiche says:
/// its best passage quoted (extractive, the embedded default), or an answer a language model
/// wrote from the passages and that passed the check against them. Nothing when no fiche
/// answers, when the question is personal or tries to steer the bot. Never an invented answer.
package struct Assistant: Sendable {
    /// What the assistant made of a question, with what `callbotctl ask` shows.
    package struct Outcome: Sendable {
        package var reply: AssistantReply
        /// The fiches considered, best first.
        package var sources: [KnowledgeSource]
        /// The check of what is said.
        package var check: AnswerCheck?
        /// Why nothing was answered.
        package var refusal: String?
        /// A model's answer that was not said, and why: its failed check, or the model's error.
        package var rejected: RejectedAnswer?
        package var retrieval: Retrieval
    }

    /// A generated answer the caller did not hear.
    package struct RejectedAnswer: Sendable, Encodable {
        package var text: String
        package var check: AnswerCheck?
        package var error: String?

        /// One line for the call record: what failed.
        package var summary: String {
            if let error { return "error: \(error)" }
            guard let check else { return "rejected" }
            var reasons: [String] = []
            if !check.unsupported.isEmpty { reasons.append("numbers " + check.unsupported.joined(separator: " ")) }
            if !check.unsupportedNames.isEmpty {
                reasons.append("names " + check.unsupportedNames.joined(separator: " "))
            }
            if check.readsAddress { reasons.append("address") }
            if !check.french { reasons.append("not French") }
            if check.words > FallbackGuard.maxWords || check.words == 0 { reasons.append("\(check.words) words") }
            return "check_failed: " + reasons.joined(separator: ", ")
        }
    }

    /// The fiches ranked by each retriever (indexes into the knowledge base), best first.
    package struct Retrieval: Sendable {
        package var lexical: [Int] = []
        /// nil when no embedding model answered.
        package var dense: [Int]?
        package var fused: [Int] = []
        /// The fiche and passage that answer, when one does.
        package var answer: (fiche: Int, passage: Int)?
        /// The best lexical score of each fiche.
        package var lexicalScores: [Int: Double] = [:]
        /// The passages of the answering fiche, best first.
        package var passages: [Int] = []
    }

    private let fiches: [KnowledgeFiche]
    private let index: LexicalIndex
    private let dense: DenseIndex?
    private let writer: (any ChatModel)?
    private let prompt: AnswerPrompt?
    private let messages: MessageCatalog
    private let service: String
    private let settings: AssistantSettings

    /// `embedder` adds dense retrieval; `writer` with the deployment's answer prompt writes
    /// answers (generative mode); without them, lexical retrieval and extractive answers.
    package init(deployment: Deployment, embedder: (any TextEmbedder)? = nil, writer: (any ChatModel)? = nil) {
        fiches = deployment.knowledge
        index = LexicalIndex(deployment.knowledge)
        dense = embedder.map { DenseIndex(deployment.knowledge, embedder: $0) }
        self.writer = deployment.answerPrompt == nil ? nil : writer
        prompt = deployment.answerPrompt
        messages = deployment.messages
        service = deployment.config.service.name
        settings = deployment.config.assistant
    }

    /// Computes the passages' vectors now rather than at the first question; false when the
    /// embedding model cannot (retrieval is lexical meanwhile).
    package func prepare() async -> Bool {
        guard let dense else { return false }
        do {
            try await dense.prepare()
            return true
        } catch {
            return false
        }
    }

    /// The fiches' file names, by index.
    package var files: [String] { fiches.map(\.file) }

    package func reply(to question: String) async -> AssistantReply { await answer(question).reply }

    /// Answers `question` (already redacted) or says why not.
    package func answer(_ question: String) async -> Outcome {
        if let refusal = FallbackGuard.refusal(for: FrenchText.tokens(question)) {
            return Outcome(
                reply: .refused(reason: refusal), sources: [], check: nil, refusal: refusal, rejected: nil,
                retrieval: Retrieval())
        }
        let retrieval = await retrieve(question)
        let sources = retrieval.fused.prefix(3).map { f in
            KnowledgeSource(
                file: fiches[f].file, title: fiches[f].title,
                score: ((retrieval.lexicalScores[f] ?? 0) * 100).rounded() / 100)
        }
        guard let (f, p) = retrieval.answer else {
            return Outcome(
                reply: .refused(reason: "no_source"), sources: sources, check: nil, refusal: "no_source",
                rejected: nil, retrieval: retrieval)
        }
        let fiche = fiches[f]
        let source = KnowledgeSource(
            file: fiche.file, title: fiche.title, score: ((retrieval.lexicalScores[f] ?? 0) * 100).rounded() / 100)
        var rejected: RejectedAnswer?
        if let writer, let prompt, !fiche.extractiveOnly {
            let used = retrieval.passages.prefix(2).map { fiche.passages[$0].text }
            let written = await write(question, passages: used, title: fiche.title, writer: writer, prompt: prompt)
            switch written {
            case .success(let text):
                let check = FallbackGuard.check(answer: text, passages: [fiche.title, service] + used)
                if check.passed {
                    let said = messages.render("assistant.generative", ["title": fiche.title, "text": text])
                    return Outcome(
                        reply: .answer(AssistantAnswer(text: said, mode: .generative, sources: [source], check: check)),
                        sources: sources, check: check, refusal: nil, rejected: nil, retrieval: retrieval)
                }
                rejected = RejectedAnswer(text: text, check: check, error: nil)
            case .failure(let error):
                rejected = RejectedAnswer(text: error.written, check: nil, error: error.description)
            }
        }
        // Extractive: the passage's sentences that answer best, quoted.
        let passage = fiche.passages[p]
        let excerpt = Self.excerpt(passage.text, question: question)
        let check = FallbackGuard.check(answer: excerpt, passages: [passage.text])
        guard check.passed else {
            return Outcome(
                reply: .refused(reason: "check_failed"), sources: sources, check: check, refusal: "check_failed",
                rejected: rejected, retrieval: retrieval)
        }
        let text = messages.render("assistant.extractive", ["title": fiche.title, "text": excerpt])
        let answer = AssistantAnswer(
            text: text, mode: .extractive, sources: [source], check: check, generationRejected: rejected?.summary)
        return Outcome(
            reply: .answer(answer), sources: sources, check: check, refusal: nil, rejected: rejected,
            retrieval: retrieval)
    }

    /// The fiches each retriever ranks first, their fusion, and the passage that answers, if
    /// the evidence is strong enough: the fused best fiche must reach `min_score` lexically and
    /// lead the next fiche by `min_margin`; when both retrievers rank it first, reaching
    /// `min_score_agreed` is enough.
    package func retrieve(_ question: String) async -> Retrieval {
        var retrieval = Retrieval()
        let hits = index.search(question, limit: 20)
        for hit in hits where retrieval.lexicalScores[hit.fiche] == nil {
            retrieval.lexicalScores[hit.fiche] = hit.score
            retrieval.lexical.append(hit.fiche)
        }
        var denseHits: [DenseIndex.Hit] = []
        if let dense, let found = await dense.search(question, limit: 20) {
            denseHits = found
            var ranked: [Int] = []
            for hit in found where !ranked.contains(hit.fiche) { ranked.append(hit.fiche) }
            retrieval.dense = ranked
        }
        retrieval.fused = Self.fuse([retrieval.lexical] + (retrieval.dense.map { [$0] } ?? []))
        guard let best = retrieval.fused.first, let score = retrieval.lexicalScores[best] else { return retrieval }
        let next = retrieval.lexical.first { $0 != best }.flatMap { retrieval.lexicalScores[$0] } ?? 0
        let agreed = retrieval.lexical.first == best && retrieval.dense?.first == best
        let floor = agreed ? min(settings.minScoreAgreed, settings.minScore) : settings.minScore
        guard score >= floor, score >= settings.minMargin * next || agreed else { return retrieval }
        // Of that fiche, the passages whose own words answer best ("la caution" → the deposit),
        // then those the embedding model finds nearest.
        var passages = hits.filter { $0.fiche == best }.sorted { $0.ownScore > $1.ownScore }.map(\.passage)
        for hit in denseHits where hit.fiche == best && !passages.contains(hit.passage) { passages.append(hit.passage) }
        guard let passage = passages.first else { return retrieval }
        retrieval.answer = (best, passage)
        retrieval.passages = passages
        return retrieval
    }

    /// Reciprocal rank fusion of rankings (k = 60): an item ranked well by both beats one ranked
    /// first by one and ignored by the other.
    static func fuse(_ rankings: [[Int]]) -> [Int] {
        var scores: [Int: Double] = [:]
        var firstSeen: [Int: Int] = [:]
        for ranking in rankings {
            for (rank, item) in ranking.enumerated() {
                scores[item, default: 0] += 1 / (60 + Double(rank + 1))
                if firstSeen[item] == nil { firstSeen[item] = firstSeen.count }
            }
        }
        return scores.keys.sorted {
            scores[$0]! != scores[$1]! ? scores[$0]! > scores[$1]! : firstSeen[$0]! < firstSeen[$1]!
        }
    }

    // MARK: Generation

    struct WriteFailure: Error, CustomStringConvertible {
        var description: String
        /// What the model wrote before the failure.
        var written = ""
    }

    /// The model's answer from `passages`, cut at three sentences, cleaned of what the phone cannot say.
    private func write(
        _ question: String, passages: [String], title: String, writer: any ChatModel, prompt: AnswerPrompt
    ) async -> Result<String, WriteFailure> {
        let (system, user) = prompt.messages(
            question: question, passages: passages.map { (title, $0) }, service: service)
        var text = ""
        do {
            for try await piece in writer.stream(
                system: system, user: user, maxTokens: settings.generation?.maxTokens ?? 160)
            {
                text += piece
                // Enough for the phone: stop listening to the model.
                if Self.sentences(text).count > 3 || text.split(separator: " ").count > FallbackGuard.maxWords + 20 {
                    break
                }
            }
        } catch {
            return .failure(WriteFailure(description: "\(error)"))
        }
        let cleaned = Self.spoken(text)
        guard !cleaned.isEmpty, cleaned.last.map({ ".!?".contains($0) }) == true else {
            return .failure(WriteFailure(description: "no complete sentence", written: text))
        }
        // The model found nothing in the passages: the retrieval's fiche is quoted instead.
        if CallerCues.occurs(Self.notKnowing, in: FrenchText.tokens(cleaned)) {
            return .failure(WriteFailure(description: "the model did not know", written: text))
        }
        return .success(cleaned)
    }

    static let notKnowing = CallerCues.phrases(
        "je ne sais pas", "je ne peux pas repondre", "aucune information", "ne precisent pas",
        "ne mentionnent pas", "ne disent pas")

    /// `text` as the phone can say it: Markdown marks dropped, lines joined, at most three
    /// complete sentences.
    static func spoken(_ text: String) -> String {
        let plain = text.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "#", with: "")
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "-*•")) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        let sentences = Self.sentences(plain)
        let complete = sentences.filter { $0.last.map { ".!?".contains($0) } ?? false }
        return (complete.isEmpty ? sentences : complete).prefix(3).joined(separator: " ")
    }

    // MARK: Extraction

    /// The sentences of `text` that answer `question` best, in their order, up to about forty
    /// words: what a caller can take in. The first sentence when none matches better. The kind
    /// of question counts: "combien ça coûte" wants the sentences with prices.
    static func excerpt(_ text: String, question: String, words limit: Int = 40) -> String {
        let sentences = Self.sentences(text)
        let expansion = LexicalIndex.expansion(FrenchText.tokens(question)).joined(separator: " ")
        let wanted = Set(LexicalIndex.stems(question + " " + expansion))
        let scored = sentences.enumerated().map { index, sentence in
            (index, sentence, Set(LexicalIndex.stems(sentence)).intersection(wanted).count)
        }
        var chosen: [(Int, String)] = []
        var count = 0
        for (index, sentence, _) in scored.sorted(by: { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }) {
            let words = sentence.split(separator: " ").count
            if !chosen.isEmpty && count + words > limit { continue }
            chosen.append((index, sentence))
            count += words
        }
        return chosen.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: " ")
    }

    /// The sentences of `text`: cut after ".", "!" or "?" followed by a space or the end (not in
    /// "service-public.fr" or "1.5").
    static func sentences(_ text: String) -> [String] {
        var sentences: [String] = []
        var current = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            current.append(character)
            if ".!?".contains(character), index + 1 == characters.count || characters[index + 1].isWhitespace {
                sentences.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty {
            sentences.append(current.trimmingCharacters(in: .whitespaces))
        }
        return sentences
    }
}
