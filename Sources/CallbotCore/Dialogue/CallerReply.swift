/// What the bot asked last, so that a key or a word is read as an answer to it.
package enum Expectation: Sendable, Equatable {
    /// An open request ("Que puis-je faire pour vous ?"): keys select the keypad menu.
    case request
    /// The information topics menu: keys select a topic.
    case topics
    /// Yes (1) or no (2), to confirm something (a recap, a number read back).
    case yesNo
    /// Yes (1) or no (2) to something offered (an appointment, an agent): "ok merci c'est bon"
    /// declines it.
    case offer
    /// "Autre chose ?": yes (1), no (2), or a new request.
    case anythingElse
    /// Options 1…count; with `more`, 3 asks for others.
    case options(count: Int, more: Bool)
    /// A number of `count` digits (a reference).
    case digits(count: Int)
    /// A phone number.
    case phone
    /// A satisfaction score, 1 to 5.
    case score

    /// Keys to collect before the turn ends.
    var maxDigits: Int {
        switch self {
        case .digits(let count): count
        case .phone: 10
        default: 1
        }
    }
}

/// An intent the caller asked for, by voice or by the keypad menu.
package struct IntentRequest: Sendable {
    package var name: String
    /// What was understood, when it was said rather than typed.
    package var understanding: Understanding?

    package var isNone: Bool { name == IntentClassifier.none }
    package var preference: Preference { understanding.map { Preference($0.slots) } ?? Preference() }
}

/// One caller turn, whatever the channel: speech and keys are read into the same reply, so each
/// step of the dialogue has one transition per answer and the keypad never falls behind speech.
package enum CallerReply: Sendable {
    case yes
    case no
    /// An option by its rank ("le deuxième", key 2) or a score.
    case option(Int)
    /// Other options than the ones offered ("un autre créneau", key 3).
    case more
    case digits(String)
    case phone(String)
    /// A day, a time or a part of the day.
    case when(Preference)
    case request(IntentRequest)
    /// The information topics menu (its key).
    case topicsMenu
    /// "Répétez", "pardon ?", key 9.
    case repeatLast
    /// A person: "un conseiller", key 0.
    case agent
    /// The caller does not have what was asked ("je ne l'ai pas").
    case dontHave
    /// The caller gives up what is in progress ("laissez tomber", "tant pis").
    case stop
    case smallTalk(CallerCues.SmallTalk)
    /// Nothing that answers.
    case unclear
}

