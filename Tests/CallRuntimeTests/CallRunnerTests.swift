import CallRuntime
import CallbotCore
import Foundation
import Synchronization
import Testing

/// The per-call runtime without a line: the runner over a scripted channel, the agents' desk,
/// the inbox's turn-taking and the transfer outcome mapping. The dialogue is the real one.
@Suite struct CallRunnerTests {
    static let deployment: Deployment = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        do {
            return try Deployment.load(from: root + "/config")
        } catch {
            fatalError("the demo configuration does not load: \(error)")
        }
    }()

    /// Monday 23 November 2026, 10:00: agents open.
    static let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!

    func session(
        _ records: Records, ports: NoPorts = NoPorts(), deployment: Deployment = Self.deployment,
        callID: String = "c-test", caller: String? = nil
    ) -> CallSession {
        CallSession(
            deployment: deployment, understander: Understander(deployment: deployment), ports: ports,
            records: records, callID: callID, channel: "test", callerNumber: caller, callerHash: nil,
            clock: { Self.monday })
    }

    /// The demo with a short holding delay and a deadline of `deadline` ms.
    static func impatient(deadline: Int) -> Deployment {
        var deployment = Self.deployment
        deployment.config.assistant.holdingAfterMilliseconds = 200
        deployment.config.assistant.deadlineMilliseconds = deadline
        return deployment
    }

    static let question =
        "je voudrais savoir comment on fait pour la concession au cimetière, je suis au 06 12 34 56 78"

    @Test func aSlowAnswerIsPrecededByTheHoldingPhraseAndTheQuestionArrivesRedacted() async {
        let asked = Mutex<[String]>([])
        let ports = NoPorts { question in
            asked.withLock { $0.append(question) }
            try? await Task.sleep(for: .milliseconds(1500))
            return .answer(
                AssistantAnswer(text: "Une concession se demande à l'accueil.", mode: .extractive, sources: []))
        }
        let records = Records()
        var call = session(records, ports: ports, deployment: Self.impatient(deadline: 30_000))
        let channel = Script([Self.question, "hangup"])
        await CallRunner.run(&call, on: channel, desk: AgentDesk(capacity: 1))
        let log = channel.log
        let holding = log.firstIndex(of: "say assistant.holding")
        let answer = log.firstIndex(of: "say assistant.answer")
        #expect(holding != nil && answer != nil && holding! < answer!, "\(log)")
        let question = asked.withLock { $0 }.first ?? ""
        #expect(!question.isEmpty && !question.contains("06") && !question.contains("78"), "\(question)")
        let event = await records.saved.first?.events.first { $0.kind == .assistantAnswer }
        #expect(event?.fields["mode"] == "extractive")
        if case .int(let ms) = event?.fields["ms"] { #expect(ms >= 1500) } else { Issue.record("no latency kept") }
    }

    @Test func anAnswerPastTheDeadlineIsGivenUpAndAnAgentOffered() async {
        // An assistant that ignores cancellation and answers long after the test: the call goes
        // on at the deadline all the same (no timing asserted: the order of events says it).
        let ports = NoPorts { _ in
            await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + 300) { continuation.resume() }
            }
            return .unavailable
        }
        let records = Records()
        var call = session(records, ports: ports, deployment: Self.impatient(deadline: 1000))
        let channel = Script([Self.question, "hangup"])
        await CallRunner.run(&call, on: channel, desk: AgentDesk(capacity: 1))
        let log = channel.log
        #expect(log.contains("say assistant.late") && log.contains("say handoff.offer"), "\(log)")
        let event = await records.saved.first?.events.first { $0.kind == .assistantAnswer }
        #expect(event?.fields["mode"] == "late")
    }

    @Test func theLastWordsAreSpokenBeforeTheLineIsHungUp() async {
        let records = Records()
        var call = session(records)
        let channel = Script(["au revoir", "dtmf 5"])
        await CallRunner.run(&call, on: channel, desk: AgentDesk(capacity: 1))
        let log = channel.log
        #expect(log.suffix(3) == ["say survey.thanks", "say goodbye", "hang up"], "\(log)")
        #expect(await records.saved.first?.surveyScore == 5)
        #expect(await records.saved.first?.outcome == "unresolved")
    }

    @Test func aTransferBeyondTheAgentsCapacityGetsAlternatives() async {
        let desk = AgentDesk(capacity: 1)
        let first = Script(["quels sont vos horaires", "dtmf 0"], holdsTransfer: true)
        let second = Script(["dtmf 0", "hangup"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var call = session(Records(), callID: "c-first", caller: "+33612345678")
                await CallRunner.run(&call, on: first, desk: desk)
            }
            await first.transferStarted()
            // The agents' screens see the waiting hand-off with its context, even those that open later.
            let card = await desk.card("c-first")
            #expect(card?.status == .waiting && card?.caller == "+33612345678")
            #expect(card?.context.intents.contains("horaires") == true && card?.context.answers.count == 1)
            var feed = await desk.feed().makeAsyncIterator()
            #expect(await feed.next()?.callID == "c-first")
            var call = session(Records(), callID: "c-second")
            await CallRunner.run(&call, on: second, desk: desk)
            #expect(second.log.contains("say handoff.busy_wait") && second.log.contains("say handoff.alternatives"))
            #expect(!second.log.contains("transfer"), "\(second.log)")
            #expect(await desk.card("c-second") == nil, "a hand-off agents never got shows no card")
            await first.releaseTransfer()
            let ended = await feed.next()
            #expect(ended?.callID == "c-first" && ended?.status == .answered && ended?.endedAt != nil)
            await desk.closeFeeds()
            #expect(await feed.next() == nil)
        }
        #expect(first.log.contains("transfer"))
        #expect(await desk.inProgress == 0, "the place is given back when the transfer ends")
        #expect(await desk.recent(limit: 10).map(\.callID) == ["c-first"])
    }

    @Test func agentsOnACallAndKeptPlacesFillTheDeskAndMakeTheWait() async {
        let desk = AgentDesk(capacity: 2, handlingMinutes: 5)
        func context(_ id: String) -> HandoffContext {
            HandoffContext(callID: id, reason: "caller_request", intent: nil, intents: [], slots: [:], summary: "")
        }
        #expect(await desk.estimatedWaitMinutes() == 1, "a free agent: no wait to speak of")
        // Two hand-offs answered: both agents are on a call for the handling time.
        for id in ["c-1", "c-2"] {
            #expect(await desk.take(context(id), caller: nil))
            await desk.release(id, .transferResult(.answered))
        }
        #expect(await desk.inProgress == 2)
        #expect(await !desk.take(context("c-3"), caller: nil), "agents on a call are taken")
        #expect(await desk.estimatedWaitMinutes() == 5)
        // Three callers kept their place before this one: two more rounds of handling.
        await desk.setQueued(3)
        #expect(await desk.estimatedWaitMinutes() == 10)
        // A refused transfer frees its place at once; kept places come before new callers.
        let fresh = AgentDesk(capacity: 2, handlingMinutes: 5)
        #expect(await fresh.take(context("c-4"), caller: nil))
        await fresh.release("c-4", .transferResult(.busy))
        await fresh.setQueued(1)
        #expect(await fresh.take(context("c-5"), caller: nil))
        #expect(await !fresh.take(context("c-6"), caller: nil), "the last place is the queued caller's")
        // The dialer reserves that place, and its transfer takes it without asking twice.
        await fresh.setQueued(0)
        #expect(await fresh.reserve())
        #expect(await !fresh.reserve())
        #expect(await fresh.take(context("c-7"), caller: nil, reserved: true))
        #expect(await fresh.inProgress == 2)
        await fresh.release("c-7", .transferResult(.noAnswer))
        #expect(await fresh.inProgress == 1)
    }

    @Test func aCallerWhoHangsUpDuringAPromptEndsTheCall() async {
        let records = Records()
        var call = session(records)
        let channel = Script([], hungUp: true)
        await CallRunner.run(&call, on: channel, desk: AgentDesk(capacity: 1))
        #expect(channel.log == ["say greeting"])
        #expect(await records.saved.first?.outcome == "no_response")
    }

    @Test(arguments: [
        (200, TransferOutcome.answered), (202, .answered), (486, .busy), (603, .busy), (408, .noAnswer),
        (480, .noAnswer), (487, .noAnswer), (503, .failed), (404, .failed),
    ])
    func transferStatusesMapToOutcomes(_ status: Int, _ outcome: TransferOutcome) {
        #expect(TransferOutcome(finalStatus: status) == outcome)
    }
}

