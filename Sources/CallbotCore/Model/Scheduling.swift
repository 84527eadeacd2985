/// A bookable start time for a motif.
package struct Slot: Sendable, Hashable {
    package var motifID: String
    package var start: LocalDateTime
    package var durationMinutes: Int

    package init(motifID: String, start: LocalDateTime, durationMinutes: Int) {
        self.motifID = motifID
        self.start = start
        self.durationMinutes = durationMinutes
    }
}

/// What the caller would like: a day, a time or a part of the day, or the soonest.
package struct Preference: Sendable, Equatable {
    package var date: LocalDate?
    package var time: TimeOfDay?
    package var partOfDay: PartOfDay?
    /// Without a `date`: the days nearest to this one first (the day asked could not be had).
    package var near: LocalDate?

    package init(date: LocalDate? = nil, time: TimeOfDay? = nil, partOfDay: PartOfDay? = nil, near: LocalDate? = nil) {
        self.date = date
        self.time = time
        self.partOfDay = partOfDay
        self.near = near
    }

    package init(_ slots: Slots) { self.init(date: slots.date, time: slots.time, partOfDay: slots.partOfDay) }

    package var isEmpty: Bool { date == nil && time == nil && partOfDay == nil && near == nil }
}

/// An appointment as stored.
package struct Appointment: Sendable, Equatable {
    package enum Status: String, Sendable, Codable { case booked, cancelled }

    package var reference: String
    package var motifID: String
    package var start: LocalDateTime
    package var durationMinutes: Int
    /// Which of the motif's parallel desks.
    package var seat: Int
    package var status: Status
    /// Keyed hash of the caller's number, to find the appointment on the next call.
    package var callerHash: String?
    /// Number to reach the person (E.164), for the agents; never logged.
    package var phone: String?
    package var callID: String?

    package init(
        reference: String, motifID: String, start: LocalDateTime, durationMinutes: Int, seat: Int,
        status: Status = .booked, callerHash: String? = nil, phone: String? = nil, callID: String? = nil
    ) {
        self.reference = reference
        self.motifID = motifID
        self.start = start
        self.durationMinutes = durationMinutes
        self.seat = seat
        self.status = status
        self.callerHash = callerHash
        self.phone = phone
        self.callID = callID
    }
}

/// How to find a caller's appointments.
package enum AppointmentLookup: Sendable, Equatable {
    /// The caller's own number (hashed by the store).
    case caller(phone: String)
    case reference(String)
}

/// A window in which an agent calls back.
package struct CallbackWindow: Sendable, Hashable {
    package var date: LocalDate
    package var range: TimeRange

    package init(date: LocalDate, range: TimeRange) {
        self.date = date
        self.range = range
    }
}

/// A callback as stored.
package struct Callback: Sendable, Equatable {
    package enum Status: String, Sendable, Codable, CaseIterable {
        /// To be made; `claimed` once an agent has taken it, `dialing` while the bot calls.
        case pending, claimed, dialing
        /// Made: the caller was reached.
        case done
        /// Given up after the attempts the window allowed.
        case noAnswer = "no_answer"
        case failed, cancelled

        /// Whether it is still to be made.
        package var isOpen: Bool { self == .pending || self == .claimed || self == .dialing }
    }

    /// Why the service calls.
    package enum Purpose: String, Sendable, Codable, CaseIterable {
        /// The caller asked to be called back in a window.
        case request
        /// The service tells the caller something: an appointment it had to cancel.
        case notice
        /// The caller hung up without losing their place in the agents' queue.
        case queue
    }

    package var id: String
    package var window: CallbackWindow
    /// The number to call (E.164); never logged.
    package var phone: String
    package var status: Status
    package var attempts: Int
    package var callID: String?
    /// Intent and redacted summary, so the agent knows why to call.
    package var context: String
    package var purpose: Purpose
    /// The agent who claimed it.
    package var claimedBy: String?
    /// The agent's note on the outcome.
    package var note: String?
    /// The appointment a notice is about.
    package var appointmentReference: String?
    /// The intent it is about (`passeport`), for the bot's greeting when it calls back.
    package var topic: String?
    /// Not to be dialled again before this instant (epoch seconds): the wait between attempts.
    package var nextAttempt: Int

    package init(
        id: String, window: CallbackWindow, phone: String, status: Status = .pending, attempts: Int = 0,
        callID: String? = nil, context: String = "", purpose: Purpose = .request, claimedBy: String? = nil,
        note: String? = nil, appointmentReference: String? = nil, topic: String? = nil, nextAttempt: Int = 0
    ) {
        self.id = id
        self.window = window
        self.phone = phone
        self.status = status
        self.attempts = attempts
        self.callID = callID
        self.context = context
        self.purpose = purpose
        self.claimedBy = claimedBy
        self.note = note
        self.appointmentReference = appointmentReference
        self.topic = topic
        self.nextAttempt = nextAttempt
    }
}

/// What became of a change asked on a stored callback.
package enum CallbackChange: Sendable, Equatable {
    case changed(Callback)
    case notFound
    /// Its state does not allow it (made already, claimed by another agent…): as it stands.
    case conflict(Callback)
}

/// Why a booking did not happen.
package enum BookingFailure: Error, Sendable, Equatable {
    /// Someone else took it first (the database refused a double booking).
    case slotTaken
    /// The slot is outside the motif's hours or notice.
    case notBookable
}

extension Appointment {
    /// As agents see it (`appointments list --json`, the agents' API); with the number to call
    /// only when `withPhone`.
    package func json(withPhone: Bool) -> JSONValue {
        var fields: [String: JSONValue] = [
            "reference": .string(reference), "motif": .string(motifID), "start": .string(start.iso),
            "duration_minutes": .int(durationMinutes), "seat": .int(seat), "status": .string(status.rawValue),
            "call_id": callID.map(JSONValue.string) ?? .null,
        ]
        if withPhone { fields["phone"] = phone.map(JSONValue.string) ?? .null }
        return .object(fields)
    }
}

extension Callback {
    /// As agents see it (`callbacks list --json`, the agents' API), with the number to call.
    package var json: JSONValue {
        .object([
            "id": .string(id), "date": .string(window.date.iso), "window": .string(window.range.description),
            "phone": .string(phone), "status": .string(status.rawValue), "attempts": .int(attempts),
            "call_id": callID.map(JSONValue.string) ?? .null, "context": .string(context),
            "purpose": .string(purpose.rawValue), "claimed_by": claimedBy.map(JSONValue.string) ?? .null,
            "note": note.map(JSONValue.string) ?? .null,
            "appointment": appointmentReference.map(JSONValue.string) ?? .null,
            "topic": topic.map(JSONValue.string) ?? .null,
        ])
    }
}
