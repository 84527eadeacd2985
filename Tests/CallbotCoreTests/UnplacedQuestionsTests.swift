import Testing

@testable import CallbotCore

/// `callbotctl questions`: which events make a question unplaced, and how questions group.
@Suite struct UnplacedQuestionsTests {
    let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!

    func day(_ offset: Int) -> LocalDateTime { monday.adding(minutes: offset * 1440) }

    func utterance(_ text: String, intent: String, at: LocalDateTime? = nil) -> CallEvent {
        CallEvent(
            kind: .utterance, at: at ?? monday,
            fields: [
                "text": .string(text), "confidence": .double(0.9), "intent": .string(intent),
                "intent_confidence": .double(0.3),
            ])
    }

    func answer(_ question: String, mode: String, reason: String? = nil, at: LocalDateTime? = nil) -> CallEvent {
        var fields: [String: JSONValue] = ["question": .string(question), "mode": .string(mode), "ms": 40]
        if let reason { fields["reason"] = .string(reason) }
        return CallEvent(kind: .assistantAnswer, at: at ?? monday, fields: fields)
    }

    let noMatch = CallEvent(kind: .noMatch, at: LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!)

    @Test func onlyQuestionsNothingPlacedNorAnsweredCount() {
        let events = [
            // No intent, and the knowledge base had nothing.
            utterance("horaires de la piscine", intent: "none"),
            answer("horaires de la piscine", mode: "refused", reason: "no_source"),
            // An intent was recognised: placed, even if the step did not take it.
            utterance("je veux un passeport", intent: "passeport"), noMatch,
            // No intent and not understood.
            utterance("le truc du machin", intent: "none"), noMatch,
            // Guardrails refusing on purpose, and an answer given: not unplaced.
            utterance("quel est le code de la porte", intent: "none"),
            answer("quel est le code de la porte", mode: "refused", reason: "instructions"),
            answer("où en est mon dossier", mode: "refused", reason: "personal"),
            answer("tarif de la cantine", mode: "extractive"),
            // Nothing meaningful said.
            utterance("euh", intent: "none"), noMatch,
            // Keys came between the words and the no_match: the keys were not understood.
            utterance("location du gymnase", intent: "none"), CallEvent(kind: .digits, at: monday), noMatch,
            // No assistant, or too slow.
            answer("stationnement résidentiel", mode: "unavailable"),
            answer("stationnement résidentiel", mode: "late"),
            answer("certificat de vie", mode: "refused", reason: "check_failed"),
        ]
        let found = UnplacedQuestions.occurrences(callID: "c1", events: events)
        #expect(found.map(\.reason) == [.noSource, .notUnderstood, .unavailable, .late, .checkFailed])
        #expect(
            found.map(\.text) == [
                "horaires de la piscine", "le truc du machin", "stationnement résidentiel",
                "stationnement résidentiel", "certificat de vie",
            ])
        #expect(found.allSatisfy { $0.callID == "c1" })
    }

    @Test func variantsGroupAndTheMostAskedComeFirst() throws {
        func asked(_ text: String, call: String, on offset: Int) -> UnplacedQuestions.Occurrence {
            .init(callID: call, text: text, at: day(offset), reason: .noSource)
        }
        let occurrences = [
            asked("où se garer pour le marché", call: "c4", on: 1),
            asked("Quels sont les horaires de la piscine ?", call: "c1", on: 0),
            asked("tarifs de la cantine", call: "c5", on: 0),
            asked("horaires de la  piscine", call: "c2", on: 1),
            asked("Tarifs de la cantine ?", call: "c6", on: 3),
            asked("horaires de la piscine ?", call: "c3", on: 2),
            asked("c'est quoi les horaires de la piscine", call: "c3", on: 2),
        ]
        let groups = UnplacedQuestions.groups(occurrences)
        #expect(groups.map(\.count) == [4, 2, 1])
        let piscine = try #require(groups.first)
        // Case, spacing, final punctuation, question words and word endings aside, it is one question.
        #expect(piscine.text == "horaires de la piscine")
        #expect(piscine.calls == 3)
        #expect(piscine.lastDay == day(2).date)
        #expect(piscine.reasons == [.noSource: 4])
        #expect(piscine.wordings.count == 3 && piscine.wordings.first == piscine.text)
        let cantine = groups[1]
        #expect(cantine.calls == 2 && cantine.lastDay == day(3).date)
        // Equally frequent wordings: the latest one shows.
        #expect(cantine.text == "Tarifs de la cantine")
        #expect(groups[2].text == "où se garer pour le marché")
    }

    @Test(arguments: [
        ("Quels sont les horaires de la piscine ?", "c'est quoi les horaires de la piscine"),
        ("horaires piscine", "piscine : les horaires ?"),
        ("le tarif de la cantine", "les tarifs de la cantine"),
    ])
    func nearIdenticalQuestionsShareTheirKey(_ one: String, _ other: String) {
        #expect(UnplacedQuestions.groupKey(one) == UnplacedQuestions.groupKey(other))
        #expect(!UnplacedQuestions.groupKey(one).isEmpty)
    }

    @Test func differentSubjectsDoNotGroup() {
        let hours = UnplacedQuestions.groupKey("horaires de la piscine")
        #expect(hours != UnplacedQuestions.groupKey("tarifs de la piscine"))
    }

    /// The texts are the redacted ones the engine records (an utterance's `text`, the fallback's
    /// `question`), never what the caller said.
    @Test func textsAreTheRedactedOnes() throws {
        let understander = Understander(deployment: demo)
        let said = "je suis Paul Martin, quelle est la capitale de l'australie"
        try #require(understander.understand(said, today: monday.date).intent == IntentClassifier.none)
        var engine = DialogueEngine(
            deployment: demo, understander: understander, callID: "c-redacted", callerNumber: "+33611223344")
        var actions = engine.handle(.started, now: monday)
        actions += engine.handle(.utterance(said, confidence: 0.9), now: monday)
        actions += engine.handle(.assistantReplied(.refused(reason: "no_source"), milliseconds: 40), now: monday)
        let events = actions.compactMap { action -> CallEvent? in
            if case .record(let event) = action { return event }
            return nil
        }
        let redacted = try #require(events.first { $0.kind == .utterance }?.fields["text"]?.stringValue)
        #expect(!redacted.contains("Martin"))
        let found = UnplacedQuestions.occurrences(callID: "c-redacted", events: events)
        #expect(found.map(\.reason) == [.noSource])
        #expect(found.map(\.text) == [redacted])
        let groups = UnplacedQuestions.groups(found)
        #expect(groups.map(\.text) == [redacted])
        #expect(!groups.flatMap(\.wordings).contains { $0.contains("Martin") || $0.contains("+33") })
    }
}
