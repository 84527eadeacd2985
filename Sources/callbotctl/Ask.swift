import ArgumentParser
import Assistant
import CallbotCore
import Foundation

struct Ask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the fallback a question no intent fits, as a caller would; or measure it.",
        discussion: """
            The question is redacted as the phone's would be, then answered from config/knowledge/ \
            or refused (no fiche answers it, a personal case, instructions). With --eval FILE, a JSONL \
            file of {"text", "fiche"} lines (fiche "none" when nothing should answer) is measured: \
            recall at 1 and 3 of the fiche, answers given from the right fiche, refusals.
            """)

    @Argument(help: "The question.")
    var question: [String] = []

    @OptionGroup var deployment: DeploymentOptions

    @Option(name: .long, help: "Measure on a labelled JSONL file instead of asking one question.")
    var eval: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        if eval == nil && question.isEmpty { throw ValidationError("give a question, or --eval FILE") }
    }

    func run() throws {
        let loaded = try deployment.load()
        let assistant = Assistant(deployment: loaded)
        if let eval { return try measure(eval, assistant) }
        let outcome = assistant.answer(Redactor.redact(question.joined(separator: " ")))
        let report = AskReport(outcome, unknown: loaded.messages.render("fallback.unknown"))
        if json {
            printJSON(report, pretty: true)
        } else {
            print("\(report.mode): \(report.answer)")
            for source in report.sources { print("  \(source.file) (\(source.score)) \(source.title)") }
        }
    }

    func measure(_ file: String, _ assistant: Assistant) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw Failure("cannot read \(file)") }
        var report = RetrievalReport()
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)),
                let text = object["text"], let fiche = object["fiche"]
            else { throw Failure("\(file):\(number + 1): expected {\"text\": …, \"fiche\": …}") }
            report.add(assistant.answer(Redactor.redact(text)), expected: fiche, text: text)
        }
        if json {
            printJSON(report, pretty: true)
        } else {
            print(report.summary)
        }
    }
}

/// `ask --json`: `{"answer", "mode", "sources", "check"}` (DESIGN.md).
struct AskReport: Encodable {
    var answer: String
    var mode: String
    var sources: [KnowledgeSource]
    var check: Check

    struct Check: Encodable {
        var passed: Bool
        var refusal: String?
        var unsupported: [String]
        var words: Int?
    }

    init(_ outcome: Assistant.Outcome, unknown: String) {
        switch outcome.reply {
        case .answer(let given):
            answer = given.text
            mode = given.mode.rawValue
        case .refused, .unavailable:
            answer = unknown
            mode = "refused"
        }
        sources = outcome.sources
        check = Check(
            passed: outcome.refusal == nil, refusal: outcome.refusal, unsupported: outcome.check?.unsupported ?? [],
            words: outcome.check?.words)
    }
}

/// `ask --eval`: how often the right fiche comes first, or in the first three, and what was answered.
struct RetrievalReport: Encodable {
    var total = 0
    var expectedAnswers = 0
    var atOne = 0
    var atThree = 0
    var answeredRight = 0
    var answeredWrong = 0
    var expectedRefusals = 0
    var refusedRight = 0
    var misses: [String] = []

    enum CodingKeys: String, CodingKey {
        case total, misses
        case recallAt1 = "recall_at_1"
        case recallAt3 = "recall_at_3"
        case answeredRight = "answered_from_the_right_fiche"
        case answeredWrong = "answered_from_a_wrong_fiche"
        case refusedRight = "out_of_knowledge_refused"
    }

    mutating func add(_ outcome: Assistant.Outcome, expected: String, text: String) {
        total += 1
        let files = outcome.sources.map(\.file)
        var answered: String?
        if case .answer(let answer) = outcome.reply { answered = answer.sources.first?.file }
        if expected == "none" {
            expectedRefusals += 1
            if answered == nil { refusedRight += 1 } else { misses.append("none → \(answered!): \(text)") }
            return
        }
        expectedAnswers += 1
        if files.first == expected { atOne += 1 }
        if files.prefix(3).contains(expected) { atThree += 1 }
        if answered == expected {
            answeredRight += 1
        } else {
            if answered != nil { answeredWrong += 1 }
            misses.append("\(expected) → \(answered ?? "refused (\(outcome.refusal ?? ""))"): \(text)")
        }
    }

    func rate(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : (Double(part) / Double(whole) * 1000).rounded() / 1000
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(total, forKey: .total)
        try container.encode(rate(atOne, expectedAnswers), forKey: .recallAt1)
        try container.encode(rate(atThree, expectedAnswers), forKey: .recallAt3)
        try container.encode(rate(answeredRight, expectedAnswers), forKey: .answeredRight)
        try container.encode(answeredWrong, forKey: .answeredWrong)
        try container.encode(rate(refusedRight, expectedRefusals), forKey: .refusedRight)
        try container.encode(misses, forKey: .misses)
    }

    var summary: String {
        ([
            "Fiche retrieval (lexical) on \(total) questions:",
            "  right fiche first: \(atOne) of \(expectedAnswers); in the first three: \(atThree)",
            "  answered from the right fiche: \(answeredRight); from a wrong one: \(answeredWrong)",
            "  questions no fiche answers, refused: \(refusedRight) of \(expectedRefusals)",
        ]
            + misses.map { "  " + $0 }).joined(separator: "\n")
    }
}
