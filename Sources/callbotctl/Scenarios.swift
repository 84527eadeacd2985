import ArgumentParser
import CallRuntime
import CallbotCore
import Foundation
import Storage
import Synchronization

struct Scenarios: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play written dialogues against the bot and check what it says and does.",
        discussion: """
            Each file holds scenarios in the format of Tests/Scenarios/README.md: "== title", optional \
            "now:", "from:" and "transfer:" lines, then caller lines ("caller: …", "dtmf 12", "silence", \
            "hangup") each followed by what is expected ("bot: fragment", "bot not: fragment", \
            "event: type field=value"). Every scenario runs on a scratch database through the same \
            dialogue, scheduling and storage as chat. Exit status 1 when a scenario fails.
            """)

    @OptionGroup var deployment: DeploymentOptions

    @Argument(help: "Scenario files, or folders of .txt files (subfolders included).")
    var paths: [String]

    @Flag(name: .long, help: "Print every bot line and event while playing.")
    var verbose = false

    func run() async throws {
        let loaded = try deployment.load()
        let line = try ChatLine(loaded)
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw Failure("\(path): no such file or folder")
            }
            if isFolder.boolValue {
                // Subfolders too (Tests/Scenarios/blind).
                let names = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
                files += names.filter { $0.hasSuffix(".txt") }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var passed = 0
        var failed = 0
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let scenarios: [Scenario]
            do {
                scenarios = try Scenario.parse(text, file: file)
            } catch {
                throw Failure("\(error)")
            }
            for scenario in scenarios {
                let failures = try await play(scenario, loaded, on: line)
                if failures.isEmpty {
                    passed += 1
                } else {
                    failed += 1
                    print("FAIL \(file):\(scenario.line) \(scenario.title)")
                    for failure in failures { print("  " + failure) }
                }
            }
        }
        print("scenarios: \(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    /// Plays one scenario; returns what did not hold, each with its line.
    func play(_ scenario: Scenario, _ loaded: Deployment, on line: ChatLine) async throws -> [String] {
        let folder = NSTemporaryDirectory() + "callbot-scenario-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SQLiteStore(path: folder + "/callbot.sqlite")
        let desk = AgentDesk(capacity: loaded.config.agents.capacity)
        var failures: [String] = []
        var reference: String?
        for call in scenario.calls {
            var session = try await line.session(store: store, caller: call.caller, start: call.now)
            let script = ScriptChannel(
                steps: call.steps, transfer: call.transfer, reference: reference, verbose: verbose)
            await CallRunner.run(&session, on: script, desk: desk)
            let played = script.finish()
            failures += played.failures
            reference = played.reference
        }
        return failures
    }
}

/// A scenario's call as the conversation's channel: the caller's lines come from the script, and
/// the bot's reply to each is checked against the expectations written under it.
final class ScriptChannel: CallChannel {
    private struct State {
        var steps: ArraySlice<Scenario.Step>
        /// What the bot said and recorded since the caller's last line.
        var reply: [CallSession.Output] = []
        var failures: [String] = []
        /// The reference of the last appointment booked, for `{reference}`.
        var reference: String?

        /// Checks the expectations that follow the last caller line against the reply.
        mutating func checkReply() {
            while let step = steps.first, case .expect(let expectation) = step.kind {
                steps.removeFirst()
                if let failure = expectation.check(reply) { failures.append("line \(step.line): \(failure)") }
            }
            reply = []
        }
    }

    private let state: Mutex<State>
    private let outcome: TransferOutcome
    private let verbose: Bool

    init(steps: [Scenario.Step], transfer: TransferOutcome, reference: String?, verbose: Bool) {
        state = Mutex(State(steps: steps[...], reference: reference))
        outcome = transfer
        self.verbose = verbose
    }

    func say(_ prompt: Prompt) async -> Bool {
        state.withLock { $0.reply.append(.say(prompt)) }
        if verbose { print(Scenario.describe(.say(prompt))) }
        return true
    }