/// A channel that plays a written caller: its lines in order, then a hang-up.
final class Script: CallChannel {
    private struct State {
        var lines: [String]
        var log: [String] = []
        var waiting: CheckedContinuation<Void, Never>?
        var started: CheckedContinuation<Void, Never>?
        var inTransfer = false
    }

    private let state: Mutex<State>
    private let holdsTransfer: Bool
    private let hungUp: Bool

    init(_ lines: [String], holdsTransfer: Bool = false, hungUp: Bool = false) {
        state = Mutex(State(lines: lines))
        self.holdsTransfer = holdsTransfer
        self.hungUp = hungUp
    }

    var log: [String] { state.withLock { $0.log } }

    func say(_ prompt: Prompt) async -> Bool {
        state.withLock { $0.log.append("say \(prompt.key)") }
        return !hungUp
    }

    func listen(_ spec: ListenSpec) async -> DialogueEvent {
        let line: String? = state.withLock { $0.lines.isEmpty ? nil : $0.lines.removeFirst() }
        guard let line else { return .hangUp }
        if line == "hangup" { return .hangUp }
        if line.hasPrefix("dtmf ") { return .digits(String(line.dropFirst(5))) }
        return .utterance(line, confidence: 1)
    }

    func finishSpeaking() async -> Bool { !hungUp }

