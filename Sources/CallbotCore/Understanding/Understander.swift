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
    /// Intents that act (book, cancel, call back, hand off) rather than answer.
    private let actingIntents: Set<String>

    package init(catalog: IntentCatalog) {
        classifier = IntentClassifier(
            intents: catalog.intents.map {
                IntentExamples(name: $0.name, examples: $0.examples, keywords: $0.keywords)
            },
            threshold: catalog.noneThreshold)
        actingIntents = Set(
            catalog.intents.filter { [.book, .cancel, .callback].contains($0.action) || ($0.action == .handoff) }.map(
                \.name))
    }

    /// Ranks intents, then lets a request to act win over the topic it is about: in "un
    /// rendez-vous pour mon passeport" the caller wants an appointment (whose motif is the
    /// passport), not the passport answer. Applies when the acting intent's keyword is there
    /// and its score is close to the best.
    package func rank(tokens: [String]) -> [IntentScore] {
        var ranked = classifier.rank(tokens: tokens)
        guard let top = ranked.first, top.intent != IntentClassifier.none, !actingIntents.contains(top.intent),
            let index = ranked.firstIndex(where: {
                actingIntents.contains($0.intent) && $0.keywordMatched
                    && $0.confidence >= top.confidence - Self.actionMargin
            })
        else { return ranked }
        var acting = ranked.remove(at: index)
        acting.confidence = max(acting.confidence, top.confidence)
        ranked.insert(acting, at: 0)
        return ranked
    }

    /// How far below the best an acting intent may score and still win.
    static let actionMargin = 0.25

    /// Intents of `text`, best first (see ``rank(tokens:)``).
    package func rank(_ text: String) -> [IntentScore] { rank(tokens: FrenchText.tokens(text)) }

    /// Intent, slots relative to `today`, and redacted text of `text`.
    package func understand(_ text: String, today: LocalDate) -> Understanding {
        let tokens = FrenchText.tokens(text)
        let ranked = rank(tokens: tokens)
        let best = ranked.first ?? IntentScore(intent: IntentClassifier.none, confidence: 1)
        return Understanding(
            intent: best.intent, confidence: best.confidence,
            alternatives: Array(
                ranked.dropFirst().filter { $0.intent != IntentClassifier.none && $0.confidence > 0 }.prefix(3)),
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
