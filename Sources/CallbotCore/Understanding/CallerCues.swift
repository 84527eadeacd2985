/// Conversational moves that are the same in every deployment, so they live in the core and not
/// in `intents.yaml`: greetings and thanks, asking to hear again, not having what was asked for,
/// "I'll call back", asking whether something is needed. All take normalised tokens.
package enum CallerCues {
    /// Small talk: an utterance that is only politeness or acknowledgement.
    package enum SmallTalk: String, Sendable, Equatable {
        /// "allô", "bonjour", "oui bonjour", "allô oui".
        case hello
        /// "merci", "merci beaucoup".
        case thanks
        /// "d'accord", "ok", "très bien", "entendu".
        case acknowledgement
        /// "je rappellerai", "je vais rappeler plus tard": the caller will call again.
        case willCallAgain
    }

    static let helloWords: Set<String> = [
        "allo", "bonjour", "bonsoir", "salut", "oui", "ici", "madame", "monsieur", "vous", "me", "entendez",
        "mentendez",
        "la", "il", "y", "a", "est", "ce", "que", "ca", "marche", "oh", "ah", "hello",
    ]
    static let thanksWords: Set<String> = [
        "merci", "beaucoup", "bien", "tres", "oui", "ok", "daccord", "parfait", "ah", "oh", "bon", "super", "vraiment",
        "infiniment", "encore", "mille", "fois", "cest", "ce", "est", "gentil", "sympa", "vous", "etes",
    ]
    static let acknowledgementWords: Set<String> = [
        "daccord", "accord", "de", "ok", "okay", "tres", "bien", "entendu", "parfait", "ca", "marche", "compris", "oui",
        "ah", "oh", "bon", "super", "note", "je", "cest", "ce", "est",
    ]
    static let politeness: Set<String> = ["madame", "monsieur", "alors", "bon", "et", "vous", "a", "aussi"]

    /// The small talk `tokens` amount to, or nil when they say anything more.
    package static func smallTalk(_ tokens: [String]) -> SmallTalk? {
        guard !tokens.isEmpty, tokens.count <= 6 else { return willCallAgain(tokens) ? .willCallAgain : nil }
        if willCallAgain(tokens) { return .willCallAgain }
        let words = tokens.filter { !politeness.contains($0) }
        guard !words.isEmpty else { return nil }
        if words.contains(where: { $0 == "allo" || $0 == "bonjour" || $0 == "bonsoir" || $0 == "salut" }),
            words.allSatisfy(helloWords.contains)
        {
            return .hello
        }
        if words.contains("merci"), words.allSatisfy(thanksWords.contains) { return .thanks }
        if words.allSatisfy(acknowledgementWords.contains),
            words.contains(where: { ["daccord", "accord", "ok", "okay", "entendu", "parfait", "compris"].contains($0) })
                || words == ["tres", "bien"] || words == ["ca", "marche"] || words == ["bien", "note"]
        {
            return .acknowledgement
        }
        return nil
    }

    /// "je rappellerai", "je vais rappeler", "je rappelle plus tard": the caller calls again, not us.
    package static func willCallAgain(_ tokens: [String]) -> Bool {
        guard tokens.contains(where: { ["rappel", "retelephon", "repass", "reessa"].contains(where: $0.hasPrefix) }),
            tokens.contains("je") || tokens.contains("on")
        else { return false }
        // "me rappeler", "rappelez-moi", "qu'on me rappelle": a callback request.
        if tokens.contains(where: { ["me", "moi", "nous", "rappelez", "rappeliez"].contains($0) }) { return false }
        if tokens.contains(where: {
            ["rappellerai", "rappelerai", "rappellerais", "rappelerais", "retelephonerai"].contains($0)
        }) {
            return true
        }
        // "je vais rappeler", "je rappelle plus tard"; not "je rappelle pour mon rendez-vous" (calling again now).
        for (i, word) in tokens.enumerated() where word == "vais" || word == "je" {
            let next = tokens.dropFirst(i + 1).prefix(2)
            if tokens.contains("vais"),
                next.contains(where: { ["rappeler", "retelephoner", "repasser", "reessayer"].contains($0) })
            {
                return true
            }
            if next.contains("rappelle"), occurs(laterPhrases, in: tokens) { return true }
        }
        return false
    }

    static let laterPhrases = phrases("plus tard", "demain", "tout a le heure", "un autre jour", "la semaine prochaine")

    static let repeatOnlyWords: Set<String> = [
        "pardon", "comment", "quoi", "hein", "excusez", "moi", "vous", "pouvez", "pourriez", "desole", "desolee",
        "plait", "sil", "il", "s", "redites", "redire", "encore", "que", "avez", "dit", "qu", "est", "ce",
    ]

    /// "pardon ?", "comment ?", "hein ?": a short request to hear the last message again.
    package static func asksToHearAgain(_ tokens: [String]) -> Bool {
        guard !tokens.isEmpty, tokens.count <= 6 else { return false }
        return tokens.contains(where: { ["pardon", "comment", "quoi", "hein", "redites", "redire"].contains($0) })
            && tokens.allSatisfy(repeatOnlyWords.contains)
    }

    /// "je ne l'ai pas", "je ne sais pas", "je l'ai perdu", "aucune idée": the caller lacks what was asked.
    package static func doesNotHave(_ tokens: [String]) -> Bool { occurs(lacking, in: tokens) }

    static let lacking = phrases(
        "ai pas", "ai plus", "sais pas", "sais plus", "connais pas", "trouve pas", "trouve plus", "retrouve pas",
        "retrouve plus", "souviens pas", "souviens plus", "rappelle pas", "rappelle plus", "perdu", "aucune idee",
        "pas de numero", "pas de reference", "pas sous la main", "pas le numero", "ai jamais eu", "pas recu", "na pas",
        "pas note", "oublie")

    /// "laissez tomber", "tant pis", "c'est pas la peine", "je verrai plus tard": the caller gives up
    /// what is in progress.
    package static func givesUp(_ tokens: [String]) -> Bool { occurs(givingUp, in: tokens) }

    static let givingUp = phrases(
        "laissez tomber", "laisse tomber", "tant pis", "pas la peine", "je verrai", "je vais voir", "une autre fois",
        "on verra", "je vais reflechir", "je reflechis")

    /// Whether a clause asks something: a question word or a request verb.
    package static func asks(_ tokens: [String]) -> Bool {
        tokens.contains(where: askingWords.contains) || occurs(askingPhrases, in: tokens)
    }

    static let askingWords: Set<String> = [
        "quoi", "comment", "quand", "ou", "quel", "quelle", "quels", "quelles", "combien", "pourquoi", "faut",
        "voudrais", "voudrait", "veux", "voulais", "souhaite", "souhaiterais", "aimerais", "pouvez", "pourriez", "peux",
        "peut", "dois", "doit", "savoir", "besoin", "renseigner", "renseignement", "info", "infos",
    ]
    static let askingPhrases = phrases("est ce que", "il me faut")

    /// Words that correct what was just said ("euh non pardon", "enfin je veux dire").
    package static func corrects(_ tokens: [String]) -> Bool {
        tokens.contains(where: correctingWords.contains) || occurs(correctingPhrases, in: tokens)
    }

    static let correctingWords: Set<String> = ["pardon", "plutot", "enfin", "correction"]
    static let correctingPhrases = phrases(
        "non non", "je veux dire", "je voulais dire", "je me trompe", "je me suis trompe", "ou plutot")

    /// "c'est bon", "ça ira", "ce sera tout": after "autre chose ?", the caller is done.
    package static func isDone(_ tokens: [String]) -> Bool { occurs(done, in: tokens) }

    static let done = phrases(
        "ce est bon", "cest bon", "ca ira", "ca va aller", "ce est tout", "ce sera tout", "ca sera tout",
        "rien de plus",
        "rien de autre", "rien dautre", "pas besoin", "ce est parfait", "ca me suffit", "ca suffit")

    /// "faut-il un rendez-vous pour…", "est-ce qu'il faut prendre rendez-vous", "c'est sur rendez-vous ?":
    /// a question about a procedure, to be answered before anything is booked.
    package static func asksWhetherNeeded(_ tokens: [String]) -> Bool {
        // "il faut que je prenne rendez-vous", "il me faut un rendez-vous": a request, not a question.
        occurs(needQuestions, in: tokens) && !occurs(needRequests, in: tokens)
    }

    static let needQuestions = phrases(
        "faut il", "faut ile", "il faut", "faut t il", "faut ti", "doit on", "doisje", "dois je", "sur rendez vous",
        "sans rendez vous", "besoin de un rendez vous", "besoin dun rendez vous", "est obligatoire", "est necessaire",
        "obligatoire de", "necessaire de", "obligatoire pour", "necessaire pour")
    static let needRequests = phrases("il faut que je", "il me faut", "je dois prendre", "faut que je")

    /// Phrases written as normalised tokens, separated by spaces.
    package static func phrases(_ texts: String...) -> [[String]] {
        texts.map { $0.split(separator: " ").map(String.init) }
    }

    package static func occurs(_ phrases: [[String]], in tokens: [String]) -> Bool {
        phrases.contains { IntentClassifier.contains(tokens, $0) }
    }

    /// "se déplacer", "me déplacer": travelling, not moving an appointment.
    static func travelling(_ tokens: [String], at index: Int) -> Bool {
        guard tokens[index].hasPrefix("deplac") else { return false }
        // "en déplacement", "un déplacement": a trip, unless it is the appointment's.
        if tokens[index].hasPrefix("deplacement") {
            return !tokens.dropFirst(index + 1).prefix(3).contains { ["rendez", "rdv", "reservation"].contains($0) }
        }
        guard index > 0 else { return false }
        guard ["se", "me", "te", "nous", "vous"].contains(tokens[index - 1]) else { return false }
        // "pouvez-vous déplacer mon rendez-vous": the appointment is what moves.
        return !tokens.dropFirst(index + 1).prefix(3).contains {
            ["rendez", "rdv", "reservation", "le", "la"].contains($0)
        }
    }

    /// `tokens` with "se déplacer" (travelling) made distinct from "déplacer" (an appointment).
    package static func separatingTravel(_ tokens: [String]) -> [String] {
        var out = tokens
        for index in out.indices where travelling(tokens, at: index) { out[index] = "sedeplacer" }
        return out
    }
}
