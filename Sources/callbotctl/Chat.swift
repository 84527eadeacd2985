import ArgumentParser
import Assistant
import CallRuntime
import CallbotCore
import Foundation
import Scheduling
import Storage

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to the bot over text: the same dialogue and storage as a phone call.",
        discussion: """
            Each line of standard input is what the caller says; "dtmf 123" presses keys, "silence" is a \
            no-input timeout, "hangup" hangs up. The bot's turns are printed as "bot: …" and the call's \
            notable events as "event: {json}".
            """)

    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var clock: NowOption
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "The caller's number (caller ID), e.g. +33612345678.")
    var caller: String?

    @Option(name: .long, help: "How transfers to an agent end: answered, busy, no_answer or failed.")
    var transfer: String = "answered"

    func run() async throws {
        let loaded = try deployment.load()
        guard let transferOutcome = TransferOutcome(rawValue: transfer) else {
            throw ValidationError("--transfer must be answered, busy, no_answer or failed")
        }
        let start = try clock.now.map { _ in try clock.resolve(timeZone: loaded.config.service.timeZone) }
        let store = try database.open(loaded)
        var session = try await ChatLine(loaded).session(
            store: store, caller: try normalizedCaller(caller), start: start)
        await CallRunner.run(
            &session, on: TerminalChannel(outcome: transferOutcome),
            desk: AgentDesk(capacity: loaded.config.agents.capacity))
    }

    /// A line of input as a call event.
    static func event(_ line: String) -> DialogueEvent {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower == "silence" { return .silence }
        if lower == "hangup" { return .hangUp }
        if lower.hasPrefix("dtmf ") { return .digits(String(trimmed.dropFirst(5)).filter { !$0.isWhitespace }) }
        return trimmed.isEmpty ? .silence : .utterance(trimmed, confidence: 1)
    }
}

/// What every text call of a run shares: the deployment, read once, with its understanding and
/// its knowledge base indexed once.
struct ChatLine {
    let deployment: Deployment
    let understander: Understander
    let assistant: Assistant
    let pseudonymizer: KeyedPseudonymizer

    init(_ deployment: Deployment) throws {
        self.deployment = deployment
        understander = Understander(deployment: deployment)
        assistant = Assistant(deployment: deployment)
        pseudonymizer = try KeyedPseudonymizer.load(deployment.config.privacy)
    }

    /// A call over text, as `chat` and `scenarios` place it: the real dialogue, scheduling and
    /// storage, with the same runner as a phone call.
    func session(store: SQLiteStore, caller: String?, start: LocalDateTime?) async throws -> CallSession {
        let now = makeClock(start: start, timeZone: deployment.config.service.timeZone)
        try await store.purgeTranscripts(olderThanDays: deployment.config.privacy.transcriptRetentionDays, now: now())
        let assistant = self.assistant
        let scheduler = Scheduler(
            config: deployment.config, store: store, pseudonymizer: pseudonymizer,
            assistant: { question in await assistant.reply(to: question) })
        return CallSession(
            deployment: deployment, understander: understander, ports: scheduler, records: store,
            callID: CallRunner.newCallID(), channel: "chat", callerNumber: caller,
            callerHash: caller.map(pseudonymizer.pseudonym(for:)), clock: now)
    }
}

/// The terminal as a call's channel: the bot's turns printed as `bot: …`, its notable events as
/// `event: {json}`, the caller's lines read from standard input (its end hangs up).
struct TerminalChannel: CallChannel {
    /// How transfers to agents end.
    let outcome: TransferOutcome

    func say(_ prompt: Prompt) async -> Bool {
        print("bot: " + prompt.text)
        flushStandardOutput()
        return true
    }

    func listen(_ spec: ListenSpec) async -> DialogueEvent {
        guard let line = readLine() else { return .hangUp }
        return Chat.event(line)
    }

    func finishSpeaking() async -> Bool { true }

    func transfer(_ context: HandoffContext) async -> DialogueEvent { .transferResult(outcome) }

    func hangUp() async {}

    func note(_ event: CallEvent) async {
        guard EventKind.reported.contains(event.kind) || event.kind == .error else { return }
        print("event: " + jsonText(EventReport(event: event)))
        flushStandardOutput()
    }
}
