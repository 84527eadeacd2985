import ArgumentParser
import CallbotCore
import Foundation

struct Intents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try and measure intent recognition; import intents from Rasa.",
        subcommands: [Test.self, Eval.self, ImportRasa.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rank the intents for sentences given as arguments or on standard input, one per line.")

        @Argument(help: "Sentences; standard input when none.")
        var sentences: [String] = []

        @OptionGroup var deployment: DeploymentOptions

        func run() throws {
            let understander = Understander(deployment: try deployment.load())
            let lines = sentences.isEmpty ? Array(AnyIterator { readLine() }) : sentences
            for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let ranked = understander.rank(line).prefix(3)
                print(
                    line + "\t" + ranked.map { "\($0.intent) \(rounded($0.confidence, 100))" }.joined(separator: "\t"))
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure accuracy on a labelled JSONL file of {\"text\", \"intent\"} lines.")

        @Argument(help: "A JSONL file.")
        var file: String

        @OptionGroup var deployment: DeploymentOptions

        @Flag(name: .long, help: "Print one JSON object.")
        var json = false

        func run() throws {
            let loaded = try deployment.load()
            let catalog = loaded.intents
            let understander = Understander(deployment: loaded)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw Failure("cannot read \(file)")
            }
            var cases: [(text: String, intent: String)] = []
            for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)),
                    let text = object["text"], let intent = object["intent"]
                else { throw Failure("\(file):\(number + 1): expected {\"text\": …, \"intent\": …}") }
                cases.append((text, intent))
            }
            let known = Set(catalog.intents.map(\.name)).union([IntentClassifier.none])
            for label in Set(cases.map(\.intent)).subtracting(known).sorted() {
                let count = cases.filter { $0.intent == label }.count
                FileHandle.standardError.write(
                    Data(
                        "warning: \(file): \"\(label)\" (\(count) sentences) is not an intent of \(deployment.config)/intents.yaml; they can never be right\n"
                            .utf8))
            }
            let report = IntentEvaluation(cases: cases) { understander.rank($0).first?.intent ?? "none" }
            if json {
                printJSON(report, pretty: true)
            } else {
                print(report.summary)
            }
        }
    }

    /// `intents import-rasa`: a Rasa NLU file as intents to paste into `intents.yaml`.
    struct ImportRasa: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-rasa",
            abstract: "Convert a Rasa NLU training file (YAML) into intents to paste into intents.yaml.",
            discussion: """
                Each Rasa intent becomes an intent of the same name (lower case, other characters as _) \
                with its examples, entity markup such as [Paris](city) kept as plain text and duplicates \
                merged, and the action answer: its answer names a message answer.NAME to write in \
                prompts/messages.fr.yaml. Synonyms, regexes, lookup tables, responses, stories and rules \
                have no equivalent; they are listed on standard error, with the intents the deployment \
                already has (their examples are left as comments). Nothing of the deployment is changed.
                """)

        @Argument(help: "The Rasa NLU file (nlu.yml).")
        var file: String

        @Option(name: .long, help: "Write the output to this file instead of standard output.")
        var output: String?

        @Flag(name: .long, help: "Print one JSON object {\"intents\", \"skipped\"} instead of the YAML.")
        var json = false

        @OptionGroup var deployment: DeploymentOptions

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw Failure("cannot read \(file)") }
            guard let text = String(data: data, encoding: .utf8) else { throw Failure("\(file) is not UTF-8 text") }
            let intentsFile = (deployment.config as NSString).appendingPathComponent("intents.yaml")
            if let output, (output as NSString).standardizingPath == (intentsFile as NSString).standardizingPath {
                throw Failure("--output \(output) is the deployment's intents.yaml: write elsewhere and paste")
            }
            var existing: Set<String> = []
            do {
                existing = Set(try Deployment.load(from: deployment.config).intents.intents.map(\.name))
            } catch {
                printError("warning: \(error); intents the deployment already has are not checked")
            }
            let result: RasaImport.Result
            do {
                result = try RasaImport.convert(text, existing: existing, file: file)
            } catch {
                throw Failure("\(error)")
            }
            let out = json ? jsonText(RasaImportReport(result), pretty: true) + "\n" : result.yaml
            if let output {
                do {
                    try out.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw Failure("cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                print(out, terminator: "")
            }
            printError(result.summary)
        }
    }
}

/// `intents import-rasa --json`: `{"intents": [{"name", "examples"}], "skipped": [{"what", "reason"}]}`.
private struct RasaImportReport: Encodable {
    struct Intent: Encodable {
        var name: String
        var examples: [String]
    }

    struct Skipped: Encodable {
        var what: String
        var reason: String
    }

    var intents: [Intent]
    var skipped: [Skipped]

    init(_ result: RasaImport.Result) {
        intents = result.intents.map { Intent(name: $0.name, examples: $0.examples) }
        skipped = result.skipped.map { Skipped(what: $0.what, reason: $0.reason) }
    }
}
