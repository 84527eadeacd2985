/// One call: the dialogue engine with its requests carried out through the ports, and the
/// call record kept and saved when the call ends. SIP calls, the local line and
/// `callbotctl chat` all run calls through this.
package struct CallSession: Sendable {
    /// What the channel must do: speak, listen, transfer, hang up; `event` is for display.
    package enum Output: Sendable, Equatable {
        case say(Prompt)
        case listen(ListenSpec)
        case transfer(HandoffContext)
        case hangUp
        /// A notable event, already in the record.
        case event(CallEvent)
    }

    private var engine: DialogueEngine
    private let ports: any CallPorts
    private let records: any CallRecordStore
    private let clock: @Sendable () -> LocalDateTime
    /// The caller ID (E.164) when there is one.
    package let callerNumber: String?
    private let assistantTiming: (holding: Duration, deadline: Duration)
    /// When the caller asked for the agent being reached: the wait is kept with the transfer's result.
    private var handoffRequestedAt: ContinuousClock.Instant?
    /// Events of the record already in the store.
    private var eventsStored = 0
    private var rowStored = false
    package private(set) var record: CallRecord

    package init(
        deployment: Deployment, understander: Understander, ports: any CallPorts, records: any CallRecordStore,
        callID: String, channel: String, callerNumber: String?, callerHash: String?,
        clock: @escaping @Sendable () -> LocalDateTime
    ) {
        engine = DialogueEngine(
            deployment: deployment, understander: understander, callID: callID, callerNumber: callerNumber)
        self.ports = ports
        self.records = records
        self.clock = clock
        self.callerNumber = callerNumber
        let assistant = deployment.config.assistant
        assistantTiming = (
            .milliseconds(assistant.holdingAfterMilliseconds), .milliseconds(assistant.deadlineMilliseconds)
        )
        record = CallRecord(id: callID, channel: channel, startedAt: clock(), callerHash: callerHash)
    }

    /// Whether the bot is done with the call.
    package var isFinished: Bool { engine.isFinished }

    /// Feeds one event and carries out every request it leads to; returns what the channel must do.
    /// `sayMeanwhile` speaks at once what cannot wait for the outputs: the holding phrase of a
    /// slow answer.
    package mutating func handle(
        _ event: DialogueEvent, sayMeanwhile: @escaping @Sendable (Prompt) async -> Void = { _ in }
    ) async -> [Output] {
        var pending: [DialogueEvent] = [event]
        var outputs: [Output] = []
        while !pending.isEmpty {
            let next = pending.removeFirst()
            let now = clock()
            for action in engine.handle(next, now: now) {
                if let result = await perform(action, now: now, outputs: &outputs, sayMeanwhile: sayMeanwhile) {
                    pending.append(result)
                }
            }
        }
        await store(&outputs)
        return outputs
    }

    /// Writes what the record gained since the last time: the call exists in the store from its
    /// first event on, and a crash loses at most the last turn.
    private mutating func store(_ outputs: inout [Output]) async {
        guard !rowStored || record.events.count > eventsStored else { return }
        // The last write (the call's outcome) gets a second chance: without it the call would
        // count as interrupted.
        let attempts = record.outcome == nil ? 1 : 2
        for attempt in 1...attempts {
            do {
                try await records.save(record, eventsStored: eventsStored)
                eventsStored = record.events.count
                rowStored = true
                return
            } catch  where attempt < attempts {
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                let failure = CallEvent(
                    kind: .error, at: clock(), fields: ["what": .string("call record not saved: \(error)")])
                outputs.append(.event(failure))
            }
        }
    }

    /// The assistant's reply to `question`, raced against the clock: past the holding delay the
    /// caller hears the holding phrase, past the deadline the reply is `late`.
    private mutating func ask(
        _ question: String, now: LocalDateTime, sayMeanwhile: @escaping @Sendable (Prompt) async -> Void
    ) async -> DialogueEvent {
        let started = ContinuousClock.now
        let (holding, deadline) = assistantTiming
        let holdingPrompt = engine.holdingPrompt
        // Unstructured racers: an assistant that ignores cancellation cannot hold the call past
        // the deadline; it is cancelled and its late reply dropped.
        let holdingSaid = Flag()
        var racers: [Task<Void, Never>] = []
        let reply = await withCheckedContinuation { (continuation: CheckedContinuation<AssistantReply, Never>) in
            let first = FirstOf(continuation)
            racers = [
                Task { [ports] in first.finish(await ports.ask(question)) },
                Task {
                    try? await Task.sleep(for: deadline)
                    if !Task.isCancelled { first.finish(.late) }
                },
                Task {
                    try? await Task.sleep(for: holding)
                    guard !Task.isCancelled, !first.isFinished else { return }
                    holdingSaid.raise()
                    await sayMeanwhile(holdingPrompt)
                },
            ]
        }
        for racer in racers { racer.cancel() }
        if holdingSaid.isRaised {
            record.append(CallEvent(kind: .say, at: now, fields: ["key": .string(holdingPrompt.key)]))
        }
        return .assistantReplied(reply, milliseconds: (ContinuousClock.now - started).milliseconds)
    }

    private mutating func perform(
        _ action: DialogueAction, now: LocalDateTime, outputs: inout [Output],
        sayMeanwhile: @escaping @Sendable (Prompt) async -> Void
    ) async -> DialogueEvent? {
        switch action {
        case .say(let prompt):
            record.append(CallEvent(kind: .say, at: now, fields: ["key": .string(prompt.key)]))
            outputs.append(.say(prompt))
        case .listen(let spec):
            outputs.append(.listen(spec))
        case .transfer(let context):
            outputs.append(.transfer(context))
        case .hangUp:
            outputs.append(.hangUp)
        case .record(var event):
            if event.kind == .handoff { handoffRequestedAt = .now }
            if event.kind == .transferResult, let asked = handoffRequestedAt {
                // Seconds from the request to the agent's answer (or to the refusal).
                event.fields["wait_seconds"] = .double(Double((ContinuousClock.now - asked).milliseconds) / 1000)
                handoffRequestedAt = nil
            }
            record.append(event)
            outputs.append(.event(event))
        case .findSlots(let motifID, let preference, let excluding, let limit):
            return await attempt {
                try await .slotsFound(
                    ports.freeSlots(
                        motifID: motifID, preference: preference, excluding: excluding, limit: limit, now: now))
            }
        case .book(let slot):
            return await attempt { [callerNumber, record] in
                try await .booked(ports.book(slot, callerNumber: callerNumber, callID: record.id, now: now))
            }
        case .move(let appointment, let slot):
            return await attempt { try await .booked(ports.move(appointment, to: slot, now: now)) }
        case .findAppointments(let lookup):
            return await attempt { try await .appointmentsFound(ports.appointments(lookup)) }
        case .cancel(let appointment):
            return await attempt { try await .cancelled(ports.cancel(appointment, now: now)) }
        case .findCallbackWindows(let preference):
            return await attempt { try await .callbackWindowsFound(ports.callbackWindows(preference, now: now)) }
        case .scheduleCallback(let request):
            return await attempt { [record] in
                do {
                    return try await .callbackScheduled(ports.scheduleCallback(request, callID: record.id, now: now))
                } catch BookingFailure.slotTaken {
                    // The window filled up meanwhile: offer the next ones.
                    return try await .callbackWindowsFound(ports.callbackWindows(Preference(), now: now))
                }
            }
        case .ask(let question):
            return await ask(question, now: now, sayMeanwhile: sayMeanwhile)
        }
        return nil
    }

    /// The event a request produced; a booking failure as such, any other error as `serviceFailed`.
    private func attempt(_ body: () async throws -> DialogueEvent) async -> DialogueEvent {
        do {
            return try await body()
        } catch let failure as BookingFailure {
            return .bookingFailed(failure)
        } catch {
            return .serviceFailed
        }
    }
}
