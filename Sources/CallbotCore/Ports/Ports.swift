/// What a call needs from the world beyond the dialogue: scheduling, storage, the assistant.
///
/// The session runner calls these for the engine's requests. Implementations live in the
/// adapters (`Scheduling` over `Storage`); unit tests of the core use doubles.
package protocol CallPorts: Sendable {
    func freeSlots(motifID: String, preference: Preference, excluding: [Slot], limit: Int, now: LocalDateTime)
        async throws
        -> [Slot]
    /// Books `slot`; throws ``BookingFailure`` when it cannot be had. Returns only once committed.
    func book(_ slot: Slot, callerNumber: String?, callID: String, now: LocalDateTime) async throws -> Appointment
    /// Moves `appointment` to `slot`, keeping its reference; throws ``BookingFailure``.
    func move(_ appointment: Appointment, to slot: Slot, now: LocalDateTime) async throws -> Appointment
    func appointments(_ lookup: AppointmentLookup) async throws -> [Appointment]
    func cancel(_ appointment: Appointment, now: LocalDateTime) async throws -> Appointment
    func callbackWindows(_ preference: Preference, now: LocalDateTime) async throws -> [CallbackWindow]
    func scheduleCallback(_ request: CallbackRequest, callID: String, now: LocalDateTime) async throws -> Callback
    /// The generative fallback; the question is redacted already.
    func ask(_ question: String) async -> AssistantReply
}

/// Persistence of appointments and callbacks, as `Scheduling` needs it.
package protocol SchedulingStore: Sendable {
    /// Booked appointments per start (epoch seconds) for `motifID` between two instants.
    func bookedCounts(motifID: String, fromEpoch: Int, toEpoch: Int) async throws -> [Int: Int]
    /// Inserts a booked appointment at the lowest free seat below `capacity`, atomically.
    /// Throws ``BookingFailure/slotTaken`` when every seat is taken.
    func insertAppointment(_ appointment: Appointment, capacity: Int) async throws -> Appointment
    /// Moves an appointment to a new start at a free seat, atomically; ``BookingFailure/slotTaken`` if none.
    func moveAppointment(reference: String, to start: LocalDateTime, capacity: Int) async throws -> Appointment
    func appointments(callerHash: String) async throws -> [Appointment]
    func appointment(reference: String) async throws -> Appointment?
    func cancelAppointment(reference: String) async throws -> Appointment?
    func listAppointments(from: LocalDate?, to: LocalDate?) async throws -> [Appointment]
    /// Pending callbacks per window (`YYYY-MM-DD HH:MM-HH:MM`) between two dates.
    func callbackCounts(from: LocalDate, to: LocalDate) async throws -> [String: Int]
    /// Inserts a callback unless its window already holds `capacity`; throws ``BookingFailure/slotTaken`` then.
    func insertCallback(_ callback: Callback, capacity: Int) async throws -> Callback
    func listCallbacks(from: LocalDate?, to: LocalDate?) async throws -> [Callback]
}

/// Persistence of call records.
package protocol CallRecordStore: Sendable {
    /// Writes the call's row and its events from index `eventsStored` on (the earlier ones are
    /// stored already). A call is written from its first event and grows as it goes, so that a
    /// crash loses at most its last moments; what it counts for is written once it has ended.
    func save(_ record: CallRecord, eventsStored: Int) async throws
    func records(limit: Int) async throws -> [CallRecord]
    func record(id: String) async throws -> CallRecord?
    func lastRecord() async throws -> CallRecord?
}

/// Turns a phone number into a stable keyed hash, so that the log never holds the number.
package protocol Pseudonymizer: Sendable {
    func pseudonym(for phone: String) -> String
}

/// A write the store refused for a reason the caller never hears about.
package enum StoreConflict: Error, Sendable {
    /// A new reference collided with an existing one: draw another.
    case duplicateReference
}
