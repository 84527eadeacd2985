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
    private let catalog: IntentCatalog
    /// Intents that act (book, cancel, call back, hand off) rather than answer.
    private let actingIntents: Set<String>
    private let otherSubjectStems: [[String]]
    /// Words that name the service's own appointment motifs.
    private let motifKeywords: [String]

    /// Understands with the deployment's intents and the words of its appointment motifs.
    package init(deployment: Deployment) {
        self.init(catalog: deployment.intents, motifKeywords: deployment.config.appointments.motifs.flatMap(\.keywords))
    }

    package init(catalog: IntentCatalog, motifKeywords: [String] = []) {
        self.catalog = catalog
        self.motifKeywords = motifKeywords
        classifier = IntentClassifier(
            intents: catalog.intents.map {
                IntentExamples(name: $0.name, examples: $0.examples, keywords: $0.keywords)
            },
            threshold: catalog.noneThreshold)
        otherSubjectStems = catalog.otherSubjects.map { FrenchText.tokens($0).map(FrenchStemmer.stem) }.filter {
            !$0.isEmpty
        }
        actingIntents = Set(
            catalog.intents.filter { [.book, .cancel, .callback, .handoff].contains($0.action) }.map(\.name))
    }

    private func intents(_ action: IntentAction) -> [IntentDefinition] {
        catalog.intents.filter { $0.action == action }
    }

    /// Ranks intents, then applies what a classifier of similarity cannot see:
    /// - an explicit request for a person wins, however long the sentence around it;
    /// - a request to act wins over the topic it is about: in "un rendez-vous pour mon passeport"
    ///   the caller wants an appointment (whose motif is the passport), not the passport answer;
    ///   but "faut-il un rendez-vous pour…" is a question about the topic;
    /// - moving or cancelling an appointment wins over booking one;
    /// - a question about another facility or body (`other_subjects`) is not given an answer
    ///   intent's answer: it becomes `none`, unless the answer intent is a procedure whose own
    ///   keyword is in the question.
    package func rank(tokens rawTokens: [String]) -> [IntentScore] {
        let tokens = CallerCues.separatingTravel(rawTokens)
        var ranked = classifier.rank(tokens: tokens)
        func promote(_ name: String) {
            guard let index = ranked.firstIndex(where: { $0.intent == name }) else { return }
            var chosen = ranked.remove(at: index)
            chosen.confidence = max(chosen.confidence, ranked.first?.confidence ?? 0, catalog.noneThreshold + 0.2)
            ranked.insert(chosen, at: 0)
        }
        func matched(_ name: String) -> Bool { ranked.first { $0.intent == name }?.keywordMatched ?? false }
        if CallerCues.willCallAgain(tokens), let goodbye = intents(.goodbye).first {
            promote(goodbye.name)
            return ranked
        }
        let callbackAsked = intents(.callback).contains { matched($0.name) }
        if !callbackAsked, let person = intents(.handoff).first(where: { $0.answer == nil }),
            asksForAPerson(tokens, handoff: person, top: ranked.first?.intent)
        {
            promote(person.name)
            return ranked
        }
        if let cancel = intents(.cancel).first(where: { matched($0.name) }),
            intents(.book).contains(where: { matched($0.name) }) || ranked.first?.intent == IntentClassifier.none
                || intents(.book).contains(where: { $0.name == ranked.first?.intent })
        {
            promote(cancel.name)
            return ranked
        }
        guard let top = ranked.first else { return ranked }
        let topDefinition = catalog.intent(named: top.intent)
        // "mon rendez-vous": one the caller already has, to find (and then cancel, move or keep).
        if topDefinition?.action == .book, Self.mentions(tokens, anyOf: Self.ownAppointment),
            let manage = intents(.cancel).first
        {
            promote(manage.name)
            return ranked
        }
        let needQuestion = CallerCues.asksWhetherNeeded(tokens)
        if needQuestion, topDefinition?.action == .book,
            let topic = ranked.first(where: { catalog.intent(named: $0.intent)?.action == .answer && $0.keywordMatched }
            )
        {
            promote(topic.intent)
            return ranked
        }
        if topDefinition?.action == .answer || top.intent == IntentClassifier.none {
            if let acting = ranked.first(where: {
                actingIntents.contains($0.intent) && $0.keywordMatched
                    && (!needQuestion || catalog.intent(named: $0.intent)?.action != .book)
                    && ($0.confidence >= top.confidence - Self.actionMargin
                        || catalog.intent(named: $0.intent)?.action == .book)
            }) {
                promote(acting.intent)
                return ranked
            }
        }
        // A booking somewhere else ("un rendez-vous à la préfecture", "réserver un restaurant").
        if topDefinition?.action == .book, let rest = withoutOtherSubjects(tokens),
            !motifKeywords.contains(where: { Self.mentions(rest, anyOf: [$0]) })
        {
            ranked.insert(IntentScore(intent: IntentClassifier.none, confidence: 0.8), at: 0)
            return ranked
        }
        let facilityAsked = catalog.intents.contains { $0.facility && matched($0.name) }
        if let topDefinition, topDefinition.action == .answer, let rest = withoutOtherSubjects(tokens),
            topDefinition.facility || facilityAsked || !Self.mentions(rest, anyOf: topDefinition.keywords)
        {
            ranked.insert(IntentScore(intent: IntentClassifier.none, confidence: 0.8), at: 0)
        }
        return ranked
    }

    /// `tokens` without the other subjects they name, or nil when they name none. What is left
    /// tells whether an intent's own keyword is there besides ("ma carte d'identité perdue à la gare").
    private func withoutOtherSubjects(_ tokens: [String]) -> [String]? {
        let stems = tokens.map(FrenchStemmer.stem)
        var keep = Array(repeating: true, count: tokens.count)
        var found = false
        for phrase in otherSubjectStems where phrase.count <= stems.count {
            for start in 0...(stems.count - phrase.count)
            where stems[start..<(start + phrase.count)].elementsEqual(phrase) {
                found = true
                for i in start..<(start + phrase.count) { keep[i] = false }
            }
        }
        return found ? tokens.indices.filter { keep[$0] }.map { tokens[$0] } : nil
    }

    /// How far below the best an acting intent may score and still win.
    static let actionMargin = 0.25

    /// Whether the caller explicitly asks for a person: a word for one (the hand-off intent's
    /// keywords) with a verb of asking for them, or alone in a short request.
    private func asksForAPerson(_ tokens: [String], handoff: IntentDefinition, top: String?) -> Bool {
        if Self.mentions(tokens, anyOf: Self.transferPhrases) { return true }
        guard Self.mentions(tokens, anyOf: handoff.keywords) else { return top == handoff.name }
        if top == handoff.name || tokens.count <= 4 { return true }
        return Self.mentions(tokens, anyOf: Self.askingForAPerson)
    }

    /// "Mon rendez-vous": an appointment the caller has.
    static let ownAppointment = [
        "mon rendez-vous", "mon rdv", "ma réservation", "notre rendez-vous", "mon prochain rendez-vous",
    ]

    /// Requests to be put through that need no word for the person ("mettez-moi en relation avec l'urbanisme").
    static let transferPhrases = [
        "mettre en relation", "mettez-moi en relation", "passez-moi", "passe-moi", "me passer le", "me passer la",
        "transférez-moi",
        "me transférer",
        "parler à", "parler avec", "parler au", "joindre le service", "joindre quelqu'un",
    ]

    /// Verbs with which callers ask for a person ("parler à", "passez-moi", "mettez-moi en relation").
    static let askingForAPerson = [
        "parler", "passez-moi", "me passer", "me passez", "passe-moi", "me passe", "transférer", "transférez",
        "mettre en relation", "mettez-moi en relation", "joindre", "avoir quelqu'un",
        "un humain", "une vraie personne", "pas un robot", "pas à un robot", "pas une machine",
    ]

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