/// Reads speech and keys as ``CallerReply``s, given what was asked.
package struct ReplyReader: Sendable {
    let catalog: IntentCatalog

    package init(catalog: IntentCatalog) { self.catalog = catalog }

    /// What the caller's words answer to `expectation`.
    package func read(_ u: Understanding, expecting expectation: Expectation) -> CallerReply {
        guard !u.tokens.isEmpty else { return .unclear }
        let action = catalog.intent(named: u.intent)?.action
        let request = IntentRequest(name: u.intent, understanding: u)
        let preference = Preference(u.slots)
        let keywordRequest = u.intent != IntentClassifier.none && u.confidence >= 0.5
        if action == .handoff && catalog.intent(named: u.intent)?.answer == nil { return .agent }
        // "oui pardon", "non pardon": an answer with an apology; "oui, répétez" asks to hear again.
        let shortAnswer = u.slots.yesNo != nil && u.tokens.count <= 2
        let repeatWords =
            catalog.intents.first { $0.action == .repeat }.map {
                Understander.mentions(u.tokens, anyOf: $0.keywords)
            } ?? false
        if repeatWords || (!shortAnswer && (action == .repeat || CallerCues.asksToHearAgain(u.tokens))) {
            return .repeatLast
        }
        if CallerCues.willCallAgain(u.tokens) { return .smallTalk(.willCallAgain) }
        if CallerCues.givesUp(u.tokens) { return .stop }
        if action == .goodbye, keywordRequest, expectation == .anythingElse || expectation == .request {
            return .request(request)
        }
        switch expectation {
        case .digits(let count):
            if let digits = Self.digitRun(u.tokens, count: count) { return .digits(digits) }
            if CallerCues.doesNotHave(u.tokens) { return .dontHave }
            if let digits = u.slots.digits { return .digits(digits) }
            if u.slots.yesNo == false, u.tokens.count <= 3 { return .dontHave }
        case .phone:
            if let phone = u.slots.phone { return .phone(phone) }
            if let digits = u.slots.digits { return .digits(digits) }
            if CallerCues.doesNotHave(u.tokens) { return .dontHave }
            if let yes = u.slots.yesNo, u.tokens.count <= 3 { return yes ? .yes : .no }
        case .score:
            if let score = u.slots.digits.flatMap({ Int($0) }) ?? u.slots.choice, (1...5).contains(score) {
                return .option(score)
            }
        case .options(let count, let more):
            if let choice = u.slots.choice, choice == -1 || (1...count).contains(choice), u.slots.time == nil {
                return .option(choice == -1 ? count : choice)
            }
            if !preference.isEmpty { return .when(preference) }
            if more && Understander.mentions(u.tokens, anyOf: Self.otherOptions) { return .more }
            if let yes = u.slots.yesNo, !keywordRequest || u.tokens.count <= 3 { return yes ? .yes : .no }
        case .yesNo, .offer:
            if phoneOrWhen(u, preference) { return u.slots.phone.map(CallerReply.phone) ?? .when(preference) }
            // "ok merci c'est bon" to an offer: no need. ("Oui c'est bon merci" is still a yes; to
            // a recap, "c'est parfait, merci" confirms.)
            if expectation == .offer, CallerCues.isDone(u.tokens), u.tokens.contains("merci"),
                !["oui", "ouais"].contains(u.tokens.first ?? "")
            {
                return .no
            }
            if let yes = answer(u, keywordRequest: keywordRequest && action != .goodbye, openingWins: true) {
                return yes ? .yes : .no
            }
        case .anythingElse:
            // "ok merci c'est bon", "non c'est bon merci": done; "parfait merci": thanks, not a yes.
            if CallerCues.isDone(u.tokens), u.tokens.count <= 6, !keywordRequest || action == .goodbye { return .no }
            if let talk = CallerCues.smallTalk(u.tokens), talk == .thanks { return .smallTalk(talk) }
            // "oui, je voudrais aussi un rendez-vous": the request is the answer.
            if let yes = answer(u, keywordRequest: keywordRequest && action != .goodbye, openingWins: false) {
                return yes ? .yes : .no
            }
        case .topics:
            if u.slots.yesNo == false, u.tokens.count <= 3, !keywordRequest { return .stop }
        case .request:
            break
        }
        if let talk = CallerCues.smallTalk(u.tokens) { return .smallTalk(talk) }
        if keywordRequest || (u.intent != IntentClassifier.none && expectation == .request) { return .request(request) }
        if expectation == .request || expectation == .anythingElse || expectation == .topics {
            if let yes = u.slots.yesNo, u.tokens.count <= 2 { return yes ? .yes : .no }
            return .request(request)
        }
        if !preference.isEmpty { return .when(preference) }
        if let yes = u.slots.yesNo { return yes ? .yes : .no }
        return .unclear
    }

    /// A number of `count` digits said within a sentence ("alors c'est le 4 8 2 7 1 5").
    static func digitRun(_ tokens: [String], count: Int) -> String? {
        var run = ""
        for token in tokens + [""] {
            if !token.isEmpty, token.allSatisfy(\.isNumber) {
                run += token
            } else {
                if run.count == count { return run }
                run = ""
            }
        }
        return nil
    }

    /// A recap or a read-back answered with another day or number ("non, plutôt jeudi").
    private func phoneOrWhen(_ u: Understanding, _ preference: Preference) -> Bool {
        // "oui mais plutôt à 11 heures" is another time, not a yes.
        guard u.slots.yesNo != true || u.tokens.contains(where: { $0 == "mais" || $0 == "plutot" }) else {
            return false
        }
        return u.slots.phone != nil || !preference.isEmpty
    }

    /// The yes or no of an answer to a yes/no question: a short one, one that asks for nothing
    /// else, or with `openingWins` one that starts with it ("oui je confirme le rendez-vous").
    /// "Je voudrais savoir si vous faites…" is a request, whatever its "si".
    private func answer(_ u: Understanding, keywordRequest: Bool, openingWins: Bool) -> Bool? {
        guard let yes = u.slots.yesNo else { return nil }
        if u.tokens.count <= 3 { return yes }
        if u.tokens.prefix(openingWins ? 2 : 1).contains(where: SlotExtractor.yesNoWords.contains) {
            // "non c'est bon merci" answers; "oui, et aussi un rendez-vous" asks (unless the yes wins).
            if openingWins || !keywordRequest { return yes }
        }
        return keywordRequest ? nil : yes
    }

    /// Words that ask for other options than the ones offered.
    static let otherOptions = ["autre", "autres", "d'autres", "suivant", "suivants", "plus tard", "aucun", "ni l'un"]

    /// What keys typed answer to `expectation`.
    package func read(keys: String, expecting expectation: Expectation) -> CallerReply {
        let keys = keys.filter { $0 != "#" }
        guard !keys.isEmpty else { return .unclear }
        if let item = catalog.intent(forKeypad: keys) {
            if item.action == .handoff && item.answer == nil { return .agent }
            if item.action == .repeat, expectation.maxDigits == 1 || keys.count == 1 { return .repeatLast }
        }
        switch expectation {
        case .request:
            if let topics = catalog.topicsKeypad, topics.digit == keys { return .topicsMenu }
            if let intent = catalog.intent(forKeypad: keys) { return .request(IntentRequest(name: intent.name)) }
        case .topics:
            if let item = catalog.topics.first(where: { $0.digit == keys }), case .intent(let name) = item.target {
                return .request(IntentRequest(name: name))
            }
            if keys == "*" { return .stop }
        case .yesNo, .offer, .anythingElse:
            if keys == "1" { return .yes }
            if keys == "2" { return .no }
        case .options(let count, let more):
            if let n = Int(keys), (1...count).contains(n) { return .option(n) }
            if more, keys == "3" { return .more }
            if more, keys == "*" { return .stop }
        case .digits:
            if keys.allSatisfy(\.isNumber) { return .digits(keys) }
        case .phone:
            let digits = Array(keys.filter(\.isNumber))
            if let phone = SlotExtractor.frenchNumber(in: digits) { return .phone(phone) }
            return .digits(String(digits))
        case .score:
            if let n = Int(keys), (1...5).contains(n) { return .option(n) }
        }
        return .unclear
    }
}
