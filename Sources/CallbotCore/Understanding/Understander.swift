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
    /// A second question asked in the same sentence ("vous fermez à quelle heure jeudi, et il faut
    /// quoi pour un passeport ?"): the answer intent of the other clause.
    package var also: String? = nil
}

/// Understands French utterances with the deployment's intents.
package struct Understander: Sendable {
    package let classifier: IntentClassifier
    private let catalog: IntentCatalog
    /// Intents that act (book, cancel, call back, hand off) rather than answer.
    private let actingIntents: Set<String>
    private let otherSubjects: Phrases
    /// Words that name the service's own appointment motifs.
    private let motifKeywords: Phrases
    /// Intents whose topic is booked by a motif ("un rendez-vous pour un permis de construire"):
    /// an appointment named with them is a booking, however well the topic scores.
    private let motifIntents: Set<String>
    /// Each intent's keywords, stemmed once.
    private let keywords: [String: Phrases]
    private let byAction: [IntentAction: [IntentDefinition]]
    private let actions: [String: IntentAction]

    /// Understands with the deployment's intents and the words of its appointment motifs.
    package init(deployment: Deployment) {
        let motifs = deployment.config.appointments.motifs
        self.init(
            catalog: deployment.intents, motifKeywords: motifs.flatMap(\.keywords),
            motifIntents: Set(motifs.flatMap(\.intents)))
    }

    package init(catalog: IntentCatalog, motifKeywords: [String] = [], motifIntents: Set<String> = []) {
        self.motifIntents = motifIntents
        self.catalog = catalog
        self.motifKeywords = Phrases(motifKeywords)
        byAction = Dictionary(grouping: catalog.intents, by: \.action)
        actions = Dictionary(catalog.intents.map { ($0.name, $0.action) }, uniquingKeysWith: { a, _ in a })
        keywords = Dictionary(catalog.intents.map { ($0.name, Phrases($0.keywords)) }, uniquingKeysWith: { a, _ in a })
        classifier = IntentClassifier(
            intents: catalog.intents.map {
                IntentExamples(name: $0.name, examples: $0.examples, keywords: $0.keywords)
            },
            threshold: catalog.noneThreshold)
        otherSubjects = Phrases(catalog.otherSubjects)
        actingIntents = Set(
            catalog.intents.filter { [.book, .cancel, .callback, .handoff].contains($0.action) }.map(\.name))
    }

    private func intents(_ action: IntentAction) -> [IntentDefinition] { byAction[action] ?? [] }

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
        let stems = tokens.map(FrenchStemmer.stem)
        var ranked = classifier.rank(tokens: tokens, stems: stems)
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
            asksForAPerson(stems, count: tokens.count, handoff: person, top: ranked.first?.intent)
        {
            promote(person.name)
            return ranked
        }
        if let cancel = intents(.cancel).first(where: { matched($0.name) }),
            intents(.book).contains(where: { matched($0.name) }) || ranked.first?.intent == IntentClassifier.none
                || intents(.book).contains(where: { $0.name == ranked.first?.intent })
        {
            promote(cancel.name)
            return scoped(ranked, stems)
        }
        guard let top = ranked.first else { return ranked }
        let action = actions[top.intent]
        // "mon rendez-vous": one the caller already has, to find (and then cancel, move or keep).
        // "prendre mon rendez-vous" is a booking all the same.
        if action == .book, Self.ownAppointment.occur(in: stems), !Self.newBooking.occur(in: stems),
            let manage = intents(.cancel).first
        {
            promote(manage.name)
            return ranked
        }
        // "réserver la cantine": booking what a topic without appointments is about, not a desk
        // ("un rendez-vous à l'ouverture jeudi" is an appointment all the same).
        if action == .book, !Self.appointmentWords.occur(in: stems),
            let topic = ranked.first(where: {
                actions[$0.intent] == .answer && $0.keywordMatched && !motifIntents.contains($0.intent)
                    && $0.confidence >= top.confidence - Self.actionMargin
            })
        {
            promote(topic.intent)
            return scoped(ranked, stems)
        }
        let needQuestion = CallerCues.asksWhetherNeeded(tokens)
        if needQuestion, action == .book,
            let topic = ranked.first(where: { actions[$0.intent] == .answer && $0.keywordMatched })
        {
            promote(topic.intent)
        } else if action == .answer || top.intent == IntentClassifier.none,
            let acting = ranked.first(where: {
                let acts = actions[$0.intent]
                guard actingIntents.contains($0.intent), $0.keywordMatched else { return false }
                // A booking wins over a topic only where the topic has appointments (a motif).
                guard acts == .book else { return $0.confidence >= top.confidence - Self.actionMargin }
                return !needQuestion && (top.intent == IntentClassifier.none || motifIntents.contains(top.intent))
            })
        {
            promote(acting.intent)
        }
        return scoped(ranked, stems)
    }

    /// `ranked` with `none` first when the best intent is about another facility or body than the
    /// service: a booking there ("un rendez-vous à la préfecture") or a question whose answer is
    /// about the premises ("les horaires de la piscine") or that keeps none of the intent's own
    /// keywords once the other subject is left out.
    private func scoped(_ ranked: [IntentScore], _ stems: [String]) -> [IntentScore] {
        guard let top = ranked.first, let definition = catalog.intent(named: top.intent),
            definition.action == .answer || definition.action == .book,
            let rest = otherSubjects.removed(from: stems)
        else { return ranked }
        let outOfScope: Bool
        if definition.action == .book {
            outOfScope = !motifKeywords.occur(in: rest)
        } else {
            let facilityAsked = catalog.intents.contains { intent in
                intent.facility && ranked.contains { $0.intent == intent.name && $0.keywordMatched }
            }
            outOfScope = definition.facility || facilityAsked || !(keywords[definition.name]?.occur(in: rest) ?? false)
        }
        guard outOfScope else { return ranked }
        return [IntentScore(intent: IntentClassifier.none, confidence: 0.8)] + ranked
    }

    /// How far below the best an acting intent may score and still win.
    static let actionMargin = 0.25

    /// Whether the caller explicitly asks for a person: a word for one (the hand-off intent's
    /// keywords) with a verb of asking for them, or alone in a short request.
    private func asksForAPerson(_ stems: [String], count: Int, handoff: IntentDefinition, top: String?) -> Bool {
        if Self.transferPhrases.occur(in: stems) { return true }
        guard keywords[handoff.name]?.occur(in: stems) ?? false else { return top == handoff.name }
        if top == handoff.name || count <= 4 { return true }
        return Self.askingForAPerson.occur(in: stems)
    }

    /// "Mon rendez-vous": an appointment the caller has.
    static let ownAppointment = Phrases([
        "mon rendez-vous", "mon rdv", "ma réservation", "notre rendez-vous", "mon prochain rendez-vous",
    ])

    /// Words that make "mon rendez-vous" a new one ("prendre mon rendez-vous").
    static let newBooking = Phrases(["prendre", "fixer", "réserver", "nouveau rendez-vous"])

    /// Words that name an appointment itself.
    static let appointmentWords = Phrases(["rendez-vous", "rdv", "créneau"])

    /// Requests to be put through that need no word for the person ("mettez-moi en relation avec l'urbanisme").
    static let transferPhrases = Phrases([
        "mettre en relation", "mettez-moi en relation", "passez-moi", "passe-moi", "me passer le", "me passer la",
        "transférez-moi",
        "me transférer",
        "parler à", "parler avec", "parler au", "joindre le service", "joindre quelqu'un",
    ])

    /// Verbs with which callers ask for a person ("parler à", "passez-moi", "mettez-moi en relation").
    static let askingForAPerson = Phrases([
        "parler", "passez-moi", "me passer", "me passez", "passe-moi", "me passe", "transférer", "transférez",
        "mettre en relation", "mettez-moi en relation", "joindre", "avoir quelqu'un",
        "un humain", "une vraie personne", "pas un robot", "pas à un robot", "pas une machine",
    ])

    /// Intents of `text`, best first (see ``rank(tokens:)``).
    package func rank(_ text: String) -> [IntentScore] { rank(tokens: FrenchText.tokens(text)) }

    /// Intent, slots relative to `today`, and redacted text of `text`.
    package func understand(_ text: String, today: LocalDate) -> Understanding {
        let tokens = FrenchText.tokens(text)
        let ranked = rank(tokens: tokens)
        let best = ranked.first ?? IntentScore(intent: IntentClassifier.none, confidence: 1)
        var understanding = Understanding(
            intent: best.intent, confidence: best.confidence,
            alternatives: Array(
                ranked.dropFirst().filter { $0.intent != IntentClassifier.none && $0.confidence > 0 }.prefix(3)),
            slots: SlotExtractor.extract(from: tokens, today: today), redacted: Redactor.redact(text), tokens: tokens)
        understanding.also = secondQuestion(tokens, first: best.intent)
        return understanding
    }

    /// The answer intent of another clause than the one `first` comes from, when the sentence
    /// joins two questions ("…, et…", "…, aussi…") and each clause names its topic by a keyword.
    func secondQuestion(_ tokens: [String], first: String) -> String? {
        guard actions[first] == .answer else { return nil }
        for (index, token) in tokens.enumerated()
        where Self.joiningWords.contains(token) && index >= 2 && index <= tokens.count - 3 {
            let clauses = [Array(tokens[..<index]), Array(tokens[(index + 1)...])]
            let tops = clauses.compactMap { clause in
                rank(tokens: clause).first.flatMap {
                    $0.keywordMatched && actions[$0.intent] == .answer ? $0.intent : nil
                }
            }
            // The other clause must ask something: "mon fils est à l'école et je voudrais refaire
            // sa carte d'identité" asks one thing.
            guard tops.count == 2, tops[0] != tops[1], let at = tops.firstIndex(of: first) else { continue }
            if CallerCues.asks(clauses[1 - at]) { return tops[1 - at] }
        }
        return nil
    }

    static let joiningWords: Set<String> = ["et", "aussi", "puis", "ensuite", "egalement"]

    /// Whether the normalised `tokens` contain one of `phrases` (normalised the same way).
    package static func mentions(_ tokens: [String], anyOf phrases: [String]) -> Bool {
        Phrases(phrases).occur(in: tokens.map(FrenchStemmer.stem))
    }
}

