import ArgumentParser
import CallbotCore
import Foundation
import Storage

struct AssistantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assistant", abstract: "What the fallback answered on calls.", subcommands: [Review.self])

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The fallback's questions grouped, most frequent first, with what was answered.",
            discussion: """
                A question asked often is a candidate for an intent (config/intents.yaml) or a fiche \
                (config/knowledge/); one refused often shows a gap. Questions are stored redacted and \
                erased with the transcripts after the retention days.
                """)

        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "Calls from this day (YYYY-MM-DD).")
        var since: String?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let first = try since.map(DayRange.parse)
            let store = try database.open(try deployment.load())
            var groups: [String: ReviewGroup] = [:]
            for record in try await store.records(limit: 100_000)
            where first.map({ record.startedAt.date >= $0 }) ?? true {
                for event in record.events where event.kind == .assistantAnswer {
                    let question = event.fields["question"]?.stringValue ?? ""
                    let key = FrenchText.normalize(question)
                    var group = groups[key] ?? ReviewGroup(question: question)
                    group.add(event)
                    groups[key] = group
                }
            }
            let sorted = groups.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.question < $1.question }
            if json { return printJSON(sorted, pretty: true) }
            if sorted.isEmpty { print("no fallback question on record") }
            for group in sorted {
                let modes = group.modes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                    separator: ", ")
                print("\(group.count)× «\(group.question.isEmpty ? "(erased)" : group.question)» — \(modes)")
                if !group.sources.isEmpty { print("   from: \(group.sources.sorted().joined(separator: ", "))") }
                if group.generationRejected > 0 {
                    print("   generated answers not said (failed check or model error): \(group.generationRejected)")
                }
            }
        }
    }
}

/// One question as asked on several calls, and what the fallback made of it.
struct ReviewGroup: Encodable {
    var question: String
    var count = 0
    var modes: [String: Int] = [:]
    var sources: Set<String> = []
    var lastAnswer: String?
    /// Generated answers that failed their check (or the model failed) and were replaced by the quote.
    var generationRejected = 0
    /// The longest wait for the fallback, question to reply.
    var maxMilliseconds = 0

    enum CodingKeys: String, CodingKey {
        case question, count, modes, sources
        case lastAnswer = "last_answer"
        case generationRejected = "generation_rejected"
        case maxMilliseconds = "max_ms"
    }

    mutating func add(_ event: CallEvent) {
        count += 1
        modes[event.fields["mode"]?.stringValue ?? "unknown", default: 0] += 1
        if event.fields["generation_rejected"] != nil { generationRejected += 1 }
        if case .int(let ms)? = event.fields["ms"] { maxMilliseconds = max(maxMilliseconds, ms) }
        if case .array(let files)? = event.fields["sources"] { sources.formUnion(files.compactMap(\.stringValue)) }
        if let answer = event.fields["answer"]?.stringValue { lastAnswer = answer }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(question, forKey: .question)
        try container.encode(count, forKey: .count)
        try container.encode(modes, forKey: .modes)
        try container.encode(sources.sorted(), forKey: .sources)
        try container.encode(generationRejected, forKey: .generationRejected)
        try container.encode(maxMilliseconds, forKey: .maxMilliseconds)
        try container.encode(lastAnswer, forKey: .lastAnswer)
    }
}
