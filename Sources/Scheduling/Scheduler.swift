public import CallbotCore

/// Appointments and callbacks for calls: the planner's rules over a store, plus the assistant.
package struct Scheduler: CallPorts {
    package let config: ServiceConfig
    package let store: any SchedulingStore
    package let pseudonymizer: any Pseudonymizer
    package let assistant: @Sendable (String) async -> AssistantReply
    private let planner: SlotPlanner
    private let makeReference: @Sendable () -> String

    /// `assistant` answers questions no intent fits; `reference` makes a new booking reference.
    package init(
        config: ServiceConfig, store: any SchedulingStore, pseudonymizer: any Pseudonymizer,
        assistant: @escaping @Sendable (String) async -> AssistantReply = { _ in .unavailable },
        reference: (@Sendable () -> String)? = nil
    ) {
        self.config = config
        self.store = store
        self.pseudonymizer = pseudonymizer
        self.assistant = assistant
        self.planner = SlotPlanner(config: config)
        let digits = config.appointments.referenceDigits
        self.makeReference = reference ?? { Self.randomReference(digits: digits) }
    }

    /// A reference that does not start with 0, so that it reads well and survives as a number.
    package static func randomReference(digits: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = String(Int.random(in: 1...9, using: &generator))
        for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &generator)) }
        return text
    }

    private func motif(_ id: String) throws -> Motif {
        guard let motif = config.appointments.motifs.first(where: { $0.id == id }) else {
            throw BookingFailure.notBookable
        }
        return motif
    }

    package func freeSlots(motifID: String, preference: Preference, excluding: [Slot], limit: Int, now: LocalDateTime)
        async throws -> [Slot]
    {
        let motif = try motif(motifID)
        let (first, last, _) = planner.searchDays(motif, now: now)
        let from = LocalDateTime(date: first, time: TimeOfDay(minutes: 0), utcOffset: now.utcOffset).epochSeconds
        let to = LocalDateTime(date: last.adding(days: 1), time: TimeOfDay(minutes: 0), utcOffset: now.utcOffset)
            .epochSeconds
        let booked = try await store.bookedCounts(motifID: motifID, fromEpoch: from, toEpoch: to)
        return planner.freeSlots(
            motif, preference: preference, excluding: excluding, limit: limit, now: now, booked: booked)
    }

    package func book(_ slot: Slot, callerNumber: String?, callID: String, now: LocalDateTime) async throws
        -> Appointment
    {
        let motif = try motif(slot.motifID)
        try checkBookable(slot, motif, now: now)
        for _ in 0..<5 {
            let appointment = Appointment(
                reference: makeReference(), motifID: motif.id, start: slot.start,
                durationMinutes: motif.durationMinutes,
                seat: 0, callerHash: callerNumber.map(pseudonymizer.pseudonym(for:)), phone: callerNumber,
                callID: callID)
            do {
                return try await store.insertAppointment(appointment, capacity: motif.capacity)
            } catch StoreConflict.duplicateReference {
                continue
            }
        }
        throw StoreConflict.duplicateReference
    }

    package func move(_ appointment: Appointment, to slot: Slot, now: LocalDateTime) async throws -> Appointment {
        let motif = try motif(slot.motifID)
        try checkBookable(slot, motif, now: now)
        return try await store.moveAppointment(
            reference: appointment.reference, to: slot.start, capacity: motif.capacity)
    }

    /// A slot a caller may book: on the motif's grid, open, with notice, not too far ahead.
    private func checkBookable(_ slot: Slot, _ motif: Motif, now: LocalDateTime) throws {
        let (_, last, earliest) = planner.searchDays(motif, now: now)
        guard slot.start >= earliest, slot.start.date <= last,
            planner.candidates(motif, on: slot.start.date, utcOffset: slot.start.utcOffset).contains(slot.start)
        else { throw BookingFailure.notBookable }
    }

    package func appointments(_ lookup: AppointmentLookup) async throws -> [Appointment] {
        switch lookup {
        case .caller(let phone): return try await store.appointments(callerHash: pseudonymizer.pseudonym(for: phone))
        case .reference(let reference): return try await store.appointment(reference: reference).map { [$0] } ?? []
        }
    }

    package func cancel(_ appointment: Appointment, now: LocalDateTime) async throws -> Appointment {
        guard let cancelled = try await store.cancelAppointment(reference: appointment.reference) else {
            throw BookingFailure.notBookable
        }
        return cancelled
    }

    package func callbackWindows(_ preference: Preference, now: LocalDateTime) async throws -> [CallbackWindow] {
        let counts = try await store.callbackCounts(
            from: now.date, to: now.date.adding(days: config.callbacks.daysAhead))
        return planner.callbackWindows(preference, now: now, counts: counts, limit: 3)
    }

    package func scheduleCallback(_ request: CallbackRequest, callID: String, now: LocalDateTime) async throws
        -> Callback
    {
        let callback = Callback(
            id: "cb-" + Self.randomReference(digits: 8), window: request.window, phone: request.phone, callID: callID,
            context: request.context, purpose: request.purpose, topic: request.topic)
        // A kept place is not a window's booking: the queue has no capacity but the agents'.
        let capacity = request.purpose == .queue ? Int.max : config.callbacks.capacityPerWindow
        return try await store.insertCallback(callback, capacity: capacity)
    }

    package func ask(_ question: String) async -> AssistantReply { await assistant(question) }
}