    func listen(_ spec: ListenSpec) async -> DialogueEvent {
        let line: String? = state.withLock { state in
            state.checkReply()
            guard let step = state.steps.first, case .input(let line) = step.kind else { return nil }
            state.steps.removeFirst()
            return line.replacingOccurrences(of: "{reference}", with: state.reference ?? "000000")
        }
        guard let line else { return .hangUp }  // the script is over: the caller hangs up
        if verbose { print("> \(line)") }
        return Chat.event(line)
    }

    func finishSpeaking() async -> Bool { true }

    func transfer(_ context: HandoffContext) async -> DialogueEvent { .transferResult(outcome) }

    func hangUp() async {}

    func note(_ event: CallEvent) async {
        state.withLock { state in
            state.reply.append(.event(event))
            if event.kind == .appointmentBooked, let reference = event.fields["reference"]?.stringValue {
                state.reference = reference
            }
        }
        if verbose, EventKind.reported.contains(event.kind) { print(Scenario.describe(.event(event))) }
    }

    /// After the call: the last reply checked, and the caller lines the call ended before.
    func finish() -> (failures: [String], reference: String?) {
        state.withLock { state in
            state.checkReply()
            for step in state.steps {
                if case .input(let line) = step.kind {
                    state.failures.append("line \(step.line): the call is already over before \"\(line)\"")
                }
            }
            return (state.failures, state.reference)
        }
    }
}

/// A written dialogue: calls made one after another on the same database.
struct Scenario {
    struct Call {
        var now: LocalDateTime?
        var caller: String?
        var transfer: TransferOutcome = .answered
        var steps: [Step] = []
    }

    struct Step {
        enum Kind {
            case input(String)
            case expect(Expectation)
        }
        var kind: Kind
        var line: Int
    }

    enum Expectation {
        case says(String)
        case doesNotSay(String)
        case event(type: String, fields: [(String, String)])