/// Phrases normalised and stemmed once, to be found in utterances stemmed the same way.
package struct Phrases: Sendable {
    private let stems: [[String]]

    package init(_ phrases: [String]) {
        stems = phrases.map { FrenchText.tokens($0).map(FrenchStemmer.stem) }.filter { !$0.isEmpty }
    }

    /// Where the phrases start in `utterance`, each time one is there.
    func occurrences(in utterance: [String]) -> [Int] {
        var starts: [Int] = []
        for phrase in stems where phrase.count <= utterance.count {
            for start in 0...(utterance.count - phrase.count)
            where utterance[start..<(start + phrase.count)].elementsEqual(phrase) {
                starts.append(start)
            }
        }
        return starts
    }

    /// Whether one of the phrases stands in `utterance` (stemmed tokens).
    func occur(in utterance: [String]) -> Bool { stems.contains { IntentClassifier.contains(utterance, $0) } }

    /// `utterance` without the runs the phrases cover, or nil when none occurs: what is left says
    /// whether an intent's own keyword is there besides ("ma carte d'identité perdue à la gare").
    func removed(from utterance: [String]) -> [String]? {
        var keep = Array(repeating: true, count: utterance.count)
        var found = false
        for phrase in stems where phrase.count <= utterance.count {
            for start in 0...(utterance.count - phrase.count)
            where utterance[start..<(start + phrase.count)].elementsEqual(phrase) {
                found = true
                for i in start..<(start + phrase.count) { keep[i] = false }
            }
        }
        return found ? utterance.indices.filter { keep[$0] }.map { utterance[$0] } : nil
    }
}
