import Foundation
import Testing

@testable import CallbotCore

@Suite struct IntentTests {
    let understander = Understander(deployment: demo)

    /// Sentences written apart from the config's examples: accuracy on them is what generalises.
    @Test func heldOutSentences() throws {
        let lines = try text("Tests/Fixtures/intents_holdout.jsonl").split(separator: "\n")
        let cases = try lines.map { line -> (text: String, intent: String) in
            let object = try JSONDecoder().decode([String: String].self, from: Data(line.utf8))
            return (object["text"]!, object["intent"]!)
        }
        let report = IntentEvaluation(cases: cases) { understander.rank($0).first!.intent }
        #expect(cases.count >= 100)
        #expect(report.accuracy >= 0.9, "\(report.summary)")
        #expect(report.noneRecall >= 0.7, "\(report.summary)")
    }

    @Test(arguments: [
        ("bonjour je voudrais connaître les horaires d'ouverture de la mairie", "horaires"),
        ("un rendez-vous pour faire mon passeport", "prendre_rdv"),
        ("je veux annuler le rendez-vous de jeudi", "annuler_rdv"),
        ("rappelez-moi demain", "rappel"),
        ("passez-moi un agent", "conseiller"),
        ("où en est mon dossier de permis", "etat_demande"),
        ("au revoir", "au_revoir"),
    ])
    func recognises(_ sentence: String, _ intent: String) {
        #expect(understander.understand(sentence, today: LocalDate(year: 2026, month: 11, day: 23)!).intent == intent)
    }

    @Test(arguments: ["quelle est la capitale de l'australie", "je voudrais un taxi", "", "euh"])
    func offTopicIsNone(_ sentence: String) {
        #expect(understander.rank(sentence).first!.intent == IntentClassifier.none)
    }

    @Test func confidencesAreRankedAndBounded() {
        let ranked = understander.rank("je voudrais un rendez-vous pour une carte d'identité")
        #expect(ranked.allSatisfy { (0...1).contains($0.confidence) })
        #expect(zip(ranked.dropFirst(), ranked.dropFirst(2)).allSatisfy { $0.confidence >= $1.confidence })
    }
}
