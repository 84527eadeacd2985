// Intent recognition throughput on one thread: `scripts/bench.sh` (release build, pinned to core 0).
import Assistant
import CallbotCore
import Foundation

let arguments = CommandLine.arguments
let configFolder = arguments.count > 1 ? arguments[1] : "config"
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 3 : 3

let deployment: Deployment
do {
    deployment = try Deployment.load(from: configFolder)
} catch {
    FileHandle.standardError.write(Data("callbot-bench: \(error)\n".utf8))
    exit(2)
}
let understander = Understander(deployment: deployment)

// Caller sentences: the held-out test phrases, else the configured examples.
var sentences: [String] = []
if let data = FileManager.default.contents(atPath: "Tests/Fixtures/intents_holdout.jsonl") {
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let text = object["text"]
        {
            sentences.append(text)
        }
    }
}
if sentences.isEmpty { sentences = deployment.intents.intents.flatMap(\.examples) }
let today = LocalDate(year: 2026, month: 11, day: 23)!

/// Runs `body` over `sentences` for about `seconds`; returns sentences per second.
@MainActor func measure(_ name: String, over sentences: [String] = sentences, _ body: (String) async -> Int) async
    -> Double
{
    var count = 0
    var sink = 0
    let clock = ContinuousClock()
    let start = clock.now
    var elapsed = Duration.zero
    while elapsed < .seconds(seconds) {
        for sentence in sentences { sink &+= await body(sentence) }
        count += sentences.count
        elapsed = clock.now - start
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(count) / seconds
    print(
        String(
            format: "%-44@ %10.0f utterances/s  (%.1f µs each, %d sentences, sink %d)", name as NSString, rate,
            1e6 / rate, sentences.count, sink & 1))
    return rate
}

print("callbot-bench: \(sentences.count) sentences, \(deployment.intents.intents.count) intents, one thread")
_ = await measure("intent recognition (normalise + rank)") { understander.rank($0).count }
_ = await measure("full understanding (intent, slots, redaction)") {
    understander.understand($0, today: today).tokens.count
}

// The fallback: the knowledge questions answered (retrieval, guardrails, the excerpt).
var questions: [String] = []
if let data = FileManager.default.contents(atPath: "Tests/Fixtures/knowledge_questions.jsonl") {
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let text = object["text"]
        {
            questions.append(Redactor.redact(text))
        }
    }
}
if !questions.isEmpty {
    let assistant = Assistant(deployment: deployment)
    _ = await measure("fallback answer (\(deployment.knowledge.count) fiches, extractive)", over: questions) {
        await assistant.answer($0).sources.count
    }
}
