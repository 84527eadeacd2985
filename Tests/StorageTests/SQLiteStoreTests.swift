import Foundation
import Indicators
import Testing

@testable import CallbotCore
@testable import Storage

func at(_ iso: String) -> LocalDateTime { LocalDateTime(iso: iso)! }

/// A database file in a scratch folder, removed afterwards.
final class ScratchFile {
    let folder = NSTemporaryDirectory() + "callbot-store-" + UUID().uuidString
    var path: String { folder + "/db/callbot.sqlite" }
    deinit { try? FileManager.default.removeItem(atPath: folder) }
}

@Suite struct SQLiteStoreTests {
    func appointment(_ reference: String, _ start: String, caller: String? = "h:1") -> Appointment {
        Appointment(
            reference: reference, motifID: "titres", start: at(start), durationMinutes: 20, seat: 0, callerHash: caller)
    }

    @Test func refusesDoubleBookingBeyondCapacity() async throws {
        let store = try SQLiteStore()
        let a = try await store.insertAppointment(appointment("100001", "2026-11-26T09:30:00+01:00"), capacity: 2)
        let b = try await store.insertAppointment(appointment("100002", "2026-11-26T09:30:00+01:00"), capacity: 2)
        #expect(a.seat == 0 && b.seat == 1)
        await #expect(throws: BookingFailure.slotTaken) {
            _ = try await store.insertAppointment(appointment("100003", "2026-11-26T09:30:00+01:00"), capacity: 2)
        }
        // A cancellation frees its seat.
        _ = try await store.cancelAppointment(reference: "100001")
        let c = try await store.insertAppointment(appointment("100004", "2026-11-26T09:30:00+01:00"), capacity: 2)
        #expect(c.seat == 0)
        await #expect(throws: StoreConflict.self) {
            _ = try await store.insertAppointment(appointment("100004", "2026-11-27T09:30:00+01:00"), capacity: 2)
        }
    }

    @Test func concurrentCallersNeverShareASeat() async throws {
        let file = ScratchFile()
        // Two stores on one file stand for two daemons or two chat sessions.
        let stores = [try SQLiteStore(path: file.path), try SQLiteStore(path: file.path)]
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let attempt = Appointment(
                        reference: String(200_000 + i), motifID: "titres", start: at("2026-11-26T10:10:00+01:00"),
                        durationMinutes: 20, seat: 0)
                    return (try? await stores[i % 2].insertAppointment(attempt, capacity: 2)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 2)
        let booked = try await stores[0].listAppointments(from: nil, to: nil).filter { $0.status == .booked }
        #expect(Set(booked.map(\.seat)) == [0, 1])
    }

    @Test func movesFindsAndCounts() async throws {
        let store = try SQLiteStore()
        _ = try await store.insertAppointment(
            appointment("300001", "2026-11-26T09:30:00+01:00", caller: "h:abc"), capacity: 1)
        _ = try await store.insertAppointment(
            appointment("300002", "2026-11-26T09:50:00+01:00", caller: "h:other"), capacity: 1)
        await #expect(throws: BookingFailure.slotTaken) {
            _ = try await store.moveAppointment(reference: "300001", to: at("2026-11-26T09:50:00+01:00"), capacity: 1)
        }
        let moved = try await store.moveAppointment(
            reference: "300001", to: at("2026-11-27T09:30:00+01:00"), capacity: 1)
        #expect(moved.start.iso == "2026-11-27T09:30:00+01:00" && moved.reference == "300001")
        #expect(try await store.appointments(callerHash: "h:abc").map(\.reference) == ["300001"])
        #expect(try await store.appointment(reference: "999999") == nil)
        let counts = try await store.bookedCounts(
            motifID: "titres", fromEpoch: at("2026-11-26T00:00:00+01:00").epochSeconds,
            toEpoch: at("2026-11-28T00:00:00+01:00").epochSeconds)
        #expect(
            counts == [
                at("2026-11-26T09:50:00+01:00").epochSeconds: 1, at("2026-11-27T09:30:00+01:00").epochSeconds: 1,
            ])
    }

    @Test func callbacksRespectWindowCapacity() async throws {
        let store = try SQLiteStore()
        let window = CallbackWindow(
            date: LocalDate(year: 2026, month: 11, day: 24)!,
            range: TimeRange(start: TimeOfDay(hour: 9, minute: 0)!, end: TimeOfDay(hour: 10, minute: 30)!))
        for i in 0..<2 {
            _ = try await store.insertCallback(
                Callback(id: "cb-\(i)", window: window, phone: "+33600000000"), capacity: 2)
        }
        await #expect(throws: BookingFailure.slotTaken) {
            _ = try await store.insertCallback(Callback(id: "cb-9", window: window, phone: "+33600000000"), capacity: 2)
        }
        let counts = try await store.callbackCounts(from: window.date, to: window.date)
        #expect(counts == ["2026-11-24 09:00-10:30": 2])
        #expect(try await store.listCallbacks(from: nil, to: nil).count == 2)
    }

    @Test func agentsClaimAndCloseCallbacksOnce() async throws {
        let store = try SQLiteStore()
        let window = CallbackWindow(
            date: LocalDate(year: 2026, month: 11, day: 24)!,
            range: TimeRange(start: TimeOfDay(hour: 9, minute: 0)!, end: TimeOfDay(hour: 10, minute: 30)!))
        let made = LocalDateTime(iso: "2026-11-24T09:20:00+01:00")!
        for id in ["cb-1", "cb-2", "cb-3"] {
            _ = try await store.insertCallback(Callback(id: id, window: window, phone: "+33600000000"), capacity: 3)
        }
        guard case .changed(let claimed) = try await store.claimCallback(id: "cb-1", by: "alice") else {
            Issue.record("not claimed")
            return
        }
        #expect(claimed.status == .claimed && claimed.claimedBy == "alice")
        // Claimed: no one else takes it, its owner may take it again; it still fills the window.
        #expect(try await store.claimCallback(id: "cb-1", by: "bob") == .conflict(claimed))
        #expect(try await store.claimCallback(id: "cb-1", by: "alice") == .changed(claimed))
        #expect(try await store.callbackCounts(from: window.date, to: window.date).values.first == 3)
        #expect(
            try await store.closeCallback(id: "cb-1", as: .done, note: "x", by: "bob", at: made) == .conflict(claimed))
        guard
            case .changed(let done) = try await store.closeCallback(
                id: "cb-1", as: .done, note: "rappelé, dossier complet", by: "alice", at: made)
        else {
            Issue.record("not closed")
            return
        }
        #expect(done.status == .done && done.attempts == 1 && done.note == "rappelé, dossier complet")
        #expect(
            try await store.closeCallback(id: "cb-1", as: .failed, note: nil, by: "alice", at: made) == .conflict(done))
        #expect(try await store.claimCallback(id: "cb-9", by: "alice") == .notFound)
        // A pending callback may be closed by any agent; the worklist filters by status.
        _ = try await store.closeCallback(id: "cb-2", as: .noAnswer, note: nil, by: "bob", at: made)
        let open = try await store.callbacks(from: window.date, to: window.date, statuses: [.pending, .claimed])
        #expect(open.map(\.id) == ["cb-3"])
        let closed = try await store.callbacks(from: nil, to: nil, statuses: [.done, .noAnswer])
        #expect(closed.map(\.id) == ["cb-1", "cb-2"] && closed[1].claimedBy == "bob")
        // Made in its window: counted in the report.
        let report = try await store.indicators(from: window.date, to: window.date, by: .day)
        #expect(report.totals.counts.callbacksMadeInWindow == 1)
    }

    @Test func theDialerTakesDueCallbacksOnceAndOnlyInTheirWindow() async throws {
        let store = try SQLiteStore()
        let day = LocalDate(year: 2026, month: 11, day: 24)!
        let morning = CallbackWindow(
            date: day, range: TimeRange(start: TimeOfDay(hour: 9, minute: 0)!, end: TimeOfDay(hour: 10, minute: 30)!))
        let afternoon = CallbackWindow(
            date: day, range: TimeRange(start: TimeOfDay(hour: 14, minute: 0)!, end: TimeOfDay(hour: 15, minute: 30)!))
        _ = try await store.insertCallback(Callback(id: "cb-1", window: morning, phone: "+33600000001"), capacity: 9)
        _ = try await store.insertCallback(
            Callback(id: "cb-2", window: morning, phone: "+33600000002", purpose: .notice), capacity: 9)
        _ = try await store.insertCallback(Callback(id: "cb-3", window: afternoon, phone: "+33600000003"), capacity: 9)
        _ = try await store.insertCallback(Callback(id: "cb-4", window: morning, phone: "+33600000004"), capacity: 9)
        _ = try await store.claimCallback(id: "cb-4", by: "alice")
        let early = LocalDateTime(iso: "2026-11-24T08:59:00+01:00")!
        let at = LocalDateTime(iso: "2026-11-24T09:10:00+01:00")!
        #expect(try await store.dueCallbacks(at: early, maxAttempts: 3, limit: 10).isEmpty)
        // In the window: notices first, never a claimed one, never another window's.
        #expect(try await store.dueCallbacks(at: at, maxAttempts: 3, limit: 10).map(\.id) == ["cb-2", "cb-1"])
        let dialing = try #require(try await store.startDialing(id: "cb-1"))
        #expect(dialing.status == .dialing && dialing.attempts == 1)
        #expect(try await store.startDialing(id: "cb-1") == nil, "taken once")
        #expect(try await store.claimCallback(id: "cb-1", by: "alice") == .conflict(dialing))
        // Busy: pending again, not before the retry time.
        try await store.finishDialing(
            id: "cb-1", as: .pending, note: "occupé", at: at, retryAt: at.epochSeconds + 600)
        #expect(try await store.dueCallbacks(at: at, maxAttempts: 3, limit: 10).map(\.id) == ["cb-2"])
        let later = at.adding(minutes: 11)
        #expect(try await store.dueCallbacks(at: later, maxAttempts: 3, limit: 10).map(\.id) == ["cb-2", "cb-1"])
        #expect(try await store.dueCallbacks(at: later, maxAttempts: 1, limit: 10).map(\.id) == ["cb-2"])
        // A run that stopped while dialling leaves nothing stuck.
        _ = try await store.startDialing(id: "cb-2")
        #expect(try await store.resumeInterruptedDialing() == 1)
        _ = try await store.startDialing(id: "cb-2")
        try await store.finishDialing(id: "cb-2", as: .done, note: "joint", at: later)
        let done = try #require(try await store.callback(id: "cb-2"))
        #expect(done.status == .done && done.note == "joint" && done.attempts == 2)
        // Once their window is over, what was not made is closed: tried, or never dialled.
        let evening = LocalDateTime(iso: "2026-11-24T18:00:00+01:00")!
        #expect(try await store.closeMissedCallbacks(at: evening) == 2)
        #expect(try await store.callback(id: "cb-1")?.status == .noAnswer)
        #expect(try await store.callback(id: "cb-3")?.status == .failed)
        #expect(try await store.callback(id: "cb-4")?.status == .claimed, "an agent's own stays theirs")
    }

    @Test func keepsCallRecordsAndPurgesOldTranscripts() async throws {
        let store = try SQLiteStore()
        var record = CallRecord(
            id: "c-1", channel: "chat", startedAt: at("2026-10-01T10:00:00+02:00"), callerHash: "h:1")
        record.append(
            CallEvent(
                kind: .utterance, at: at("2026-10-01T10:00:05+02:00"),
                fields: ["text": "bonjour", "confidence": .double(0.9)]))
        record.append(CallEvent(kind: .survey, at: at("2026-10-01T10:01:00+02:00"), fields: ["score": 5]))
        record.append(
            CallEvent(
                kind: .callEnded, at: at("2026-10-01T10:01:05+02:00"),
                fields: ["outcome": "self_service", "intents": .array(["horaires"])]))
        try await store.save(record)
        let loaded = try #require(try await store.record(id: "c-1"))
        #expect(loaded == record)
        #expect(loaded.surveyScore == 5 && loaded.outcome == "self_service" && loaded.intents == ["horaires"])
        #expect(try await store.lastRecord()?.id == "c-1")
        let cleared = try await store.purgeTranscripts(olderThanDays: 30, now: at("2026-11-23T10:00:00+01:00"))
        #expect(cleared == 1)
        let purged = try #require(try await store.record(id: "c-1"))
        #expect(purged.events[0].fields["text"] == nil && purged.events[0].fields["confidence"] == .double(0.9))
    }

    /// `kill -9` during 20 calls used to leave none of them in the call log.
    @Test func aCallIsStoredFromItsFirstEventAndAnInterruptedOneIsClosedAndCounted() async throws {
        let file = ScratchFile()
        let store = try SQLiteStore(path: file.path)
        var record = CallRecord(
            id: "c-open", channel: "sip", startedAt: at("2026-10-02T10:00:00+02:00"), callerHash: "h:2")
        record.append(CallEvent(kind: .say, at: at("2026-10-02T10:00:01+02:00"), fields: ["key": "greeting"]))
        try await store.save(record, eventsStored: 0)
        #expect(try await store.record(id: "c-open")?.events.count == 1, "there from the first event")
        record.append(
            CallEvent(kind: .utterance, at: at("2026-10-02T10:00:09+02:00"), fields: ["text": "les horaires"]))
        try await store.save(record, eventsStored: 1)
        #expect(try await store.record(id: "c-open")?.events.count == 2, "and growing")
        let day = LocalDate(iso: "2026-10-02")!
        #expect(
            try await store.indicators(from: day, to: day, by: .day).totals.counts.callsReceived == 0, "not counted yet"
        )
        // The daemon dies here; at its next start the call is closed at its last event, and counted.
        let reopened = try SQLiteStore(path: file.path)
        #expect(try await reopened.closeInterruptedCalls() == 1)
        let closed = try #require(try await reopened.record(id: "c-open"))
        #expect(closed.outcome == "interrupted" && closed.endedAt == at("2026-10-02T10:00:09+02:00"))
        #expect(closed.events.count == 3)
        #expect(try await reopened.indicators(from: day, to: day, by: .day).totals.counts.callsAnswered == 1)
        #expect(try await reopened.closeInterruptedCalls() == 0, "once")
        // The database is the service's alone.
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let wal = try FileManager.default.attributesOfItem(atPath: file.path + "-wal")[.posixPermissions] as? Int
        #expect(wal == 0o600)
    }

    @Test func pseudonymsAreStableKeyedAndOpaque() throws {
        let a = KeyedPseudonymizer(key: Data("key-a".utf8))
        let b = KeyedPseudonymizer(key: Data("key-b".utf8))
        #expect(a.pseudonym(for: "+33612345678") == a.pseudonym(for: "+33612345678"))
        #expect(a.pseudonym(for: "+33612345678") != b.pseudonym(for: "+33612345678"))
        #expect(a.pseudonym(for: "+33612345678") != a.pseudonym(for: "+33612345679"))
        #expect(!a.pseudonym(for: "+33612345678").contains("612345678"))
        let file = ScratchFile()
        let settings = PrivacySettings(
            pseudonymKeyFile: file.folder + "/key", pseudonymKeyEnv: "UNSET_FOR_TEST", transcriptRetentionDays: 30)
        let created = try KeyedPseudonymizer.load(settings, environment: [:])
        let reloaded = try KeyedPseudonymizer.load(settings, environment: [:])
        #expect(created.pseudonym(for: "+33600000000") == reloaded.pseudonym(for: "+33600000000"))
        let attributes = try FileManager.default.attributesOfItem(atPath: file.folder + "/key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
