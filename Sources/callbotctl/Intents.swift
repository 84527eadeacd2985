import ArgumentParser
import CallbotCore
import Foundation

struct Intents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try and measure intent recognition.", subcommands: [Test.self, Eval.self])

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
}
