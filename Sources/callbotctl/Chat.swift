import ArgumentParser
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
        var call = try await ChatCall(
            deployment: loaded, store: store, caller: try normalizedCaller(caller), start: start,
            transfer: transferOutcome)
        for output in await call.start() { show(output) }
        while !call.isFinished {
            guard let line = readLine() else {
                for output in await call.send(.hangUp) { show(output) }
                break
            }
            for output in await call.send(Self.event(line)) { show(output) }
        }
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

    func show(_ output: CallSession.Output) {
        switch output {
        case .say(let prompt):
            print("bot: " + prompt.text)
        case .event(let event) where EventKind.reported.contains(event.kind) || event.kind == .error:
            var fields = event.fields
            fields["type"] = .string(event.type)
            fields["at"] = .string(event.at.iso)
            print("event: " + jsonLine(.object(fields)))
        default:
            break
        }
        flushStandardOutput()
    }
}

/// One call over text, as `chat` and `scenarios` run it: the real dialogue, scheduling and
/// storage; transfers end as `transfer` says.
struct ChatCall {
    private var session: CallSession
    private let transfer: TransferOutcome

    init(deployment: Deployment, store: SQLiteStore, caller: String?, start: LocalDateTime?, transfer: TransferOutcome)
        async throws
    {
        let now = makeClock(start: start, timeZone: deployment.config.service.timeZone)
        let pseudonymizer = try KeyedPseudonymizer.load(deployment.config.privacy)
        try await store.purgeTranscripts(olderThanDays: deployment.config.privacy.transcriptRetentionDays, now: now())
        let scheduler = Scheduler(config: deployment.config, store: store, pseudonymizer: pseudonymizer)
        session = CallSession(
            deployment: deployment, understander: Understander(deployment: deployment), ports: scheduler,
            records: store, callID: newCallID(), channel: "chat", callerNumber: caller,
            callerHash: caller.map(pseudonymizer.pseudonym(for:)), clock: now)
        self.transfer = transfer
    }

    var isFinished: Bool { session.isFinished }

    mutating func start() async -> [CallSession.Output] { await send(.started) }

    /// Feeds one event; a transfer is answered at once with the configured outcome.
    mutating func send(_ event: DialogueEvent) async -> [CallSession.Output] {
        var outputs = await session.handle(event)
        var latest = outputs
        while !session.isFinished, latest.contains(where: { if case .transfer = $0 { true } else { false } }) {
            latest = await session.handle(.transferResult(transfer))
            outputs += latest
        }
        return outputs
    }
}
