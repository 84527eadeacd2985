/// What the bot made of one utterance.
package struct Understanding: Sendable {
    package var intent: String
    package var confidence: Double
    /// The next best intents.
    package var alternatives: [IntentScore]
    package var slots: Slots
    /// The utterance as a prompt or a log may see it.
    package var redacted: String
    /// Normalised tokens, for keyword checks.
    package var tokens: [String]
}

/// Understands French utterances with the deployment's intents.
package struct Understander: Sendable {
    package let classifier: IntentClassifier

    package init(catalog: IntentCatalog) {
        classifier = IntentClassifier(
            intents: catalog.intents.map { IntentExamples(name: $0.name, examples: $0.examples, keywords: $0.keywords) },
            threshold: catalog.noneThreshold)
    }

    /// Intent, slots relative to `today`, and redacted text of `text`.
    package func understand(_ text: String, today: LocalDate) -> Understanding {
        let tokens = FrenchText.tokens(text)
        let ranked = classifier.rank(stems: IntentClassifier.stems(fromTokens: tokens))
        let best = ranked.first ?? IntentScore(intent: IntentClassifier.none, confidence: 1)
        return Understanding(
            intent: best.intent, confidence: best.confidence,
            alternatives: Array(ranked.dropFirst().filter { $0.intent != IntentClassifier.none && $0.confidence > 0 }.prefix(3)),
            slots: SlotExtractor.extract(from: tokens, today: today), redacted: Redactor.redact(text), tokens: tokens)
    }

    /// Whether the normalised `tokens` contain one of `phrases` (normalised the same way).
    package static func mentions(_ tokens: [String], anyOf phrases: [String]) -> Bool {
        let stems = tokens.map(FrenchStemmer.stem)
        return phrases.contains { phrase in
            let wanted = FrenchText.tokens(phrase).map(FrenchStemmer.stem)
            guard !wanted.isEmpty, wanted.count <= stems.count else { return false }
            return (0...(stems.count - wanted.count)).contains { stems[$0..<($0 + wanted.count)].elementsEqual(wanted) }
        }
    }
}
