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
        let callerNumber = try normalizedCaller(caller)
        let start = try clock.now.map { _ in try clock.resolve(timeZone: loaded.config.service.timeZone) }
        let now = makeClock(start: start, timeZone: loaded.config.service.timeZone)
        let store = try database.open(loaded)
        let pseudonymizer = try KeyedPseudonymizer.load(loaded.config.privacy)
        try await store.purgeTranscripts(olderThanDays: loaded.config.privacy.transcriptRetentionDays, now: now())
        let scheduler = Scheduler(config: loaded.config, store: store, pseudonymizer: pseudonymizer)
        var session = CallSession(
            deployment: loaded, understander: Understander(catalog: loaded.intents), ports: scheduler, records: store,
            callID: newCallID(), channel: "chat", callerNumber: callerNumber,
            callerHash: callerNumber.map(pseudonymizer.pseudonym(for:)), clock: now)

        var outputs = await session.handle(.started)
        while true {
            for output in outputs { show(output) }
            if session.isFinished { break }
            if let transfer = outputs.lazy.compactMap({ if case .transfer = $0 { return true } else { return nil } })
                .first, transfer
            {
                outputs = await session.handle(.transferResult(transferOutcome))
                continue
            }
            guard let line = readLine() else {
                outputs = await session.handle(.hangUp)
                continue
            }
            outputs = await session.handle(Self.event(line))
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
        case .event(let event) where CallEvent.reported.contains(event.type) || event.type == "error":
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