    func transfer(_ context: HandoffContext) async -> DialogueEvent {
        let started = state.withLock { state in
            state.log.append("transfer")
            state.inTransfer = true
            defer { state.started = nil }
            return state.started
        }
        started?.resume()
        if holdsTransfer {
            await withCheckedContinuation { continuation in
                state.withLock { $0.waiting = continuation }
            }
        }
        return .transferResult(.answered)
    }

    func hangUp() async { state.withLock { $0.log.append("hang up") } }

    func note(_ event: CallEvent) async {}

    /// Returns once a transfer is under way.
    func transferStarted() async {
        await withCheckedContinuation { continuation in
            let already = state.withLock {
                if $0.inTransfer { return true }
                $0.started = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }

    func releaseTransfer() async {
        while true {
            let waiting = state.withLock { state in
                defer { state.waiting = nil }
                return state.waiting
            }
            if let waiting {
                waiting.resume()
                return
            }
            await Task.yield()
        }
    }
}

/// Records kept in memory.
actor Records: CallRecordStore {
    var saved: [CallRecord] = []
    func save(_ record: CallRecord, eventsStored: Int) async throws {
        saved.removeAll { $0.id == record.id }
        saved.append(record)
    }
    func records(limit: Int) async throws -> [CallRecord] { saved }
    func record(id: String) async throws -> CallRecord? { saved.first { $0.id == id } }
    func lastRecord() async throws -> CallRecord? { saved.last }
}

/// Ports for calls that book nothing; the assistant is `answer`.
struct NoPorts: CallPorts {
    struct Unused: Error {}
    var answer: @Sendable (String) async -> AssistantReply = { _ in .unavailable }
    func freeSlots(motifID: String, preference: Preference, excluding: [Slot], limit: Int, now: LocalDateTime)
        async throws -> [Slot]
    { [] }
    func book(_ slot: Slot, callerNumber: String?, callID: String, now: LocalDateTime) async throws -> Appointment {
        throw Unused()
    }
    func move(_ appointment: Appointment, to slot: Slot, now: LocalDateTime) async throws -> Appointment {
        throw Unused()
    }
    func appointments(_ lookup: AppointmentLookup) async throws -> [Appointment] { [] }
    func cancel(_ appointment: Appointment, now: LocalDateTime) async throws -> Appointment { throw Unused() }
    func callbackWindows(_ preference: Preference, now: LocalDateTime) async throws -> [CallbackWindow] { [] }
    func scheduleCallback(_ request: CallbackRequest, callID: String, now: LocalDateTime) async throws -> Callback {
        throw Unused()
    }
    func ask(_ question: String) async -> AssistantReply { await answer(question) }
}
