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
    /// durations) is in them; it is short enough for the phone and in French.
    package static func check(answer: String, passages: [String]) -> AnswerCheck {
        let source = FrenchText.tokens(passages.joined(separator: " "))
        let said = FrenchText.tokens(answer)
        let numbers = Set(source.filter { $0.first?.isNumber == true })
        let unsupported = said.filter { $0.first?.isNumber == true && !numbers.contains($0) }
        let words = answer.split(whereSeparator: \.isWhitespace).count
        let french = Self.looksFrench(said)
        return AnswerCheck(
            passed: unsupported.isEmpty && words <= maxWords && words > 0 && french, unsupported: unsupported,
            words: words, french: french)
    }

    /// Longer than this, an answer is no phone answer.
    static let maxWords = 80

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
    package var words: Int
    package var french: Bool
}
