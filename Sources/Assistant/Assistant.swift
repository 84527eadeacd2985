package import CallbotCore
import Foundation

/// The fallback for questions no intent fits: the knowledge base's best passage, said with its
/// source (extractive, the embedded default), or nothing when no passage answers, when the
/// question is personal or tries to steer the bot. Never an invented answer.
package struct Assistant: Sendable {
    /// What the assistant made of a question, with what `callbotctl ask` shows.
    package struct Outcome: Sendable {
        package var reply: AssistantReply
        /// The passages considered, best first.
        package var sources: [KnowledgeSource]
        package var check: AnswerCheck?
        /// Why nothing was answered.
        package var refusal: String?
    }

    private let fiches: [KnowledgeFiche]
    private let index: LexicalIndex
    private let messages: MessageCatalog
    private let settings: AssistantSettings

    package init(deployment: Deployment) {
        fiches = deployment.knowledge
        index = LexicalIndex(deployment.knowledge)
        messages = deployment.messages
        settings = deployment.config.assistant
    }

    package func reply(to question: String) -> AssistantReply { answer(question).reply }

    /// Answers `question` (already redacted) or says why not.
    package func answer(_ question: String) -> Outcome {
        if let refusal = FallbackGuard.refusal(for: FrenchText.tokens(question)) {
            return Outcome(reply: .refused(reason: refusal), sources: [], check: nil, refusal: refusal)
        }
        let hits = index.search(question, limit: 10)
        let otherFiche = hits.first.flatMap { top in hits.first { $0.fiche != top.fiche }?.score } ?? 0
        // One source a fiche, at its best passage's score.
        var seen = Set<Int>()
        let sources = hits.filter { seen.insert($0.fiche).inserted }.prefix(3).map {
            KnowledgeSource(
                file: fiches[$0.fiche].file, title: fiches[$0.fiche].title, score: ($0.score * 100).rounded() / 100
            )
        }
        guard let best = hits.first, best.score >= settings.minScore, best.score >= settings.minMargin * otherFiche
        else {
            return Outcome(reply: .refused(reason: "no_source"), sources: sources, check: nil, refusal: "no_source")
        }
        let fiche = fiches[best.fiche]
        // Of that fiche, the passage whose own words answer best ("la caution" → the deposit).
        let chosen = hits.filter { $0.fiche == best.fiche }.max { $0.ownScore < $1.ownScore } ?? best
        let passage = fiche.passages[chosen.passage]
        let excerpt = Self.excerpt(passage.text, question: question)
        let text = messages.render("assistant.extractive", ["title": fiche.title, "text": excerpt])
        let check = FallbackGuard.check(answer: excerpt, passages: [passage.text])
        guard check.passed else {
            return Outcome(
                reply: .refused(reason: "check_failed"), sources: sources, check: check, refusal: "check_failed")
        }
        return Outcome(
            reply: .answer(AssistantAnswer(text: text, mode: .extractive, sources: [sources[0]])), sources: sources,
            check: check, refusal: nil)
    }

    /// The sentences of `text` that answer `question` best, in their order, up to about forty
    /// words: what a caller can take in. The first sentence when none matches better.
    static func excerpt(_ text: String, question: String, words limit: Int = 40) -> String {
        let sentences = Self.sentences(text)
        let wanted = Set(LexicalIndex.stems(question))
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

    static func sentences(_ text: String) -> [String] {
        var sentences: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if ".!?".contains(character) {
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