        /// What is wrong with the bot's reply to the last input, or nil.
        func check(_ outputs: [CallSession.Output]) -> String? {
            let said = outputs.compactMap { if case .say(let p) = $0 { p.text } else { nil } }
            switch self {
            case .says(let fragment):
                if said.contains(where: { Scenario.fold($0).contains(Scenario.fold(fragment)) }) { return nil }
                return
                    "expected the bot to say \"\(fragment)\"; it said: \(said.map { "«\($0)»" }.joined(separator: " "))"
            case .doesNotSay(let fragment):
                guard let line = said.first(where: { Scenario.fold($0).contains(Scenario.fold(fragment)) }) else {
                    return nil
                }
                return "the bot said \"\(fragment)\": «\(line)»"
            case .event(let type, let fields):
                let events = outputs.compactMap { if case .event(let e) = $0 { e } else { nil } }
                let matching = events.filter { $0.type == type }
                guard !matching.isEmpty else {
                    return "expected event \(type); got: \(events.map(\.type).joined(separator: ", "))"
                }
                for event in matching {
                    let ok = fields.allSatisfy { name, value in Scenario.value(event.fields[name]) == value }
                    if ok { return nil }
                }
                let shown = matching.map { event in
                    fields.map { "\($0.0)=\(Scenario.value(event.fields[$0.0]) ?? "∅")" }.joined(separator: " ")
                }
                return "event \(type) without \(fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")): \(shown)"
            }
        }
    }

    var title: String
    var line: Int
    var calls: [Call]

    struct ParseError: Error, CustomStringConvertible {
        var file: String
        var line: Int
        var reason: String
        var description: String { "\(file):\(line): \(reason)" }
    }

    static func parse(_ text: String, file: String) throws(ParseError) -> [Scenario] {
        var scenarios: [Scenario] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("==") {
                let title = line.drop { $0 == "=" }.trimmingCharacters(in: .whitespaces)
                scenarios.append(Scenario(title: title, line: number, calls: [Call()]))
                continue
            }
            guard !scenarios.isEmpty else {
                throw ParseError(file: file, line: number, reason: "a scenario starts with \"== title\"")
            }
            var scenario = scenarios.removeLast()
            defer { scenarios.append(scenario) }
            var call = scenario.calls.removeLast()
            defer { scenario.calls.append(call) }
            func value(after prefix: String) -> String? {
                guard line.lowercased().hasPrefix(prefix) else { return nil }
                return line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            }
            if line.hasPrefix("---") {
                guard !call.steps.isEmpty else {
                    throw ParseError(file: file, line: number, reason: "\"---\" starts another call after one")
                }
                scenario.calls.append(call)
                call = Call(now: call.now, caller: call.caller, transfer: call.transfer)
            } else if let now = value(after: "now:") {
                guard let parsed = LocalDateTime(iso: now) else {
                    throw ParseError(
                        file: file, line: number, reason: "now: \"\(now)\" is not like 2026-11-23T10:00:00+01:00")
                }
                call.now = parsed
            } else if let from = value(after: "from:") {
                if from == "none" || from == "anonymous" {
                    call.caller = nil
                } else {
                    guard let number = try? normalizedCaller(from) else {
                        throw ParseError(file: file, line: number, reason: "from: \"\(from)\" is not a French number")
                    }
                    call.caller = number
                }
            } else if let transfer = value(after: "transfer:") {
                guard let outcome = TransferOutcome(rawValue: transfer) else {
                    throw ParseError(
                        file: file, line: number, reason: "transfer: answered, busy, no_answer or failed")
                }
                call.transfer = outcome
            } else if let said = value(after: "caller:") {
                call.steps.append(Step(kind: .input(said), line: number))
            } else if line.lowercased().hasPrefix("dtmf ") || ["silence", "hangup"].contains(line.lowercased()) {
                call.steps.append(Step(kind: .input(line), line: number))
            } else if let fragment = value(after: "bot not:") {
                call.steps.append(Step(kind: .expect(.doesNotSay(fragment)), line: number))
            } else if let fragment = value(after: "bot:") {
                call.steps.append(Step(kind: .expect(.says(fragment)), line: number))
            } else if let event = value(after: "event:") {
                var words = event.split(separator: " ").map(String.init)
                guard !words.isEmpty else { throw ParseError(file: file, line: number, reason: "event: needs a type") }
                let type = words.removeFirst()
                var fields: [(String, String)] = []
                for word in words {
                    let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else {
                        throw ParseError(file: file, line: number, reason: "event fields are name=value: \"\(word)\"")
                    }
                    fields.append((parts[0], parts[1]))
                }
                call.steps.append(Step(kind: .expect(.event(type: type, fields: fields)), line: number))
            } else {
                throw ParseError(
                    file: file, line: number,
                    reason:
                        "unknown line \"\(line)\" (caller:, dtmf N, silence, hangup, bot:, bot not:, event:, now:, from:, transfer:, ---)"
                )
            }
        }
        if let empty = scenarios.first(where: { $0.calls.allSatisfy { $0.steps.isEmpty } }) {
            throw ParseError(file: file, line: empty.line, reason: "scenario \"\(empty.title)\" has no steps")
        }
        return scenarios
    }

    /// Lower case without accents or punctuation differences, for matching fragments.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "fr_FR"))
            .replacingOccurrences(of: "’", with: "'").replacingOccurrences(of: "\u{00A0}", with: " ")
    }

    static func value(_ json: JSONValue?) -> String? {
        switch json {
        case .string(let s)?: s
        case .int(let i)?: String(i)
        case .double(let d)?: String(d)
        case .bool(let b)?: String(b)
        default: nil
        }
    }

    static func describe(_ output: CallSession.Output) -> String {
        switch output {
        case .say(let prompt): "  bot: \(prompt.text)"
        case .event(let event) where EventKind.reported.contains(event.kind):
            "  event: \(event.type) \(event.fields.filter { $0.key != "context" }.map { "\($0.key)=\(value($0.value) ?? "…")" }.sorted().joined(separator: " "))"
        default: ""
        }
    }
}
