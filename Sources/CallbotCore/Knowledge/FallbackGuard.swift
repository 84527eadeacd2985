import Foundation

/// What the fallback must not answer, and the check of an answer against its passages. Pure.
package enum FallbackGuard {
    /// Why `question` (normalised tokens) is not for the fallback: `personal` (a case only an
    /// agent can see, another person's situation) or `instructions` (an attempt to steer the bot).
    package static func refusal(for tokens: [String]) -> String? {
        if CallerCues.occurs(instructions, in: tokens) { return "instructions" }
        if CallerCues.occurs(ownCase, in: tokens) { return "personal" }
        // Someone else's details ("où habite monsieur…", "le numéro de ma voisine").
        if CallerCues.occurs(someone, in: tokens), CallerCues.occurs(details, in: tokens) { return "personal" }
        return nil
    }

    static let ownCase = CallerCues.phrases(
        "mon dossier", "ma demande", "mon cas", "ma situation", "ou en est", "ou en sont", "a recu mon",
        "avez vous recu",
        "vous avez recu", "pas eu de reponse", "toujours pas de reponse", "mon courrier", "mon mail", "mon email")
    static let someone = CallerCues.phrases(
        "monsieur", "madame", "mon voisin", "ma voisine", "le maire", "la maire", "mes voisins", "cette personne")
    static let details = CallerCues.phrases(
        "adresse", "numero", "telephone", "habite", "marie", "mariee", "vit", "age", "salaire", "inscrit", "inscrite")

    static let instructions = CallerCues.phrases(
        "ignore tes", "ignore les", "ignore tout", "ignorez vos", "ignorez les", "ignorez tout", "oublie tes",
        "oubliez vos", "tes instructions", "vos instructions", "tes consignes", "vos consignes", "prompt",
        "mode developpeur", "tu es maintenant", "vous etes maintenant", "fais comme si", "faites comme si",
        "joue le role", "jouez le role", "fais semblant", "faites semblant", "revele", "code de la porte",
        "code secret", "mot de passe")

    /// Whether `answer` says only what `passages` say: every number (amounts, hours, dates,
    /// durations), day and month, name (capitalised words, acronyms) and place or document of
    /// the service is in them; no web or mail address is read out; it is short enough for the
    /// phone and in French.
    package static func check(answer: String, passages: [String]) -> AnswerCheck {
        let source = FrenchText.tokens(passages.joined(separator: " "))
        let said = FrenchText.tokens(answer)
        let sourceStems = Set(source.map(FrenchStemmer.stem))
        // Numbers as runs of digits, so that "9h00" is the "9 heures" of a passage.
        let sourceNumbers = Set(source.flatMap(digitRuns))
        var unsupported: [String] = []
        for number in said.flatMap(digitRuns) where number != "00" && !sourceNumbers.contains(number) {
            if !unsupported.contains(number) { unsupported.append(number) }
        }
        var names: [String] = []
        for name in namedTerms(answer) where !sourceStems.contains(FrenchStemmer.stem(name)) && !names.contains(name) {
            names.append(name)
        }
        let words = answer.split(whereSeparator: \.isWhitespace).count
        let french = Self.looksFrench(said)
        let address = answer.range(of: Self.addressPattern, options: [.regularExpression, .caseInsensitive]) != nil
        return AnswerCheck(
            passed: unsupported.isEmpty && names.isEmpty && !address && words <= maxWords && words > 0 && french,
            unsupported: unsupported, unsupportedNames: names, readsAddress: address, words: words, french: french)
    }

    /// What an answer names that must come from its sources (normalised tokens): capitalised
    /// words inside a sentence and acronyms, days, months, and the places and documents of a
    /// public service.
    static func namedTerms(_ answer: String) -> [String] {
        var terms: [String] = []
        var sentenceStart = true
        for raw in answer.split(whereSeparator: { $0.isWhitespace }) {
            // "l'ANTS", "d'Orléans": the name after the elision.
            let unelided = raw.split(whereSeparator: { $0 == "'" || $0 == "’" }).last.map(String.init) ?? ""
            let word = unelided.trimmingCharacters(in: .punctuationCharacters.union(.symbols))
            let closing = raw.trimmingCharacters(in: CharacterSet(charactersIn: "»\"”)]’' "))
            defer { sentenceStart = closing.last.map { ".!?:…".contains($0) } ?? false }
            guard let first = word.first else { continue }
            let tokens = FrenchText.tokens(word)
            let acronym = word.count > 1 && word.allSatisfy { $0.isUppercase || $0.isNumber }
            if (first.isUppercase && !sentenceStart) || acronym {
                terms += tokens.filter { !FallbackGuard.frenchWords.contains($0) }
            } else {
                terms += tokens.filter { calendarWords.contains($0) || servicePlaces.contains(FrenchStemmer.stem($0)) }
            }
        }
        return terms
    }

    /// The runs of digits of a token ("9h30" → 9, 30).
    static func digitRuns(_ token: String) -> [String] {
        token.split(whereSeparator: { !$0.isNumber }).map(String.init)
    }

    /// A web or mail address, as a model would write one.
    static let addressPattern = #"https?:|www\.|@|\b[a-z0-9-]+\.(fr|com|org|net|eu|gouv|info|bzh)\b"#

    static let calendarWords: Set<String> = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier", "fevrier", "mars", "avril",
        "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre",
    ]

    /// Stems of the places and documents an invented answer likes to send callers to.
    static let servicePlaces: Set<String> = Set(
        [
            "prefecture", "sous-prefecture", "tribunal", "commissariat", "gendarmerie", "poste", "caf", "cpam",
            "impots", "consulat", "ambassade", "notaire", "huissier", "avocat", "mediatheque", "bibliotheque",
            "piscine", "gymnase", "stade", "ecole", "college", "lycee", "hopital", "guichet", "annexe", "formulaire",
            "cerfa", "passeport", "permis", "livret", "acte", "attestation", "certificat", "justificatif", "timbre",
            "site", "internet", "application", "telephone", "courriel",
        ].map(FrenchStemmer.stem))

    /// Longer than this, an answer is no phone answer.
    package static let maxWords = 80

    /// French by its function words: at least one in ten words.
    static func looksFrench(_ tokens: [String]) -> Bool {
        guard !tokens.isEmpty else { return false }
        let common = tokens.filter(frenchWords.contains).count
        return common * 10 >= tokens.count
    }

    static let frenchWords: Set<String> = [
        "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "en", "pour", "vous", "il", "elle", "sur", "au",
        "aux", "que", "qui", "dans", "par", "avec", "ne", "pas", "se", "ce", "sont", "votre", "vos", "mairie",
    ]
}

/// The verdict of ``FallbackGuard/check(answer:passages:)``.
package struct AnswerCheck: Sendable, Equatable, Encodable {
    package var passed: Bool
    /// Numbers the answer says that no passage says.
    package var unsupported: [String]
    /// Names, days, months, places or documents the answer says that no passage says.
    package var unsupportedNames: [String] = []
    /// The answer reads out a web or mail address.
    package var readsAddress = false
    package var words: Int
    package var french: Bool
}
