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
    /// The share of the question's weight the best passage must cover.
    private let minCoverage: Double

    package init(deployment: Deployment, minCoverage: Double = 0.45) {
        fiches = deployment.knowledge
        index = LexicalIndex(deployment.knowledge)
        messages = deployment.messages
        self.minCoverage = minCoverage
    }

    package func reply(to question: String) -> AssistantReply { answer(question).reply }

    /// Answers `question` (already redacted) or says why not.
    package func answer(_ question: String) -> Outcome {
        if let refusal = FallbackGuard.refusal(for: FrenchText.tokens(question)) {
            return Outcome(reply: .refused(reason: refusal), sources: [], check: nil, refusal: refusal)
        }
        let hits = index.search(question)
        let sources = hits.map {
            KnowledgeSource(
                file: fiches[$0.fiche].file, title: fiches[$0.fiche].title, score: ($0.coverage * 1000).rounded() / 1000
            )
        }
        guard let best = hits.first, best.coverage >= minCoverage else {
            return Outcome(reply: .refused(reason: "no_source"), sources: sources, check: nil, refusal: "no_source")
        }
        let fiche = fiches[best.fiche]
        let passage = fiche.passages[best.passage]
        let text = messages.render(
            "assistant.extractive", ["title": fiche.title, "text": Self.lead(passage.text)])
        let check = FallbackGuard.check(answer: Self.lead(passage.text), passages: [passage.text])
        guard check.passed else {
            return Outcome(
                reply: .refused(reason: "check_failed"), sources: sources, check: check, refusal: "check_failed")
        }
        return Outcome(
            reply: .answer(AssistantAnswer(text: text, mode: .extractive, sources: [sources[0]])), sources: sources,
            check: check, refusal: nil)
    }

    /// The passage's first sentences, up to about forty words: what a caller can take in.
    static func lead(_ text: String, words limit: Int = 40) -> String {
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
        var lead: [String] = []
        var count = 0
        for sentence in sentences {
            let words = sentence.split(separator: " ").count
            if !lead.isEmpty && count + words > limit { break }
            lead.append(sentence)
            count += words
        }
        return lead.joined(separator: " ")
    }
}
