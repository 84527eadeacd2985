import ArgumentParser
import CallbotCore
import Foundation
import Storage

/// `callbotctl questions`: what callers asked that the bot could not place, grouped and counted.
struct Questions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The questions the bot could not place, grouped and counted: material for intents or fiches.",
        discussion: """
            A question is counted when no intent fitted it and nothing answered it: (1) the fallback \
            got it and gave no answer, an assistant.answer event refused for no_source or \
            check_failed, or unavailable, or late (its question); (2) no intent fitted an utterance \
            (intent none) and the bot said it did not understand, a no_match event before the \
            caller's next utterance or keys (its text). Refusals for personal cases or instructions \
            are left out, as are texts without a meaningful word (euh, allô, oui). Texts are the \
            redacted ones the call log keeps; those purged after the transcript retention are gone. \
            Questions group by their meaningful words (case, accents, endings, word order and \
            question words aside); each group shows its most frequent wording. Calls count on the \
            day they started.
            """)

    @OptionGroup var days: DayRange
    @Option(name: .long, help: "How many groups, most asked first.") var limit = 50
    @Flag(name: .long, help: "Print JSON.") var json = false
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        if let first = try days.first, let last = try days.last, first > last {
            throw ValidationError("--from \(first.iso) is after --to \(last.iso)")
        }
    }

    func run() async throws {
        let store = try database.open(try deployment.load())
        let calls = try await store.events(UnplacedQuestions.eventKinds, ofCallsFrom: try days.first, to: try days.last)
        let occurrences = calls.flatMap { UnplacedQuestions.occurrences(callID: $0.callID, events: $0.events) }
        let groups = UnplacedQuestions.groups(occurrences)
        let shown = Array(groups.prefix(limit))
        if json {
            printJSON(
                QuestionsReport(
                    from: try days.first?.iso, to: try days.last?.iso, questions: occurrences.count,
                    groupCount: groups.count, groups: shown.map(QuestionsReport.Group.init)),
                pretty: true)
            return
        }
        guard !shown.isEmpty else {
            print("No unplaced question in these days.")
            return
        }
        print("count  calls  last seen   question")
        for group in shown {
            let reasons = group.reasons.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
            let counts = pad(group.count, 5) + "  " + pad(group.calls, 5)
            print("\(counts)  \(group.lastDay.iso)  \(group.text)  (\(reasons.joined(separator: ", ")))")
        }
        let hidden = groups.count - shown.count
        print(
            "\(occurrences.count) question\(occurrences.count == 1 ? "" : "s") in \(groups.count) group\(groups.count == 1 ? "" : "s")"
                + (hidden > 0 ? "; \(hidden) less frequent groups not shown (--limit)" : ""))
    }

    private func pad(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// `questions --json`: `{"from", "to", "questions", "groups_total", "groups": [{"text", "count", "calls",
/// "last_day", "reasons", "wordings"}]}`; absent days are `null`.
private struct QuestionsReport: Encodable {
    struct Group: Encodable {
        var text: String
        var count: Int
        var calls: Int
        var lastDay: String
        var reasons: [String: Int]
        var wordings: [String]

        enum CodingKeys: String, CodingKey {
            case text, count, calls, reasons, wordings
            case lastDay = "last_day"
        }

        init(_ group: UnplacedQuestions.Group) {
            text = group.text
            count = group.count
            calls = group.calls
            lastDay = group.lastDay.iso
            reasons = Dictionary(uniqueKeysWithValues: group.reasons.map { ($0.key.rawValue, $0.value) })
            wordings = group.wordings
        }
    }

    var from: String?
    var to: String?
    /// Unplaced questions in the days, all groups included.
    var questions: Int
    var groupCount: Int
    var groups: [Group]

    enum CodingKeys: String, CodingKey {
        case from, to, questions, groups
        case groupCount = "groups_total"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(questions, forKey: .questions)
        try container.encode(groupCount, forKey: .groupCount)
        try container.encode(groups, forKey: .groups)
    }
}
