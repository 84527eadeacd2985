/// The questions the bot could not place, found in call events and grouped: what administrators
/// read to write new intents or knowledge fiches. Pure.
///
/// A question is unplaced when no intent fitted it and nothing answered it:
/// - an `assistant.answer` event (the question went to the fallback because no intent fitted)
///   with `mode` `refused` for `no_source` or `check_failed`, or `mode` `unavailable` or `late`:
///   its `question`;
/// - an `utterance` event with `intent` `none` followed by a `no_match` event before the
///   caller's next utterance or keys (the bot said it did not understand): its `text`.
///
/// Refusals for `personal` cases and `instructions` are the guardrails doing their job, not
/// missing knowledge: they are left out. Both fields are stored redacted; events whose text
/// was purged (transcript retention) have none and are left out, as are texts without a word
/// that carries meaning ("euh", "allô", "oui").
package enum UnplacedQuestions {
    /// Why a question counts as unplaced.
    package enum Reason: String, Sendable, CaseIterable, Comparable {
        /// No intent fitted and the bot said it did not understand.
        case notUnderstood = "not_understood"
        /// The knowledge base had nothing on it.
        case noSource = "no_source"
        /// An answer was found but failed the check against its source.
        case checkFailed = "check_failed"
        /// No assistant is configured, or it did not respond.
        case unavailable
        /// The assistant answered past its deadline.
        case late

        package static func < (lhs: Reason, rhs: Reason) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One unplaced question on one call.
    package struct Occurrence: Sendable, Equatable {
        package var callID: String
        /// As stored: redacted.
        package var text: String
        package var at: LocalDateTime
        package var reason: Reason

        package init(callID: String, text: String, at: LocalDateTime, reason: Reason) {
            self.callID = callID
            self.text = text
            self.at = at
            self.reason = reason
        }
    }

    /// Questions that mean the same, counted.
    package struct Group: Sendable, Equatable {
        /// The most frequent wording (the latest among equally frequent ones).
        package var text: String
        /// How many times it was asked.
        package var count: Int
        /// On how many calls.
        package var calls: Int
        package var lastDay: LocalDate
        package var reasons: [Reason: Int]
        /// Every distinct wording, most frequent first; the first is ``text``.
        package var wordings: [String]
    }

    /// The event kinds ``occurrences(callID:events:)`` reads; a store may give only these.
    package static let eventKinds: Set<EventKind> = [.utterance, .digits, .noMatch, .assistantAnswer]

    /// The unplaced questions of one call, from its events in order.
    package static func occurrences(callID: String, events: [CallEvent]) -> [Occurrence] {
        var found: [Occurrence] = []
        // An utterance no intent fitted, until the caller's next turn: a no_match makes it unplaced.
        var unfitted: CallEvent?
        for event in events {
            switch event.kind {
            case .utterance:
                unfitted = event.fields["intent"]?.stringValue == IntentClassifier.none ? event : nil
            case .digits:
                unfitted = nil
            case .noMatch:
                if let utterance = unfitted, let text = utterance.fields["text"]?.stringValue {
                    found.append(Occurrence(callID: callID, text: text, at: utterance.at, reason: .notUnderstood))
                }
                unfitted = nil
            case .assistantAnswer:
                unfitted = nil
                if let reason = reason(ofAnswer: event.fields), let text = event.fields["question"]?.stringValue {
                    found.append(Occurrence(callID: callID, text: text, at: event.at, reason: reason))
                }
            default:
                break
            }
        }
        return found.filter { !groupKey($0.text).isEmpty }
    }

    /// Why an `assistant.answer` left its question unanswered; nil when it answered or refused on purpose.
    static func reason(ofAnswer fields: [String: JSONValue]) -> Reason? {
        switch fields["mode"]?.stringValue ?? "" {
        case "refused":
            let refusal = fields["reason"]?.stringValue ?? ""
            return refusal == Reason.noSource.rawValue || refusal == Reason.checkFailed.rawValue
                ? Reason(rawValue: refusal) : nil
        case "unavailable": return .unavailable
        case "late": return .late
        default: return nil
        }
    }

    /// Groups questions that share their meaningful words, whatever their order, case, accents,
    /// endings and question words; most asked first (then on most calls, then latest).
    package static func groups(_ occurrences: [Occurrence]) -> [Group] {
        var byKey: [String: [Occurrence]] = [:]
        for occurrence in occurrences { byKey[groupKey(occurrence.text), default: []].append(occurrence) }
        return byKey.values.map(group).sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.calls != b.calls { return a.calls > b.calls }
            if a.lastDay != b.lastDay { return a.lastDay > b.lastDay }
            return a.text < b.text
        }
    }

    private static func group(_ members: [Occurrence]) -> Group {
        var wordings: [String: (count: Int, latest: Int)] = [:]
        var reasons: [Reason: Int] = [:]
        for member in members {
            let phrase = wording(of: member.text)
            let seen = wordings[phrase] ?? (0, .min)
            wordings[phrase] = (seen.count + 1, max(seen.latest, member.at.epochSeconds))
            reasons[member.reason, default: 0] += 1
        }
        let ranked = wordings.sorted { a, b in
            if a.value.count != b.value.count { return a.value.count > b.value.count }
            if a.value.latest != b.value.latest { return a.value.latest > b.value.latest }
            return a.key < b.key
        }.map(\.key)
        return Group(
            text: ranked[0], count: members.count, calls: Set(members.map(\.callID)).count,
            lastDay: members.map(\.at.date).max()!, reasons: reasons, wordings: ranked)
    }

    /// A wording as counted: spaces collapsed, without the final punctuation ("… piscine ?").
    static func wording(of text: String) -> String {
        var words = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while let last = words.last, last == " " || ".,;:!?…".contains(last) { words.removeLast() }
        return words
    }

    /// What questions that mean the same share: their content stems (stop words, numbers and
    /// question words left out), sorted, each once. Empty when no word carries meaning.
    package static func groupKey(_ text: String) -> String {
        let tokens = FrenchText.tokens(text).filter { !questionWords.contains($0) }
        return Set(IntentClassifier.stems(fromTokens: tokens)).sorted().joined(separator: " ")
    }

    /// Words (normalised) that make a sentence a question without saying what it is about.
    static let questionWords: Set<String> = [
        "quel", "quelle", "quels", "quelles", "quoi", "comment", "quand", "ou", "combien", "pourquoi", "est",
        "renseignement", "renseignements", "question", "connaitre", "juste", "excusez", "pardon", "euh", "allo",
    ]
}
