public import CallbotCore
import Foundation
internal import GRDB
package import Indicators

/// Appointments, callbacks and call records in one SQLite database (WAL), through GRDB.
///
/// Double booking is impossible by construction: a partial unique index on
/// (motif, start, seat) for booked appointments refuses a second writer, even another process.
package final class SQLiteStore: SchedulingStore, CallRecordStore {
    private let writer: any DatabaseWriter

    /// Opens (and creates or migrates) the database at `path`; its folder is created if missing.
    /// A new database is readable by its owner only (SQLite gives its journal files the same mode).
    package init(path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let created = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if created >= 0 {
            close(created)
        } else {
            // An older database readable by others holds phone numbers: made private too.
            chmod(path, 0o600)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        writer = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(writer)
    }

    /// A private in-memory database, for tests.
    package init() throws {
        writer = try DatabaseQueue()
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE appointments (
                        reference TEXT PRIMARY KEY,
                        motif_id TEXT NOT NULL,
                        start_at TEXT NOT NULL,
                        start_epoch INTEGER NOT NULL,
                        duration_minutes INTEGER NOT NULL,
                        seat INTEGER NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
                        caller_hash TEXT,
                        phone TEXT,
                        call_id TEXT,
                        updated_epoch INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
                    );
                    CREATE UNIQUE INDEX appointments_no_double_booking
                        ON appointments (motif_id, start_epoch, seat) WHERE status = 'booked';
                    CREATE INDEX appointments_by_caller ON appointments (caller_hash);
                    CREATE TABLE callbacks (
                        id TEXT PRIMARY KEY,
                        window_date TEXT NOT NULL,
                        window_start TEXT NOT NULL,
                        window_end TEXT NOT NULL,
                        window_key TEXT NOT NULL,
                        phone TEXT NOT NULL,
                        status TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        call_id TEXT,
                        context TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX callbacks_by_window ON callbacks (window_key, status);
                    CREATE TABLE calls (
                        id TEXT PRIMARY KEY,
                        channel TEXT NOT NULL,
                        started_at TEXT NOT NULL,
                        started_epoch INTEGER NOT NULL,
                        ended_at TEXT,
                        caller_hash TEXT,
                        outcome TEXT,
                        intents TEXT NOT NULL DEFAULT '[]',
                        survey_score INTEGER,
                        handoff TEXT
                    );
                    CREATE INDEX calls_by_start ON calls (started_epoch);
                    CREATE TABLE call_events (
                        call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        at TEXT NOT NULL,
                        at_epoch INTEGER NOT NULL,
                        fields TEXT NOT NULL DEFAULT '{}',
                        PRIMARY KEY (call_id, seq)
                    );
                    """)
        }
        migrator.registerMigration("v2-indicators") { db in
            // One row a call with what it counts for (Indicators.CallFacts), and its intents: the
            // report adds them up in SQL over the day index instead of reading every call.
            try db.execute(
                sql: """
                    CREATE TABLE call_facts (
                        call_id TEXT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
                        day TEXT NOT NULL,
                        answered INTEGER NOT NULL,
                        handoff_requested INTEGER NOT NULL,
                        handoff_answered INTEGER NOT NULL,
                        handoff_abandoned INTEGER NOT NULL,
                        handoff_refused INTEGER NOT NULL,
                        wait_seconds REAL,
                        self_service INTEGER NOT NULL,
                        callback_offered INTEGER NOT NULL,
                        callbacks_scheduled INTEGER NOT NULL,
                        appointments_booked INTEGER NOT NULL,
                        appointments_moved INTEGER NOT NULL,
                        appointments_cancelled INTEGER NOT NULL,
                        satisfaction INTEGER,
                        assistant_answers INTEGER NOT NULL,
                        assistant_refusals INTEGER NOT NULL,
                        assistant_followed_by_handoff INTEGER NOT NULL
                    );
                    CREATE INDEX call_facts_by_day ON call_facts (day);
                    CREATE TABLE call_intents (
                        call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
                        day TEXT NOT NULL,
                        intent TEXT NOT NULL,
                        self_service INTEGER NOT NULL,
                        PRIMARY KEY (call_id, intent)
                    );
                    CREATE INDEX call_intents_by_day ON call_intents (day, intent);
                    CREATE INDEX call_facts_waits ON call_facts (day, wait_seconds) WHERE wait_seconds IS NOT NULL;
                    CREATE TABLE daily_indicators (
                        day TEXT PRIMARY KEY,
                        \(dailyColumns.map { "\($0) INTEGER NOT NULL DEFAULT 0" }.joined(separator: ",\n    "))
                    ) WITHOUT ROWID;
                    CREATE TABLE daily_intents (
                        day TEXT NOT NULL,
                        intent TEXT NOT NULL,
                        calls INTEGER NOT NULL DEFAULT 0,
                        self_service_calls INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (day, intent)
                    ) WITHOUT ROWID;
                    ALTER TABLE callbacks ADD COLUMN made_at TEXT;
                    """)
            let calls = try Row.fetchCursor(db, sql: "SELECT * FROM calls")
            while let row = try calls.next() {
                try saveFacts(CallFacts(try record(row, db: db)), db)
            }
        }
        migrator.registerMigration("v3-agents-desk") { db in
            // The agents' worklist: who claimed a callback, their note, why the service calls,
            // and the order callbacks were asked in (the queue keeps the callers' places).
            try db.execute(
                sql: """
                    ALTER TABLE callbacks ADD COLUMN purpose TEXT NOT NULL DEFAULT 'request';
                    ALTER TABLE callbacks ADD COLUMN claimed_by TEXT;
                    ALTER TABLE callbacks ADD COLUMN note TEXT;
                    ALTER TABLE callbacks ADD COLUMN appointment_ref TEXT;
                    ALTER TABLE callbacks ADD COLUMN created_epoch INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE callbacks ADD COLUMN topic TEXT;
                    ALTER TABLE callbacks ADD COLUMN next_attempt_epoch INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX callbacks_by_status ON callbacks (status, window_date);
                    """)
        }
        return migrator
    }

    /// The sums kept per day in `daily_indicators`, in the order of ``dailyValues(_:)``.
    static let dailyColumns = [
        "calls_received", "calls_answered", "handoffs_requested", "handoffs_answered", "handoffs_abandoned",
        "handoffs_refused", "self_service_calls", "callbacks_offered", "callbacks_scheduled", "appointments_booked",
        "appointments_moved", "appointments_cancelled", "satisfaction_responses", "satisfaction_sum", "satisfied",
        "assistant_answers", "assistant_refusals", "assistant_followed_by_handoff",
    ]

    static func dailyValues(_ c: IndicatorCounts) -> [Int] {
        [
            c.callsReceived, c.callsAnswered, c.handoffsRequested, c.handoffsAnswered, c.handoffsAbandoned,
            c.handoffsRefused, c.selfServiceCalls, c.callbacksOffered, c.callbacksScheduled, c.appointmentsBooked,
            c.appointmentsMoved, c.appointmentsCancelled, c.satisfactionResponses, c.satisfactionSum, c.satisfied,
            c.assistantAnswers, c.assistantRefusals, c.assistantFollowedByHandoff,
        ]
    }

    static func dailyCounts(_ row: Row) -> IndicatorCounts {
        var c = IndicatorCounts()
        let v = dailyColumns.map { row[$0] as Int }
        (c.callsReceived, c.callsAnswered, c.handoffsRequested, c.handoffsAnswered, c.handoffsAbandoned) =
            (v[0], v[1], v[2], v[3], v[4])
        (c.handoffsRefused, c.selfServiceCalls, c.callbacksOffered, c.callbacksScheduled, c.appointmentsBooked) =
            (v[5], v[6], v[7], v[8], v[9])
        (c.appointmentsMoved, c.appointmentsCancelled, c.satisfactionResponses, c.satisfactionSum, c.satisfied) =
            (v[10], v[11], v[12], v[13], v[14])
        (c.assistantAnswers, c.assistantRefusals, c.assistantFollowedByHandoff) = (v[15], v[16], v[17])
        return c
    }

    /// Adds (`sign` 1) or takes away (-1) one call's counts from its day's sums.
    private static func addDaily(_ counts: IndicatorCounts, day: String, sign: Int, _ db: Database) throws {
        let values = dailyValues(counts).map { $0 * sign }
        let columns = dailyColumns.joined(separator: ", ")
        let updates = dailyColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")
        try db.execute(
            sql: """
                INSERT INTO daily_indicators (day, \(columns)) VALUES (?\(String(repeating: ", ?", count: values.count)))
                ON CONFLICT(day) DO UPDATE SET \(updates)
                """, arguments: StatementArguments([day] + values.map { $0 as any DatabaseValueConvertible }))
    }

    private static func addDailyIntent(_ intent: String, day: String, selfService: Bool, sign: Int, _ db: Database)
        throws
    {
        try db.execute(
            sql: """
                INSERT INTO daily_intents (day, intent, calls, self_service_calls) VALUES (?, ?, ?, ?)
                ON CONFLICT(day, intent) DO UPDATE SET calls = calls + excluded.calls,
                    self_service_calls = self_service_calls + excluded.self_service_calls
                """, arguments: [day, intent, sign, selfService ? sign : 0])
    }

    /// Takes an earlier version of call `id` away from its day's sums (before the call is replaced).
    private static func retractFacts(of id: String, _ db: Database) throws {
        if let old = try Row.fetchOne(db, sql: "SELECT * FROM call_facts WHERE call_id = ?", arguments: [id]) {
            let day: String = old["day"]
            var counts = IndicatorCounts()
            counts.callsReceived = 1
            counts.callsAnswered = old["answered"]
            counts.handoffsRequested = old["handoff_requested"]
            counts.handoffsAnswered = old["handoff_answered"]
            counts.handoffsAbandoned = old["handoff_abandoned"]
            counts.handoffsRefused = old["handoff_refused"]
            counts.selfServiceCalls = old["self_service"]
            counts.callbacksOffered = old["callback_offered"]
            counts.callbacksScheduled = old["callbacks_scheduled"]
            counts.appointmentsBooked = old["appointments_booked"]
            counts.appointmentsMoved = old["appointments_moved"]
            counts.appointmentsCancelled = old["appointments_cancelled"]
            let score: Int? = old["satisfaction"]
            counts.satisfactionResponses = score == nil ? 0 : 1
            counts.satisfactionSum = score ?? 0
            counts.satisfied = (score ?? 0) >= 4 ? 1 : 0
            counts.assistantAnswers = old["assistant_answers"]
            counts.assistantRefusals = old["assistant_refusals"]
            counts.assistantFollowedByHandoff = old["assistant_followed_by_handoff"]
            try addDaily(counts, day: day, sign: -1, db)
            let selfService: Bool = old["self_service"]
            for intent in try String.fetchAll(
                db, sql: "SELECT intent FROM call_intents WHERE call_id = ?", arguments: [id])
            {
                try addDailyIntent(intent, day: day, selfService: selfService, sign: -1, db)
            }
            try db.execute(sql: "DELETE FROM call_facts WHERE call_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM call_intents WHERE call_id = ?", arguments: [id])
        }
    }

    /// Writes what `facts`' call counts for, and adds it to its day's sums.
    private static func saveFacts(_ facts: CallFacts, _ db: Database) throws {
        try addDaily(IndicatorCounts(facts), day: facts.day.iso, sign: 1, db)
        for intent in facts.intents {
            try addDailyIntent(intent, day: facts.day.iso, selfService: facts.selfService, sign: 1, db)
        }
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO call_facts (call_id, day, answered, handoff_requested, handoff_answered,
                    handoff_abandoned, handoff_refused, wait_seconds, self_service, callback_offered,
                    callbacks_scheduled, appointments_booked, appointments_moved, appointments_cancelled, satisfaction,
                    assistant_answers, assistant_refusals, assistant_followed_by_handoff)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                facts.callID, facts.day.iso, facts.answered, facts.handoffRequested, facts.handoffAnswered,
                facts.handoffAbandoned, facts.handoffRefused, facts.waitSeconds, facts.selfService,
                facts.callbackOffered, facts.callbacksScheduled, facts.appointmentsBooked, facts.appointmentsMoved,
                facts.appointmentsCancelled, facts.satisfaction, facts.assistantAnswers, facts.assistantRefusals,
                facts.assistantFollowedByHandoff,
            ])
        try db.execute(sql: "DELETE FROM call_intents WHERE call_id = ?", arguments: [facts.callID])
        for intent in facts.intents {
            try db.execute(
                sql: "INSERT INTO call_intents (call_id, day, intent, self_service) VALUES (?, ?, ?, ?)",
                arguments: [facts.callID, facts.day.iso, intent, facts.selfService])
        }
    }

    // MARK: Appointments

    package func bookedCounts(motifID: String, fromEpoch: Int, toEpoch: Int) async throws -> [Int: Int] {
        try await writer.read { db in
            var counts: [Int: Int] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT start_epoch, COUNT(*) AS n FROM appointments
                    WHERE motif_id = ? AND status = 'booked' AND start_epoch >= ? AND start_epoch < ?
                    GROUP BY start_epoch
                    """, arguments: [motifID, fromEpoch, toEpoch])
            for row in rows { counts[row["start_epoch"]] = row["n"] }
            return counts
        }
    }

    package func insertAppointment(_ appointment: Appointment, capacity: Int) async throws -> Appointment {
        try await writer.write { db in
            guard
                let seat = try Self.freeSeat(
                    db, motifID: appointment.motifID, start: appointment.start, capacity: capacity)
            else {
                throw BookingFailure.slotTaken
            }
            var booked = appointment
            booked.seat = seat
            booked.status = .booked
            do {
                try db.execute(
                    sql: """
                        INSERT INTO appointments
                            (reference, motif_id, start_at, start_epoch, duration_minutes, seat, status, caller_hash, phone, call_id)
                        VALUES (?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?)
                        """,
                    arguments: [
                        booked.reference, booked.motifID, booked.start.iso, booked.start.epochSeconds,
                        booked.durationMinutes, seat, booked.callerHash, booked.phone, booked.callID,
                    ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw StoreConflict.duplicateReference
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw BookingFailure.slotTaken
            }
            return booked
        }
    }

    package func moveAppointment(reference: String, to start: LocalDateTime, capacity: Int) async throws -> Appointment
    {
        try await writer.write { db in
            guard var appointment = try Self.fetchAppointment(db, reference: reference), appointment.status == .booked
            else {
                throw BookingFailure.notBookable
            }
            guard let seat = try Self.freeSeat(db, motifID: appointment.motifID, start: start, capacity: capacity)
            else {
                throw BookingFailure.slotTaken
            }
            do {
                try db.execute(
                    sql: """
                        UPDATE appointments SET start_at = ?, start_epoch = ?, seat = ?, updated_epoch = strftime('%s', 'now')
                        WHERE reference = ?
                        """, arguments: [start.iso, start.epochSeconds, seat, reference])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw BookingFailure.slotTaken
            }
            appointment.start = start
            appointment.seat = seat
            return appointment
        }
    }

    /// The lowest seat not booked at `start`, or nil when all `capacity` seats are.
    private static func freeSeat(_ db: Database, motifID: String, start: LocalDateTime, capacity: Int) throws -> Int? {
        let taken = try Set(
            Int.fetchAll(
                db, sql: "SELECT seat FROM appointments WHERE motif_id = ? AND start_epoch = ? AND status = 'booked'",
                arguments: [motifID, start.epochSeconds]))
        return (0..<capacity).first { !taken.contains($0) }
    }

    package func appointments(callerHash: String) async throws -> [Appointment] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM appointments WHERE caller_hash = ? ORDER BY start_epoch",
                arguments: [callerHash]
            ).map(Self.appointment)
        }
    }

    package func appointment(reference: String) async throws -> Appointment? {
        try await writer.read { db in try Self.fetchAppointment(db, reference: reference) }
    }

    private static func fetchAppointment(_ db: Database, reference: String) throws -> Appointment? {
        try Row.fetchOne(db, sql: "SELECT * FROM appointments WHERE reference = ?", arguments: [reference]).map(
            appointment)
    }

    package func cancelAppointment(reference: String) async throws -> Appointment? {
        try await writer.write { db in
            try db.execute(
                sql:
                    "UPDATE appointments SET status = 'cancelled', updated_epoch = strftime('%s', 'now') WHERE reference = ? AND status = 'booked'",
                arguments: [reference])
            guard db.changesCount > 0 else { return nil }
            return try Self.fetchAppointment(db, reference: reference)
        }
    }

    package func listAppointments(from: LocalDate?, to: LocalDate?) async throws -> [Appointment] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM appointments WHERE substr(start_at, 1, 10) >= ? AND substr(start_at, 1, 10) <= ? ORDER BY start_epoch, seat",
                arguments: [from?.iso ?? "0000-00-00", to?.iso ?? "9999-99-99"]
            ).map(Self.appointment)
        }
    }

    private static func appointment(_ row: Row) -> Appointment {
        Appointment(
            reference: row["reference"], motifID: row["motif_id"],
            start: LocalDateTime(iso: row["start_at"])
                ?? LocalDateTime(date: LocalDate(daysSinceEpoch: 0), time: TimeOfDay(minutes: 0)),
            durationMinutes: row["duration_minutes"], seat: row["seat"],
            status: Appointment.Status(rawValue: row["status"]) ?? .booked, callerHash: row["caller_hash"],
            phone: row["phone"], callID: row["call_id"])
    }

    // MARK: Callbacks

    package func callbackCounts(from: LocalDate, to: LocalDate) async throws -> [String: Int] {
        try await writer.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT window_key, COUNT(*) AS n FROM callbacks WHERE status IN ('pending', 'claimed', 'dialing') AND window_date >= ? AND window_date <= ? GROUP BY window_key",
                arguments: [from.iso, to.iso])
            {
                counts[row["window_key"]] = row["n"]
            }
            return counts
        }
    }

    package func insertCallback(_ callback: Callback, capacity: Int) async throws -> Callback {
        let key = "\(callback.window.date.iso) \(callback.window.range)"
        return try await writer.write { db in
            let pending =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM callbacks WHERE window_key = ? AND status = 'pending'",
                    arguments: [key]) ?? 0
            guard pending < capacity else { throw BookingFailure.slotTaken }
            try db.execute(
                sql: """
                    INSERT INTO callbacks (id, window_date, window_start, window_end, window_key, phone, status, attempts,
                        call_id, context, purpose, claimed_by, note, appointment_ref, topic, next_attempt_epoch,
                        created_epoch)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%s', 'now'))
                    """,
                arguments: [
                    callback.id, callback.window.date.iso, callback.window.range.start.description,
                    callback.window.range.end.description, key, callback.phone, callback.status.rawValue,
                    callback.attempts, callback.callID, callback.context, callback.purpose.rawValue,
                    callback.claimedBy, callback.note, callback.appointmentReference, callback.topic,
                    callback.nextAttempt,
                ])
            return callback
        }
    }

    package func listCallbacks(from: LocalDate?, to: LocalDate?) async throws -> [Callback] {
        try await callbacks(from: from, to: to)
    }

    /// Callbacks whose window falls between two days (either open), in any of `statuses` (all
    /// when nil), by window and then in the order they were asked.
    package func callbacks(from: LocalDate?, to: LocalDate?, statuses: Set<Callback.Status>? = nil) async throws
        -> [Callback]
    {
        let wanted = (statuses ?? Set(Callback.Status.allCases)).map(\.rawValue).sorted()
        return try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM callbacks WHERE window_date >= ? AND window_date <= ?
                    AND status IN (\(databaseQuestionMarks(count: wanted.count)))
                    ORDER BY window_date, window_start, created_epoch, rowid
                    """,
                arguments: StatementArguments([from?.iso ?? "0000-00-00", to?.iso ?? "9999-99-99"] + wanted)
            ).map(Self.callback)
        }
    }

    package func callback(id: String) async throws -> Callback? {
        try await writer.read { db in try Self.fetchCallback(db, id: id) }
    }

    /// An agent takes a pending callback (again, if it is theirs already).
    package func claimCallback(id: String, by agent: String) async throws -> CallbackChange {
        try await writer.write { db in
            guard let callback = try Self.fetchCallback(db, id: id) else { return .notFound }
            guard callback.status == .pending || (callback.status == .claimed && callback.claimedBy == agent) else {
                return .conflict(callback)
            }
            try db.execute(
                sql: "UPDATE callbacks SET status = 'claimed', claimed_by = ? WHERE id = ?", arguments: [agent, id])
            return .changed(try Self.fetchCallback(db, id: id) ?? callback)
        }
    }

    /// Records how a callback ended (`done`, `no_answer`, `failed`, `cancelled`) at `at`, with an
    /// optional note. An agent (`by`) may close a pending callback or one they claimed; nil is
    /// the administrator, who may close any open one.
    package func closeCallback(
        id: String, as status: Callback.Status, note: String?, by agent: String?, at: LocalDateTime
    ) async throws -> CallbackChange {
        precondition(!status.isOpen, "a callback is closed with an outcome")
        return try await writer.write { db in
            guard let callback = try Self.fetchCallback(db, id: id) else { return .notFound }
            let mayClose =
                callback.status == .pending
                || (callback.status == .claimed && (agent == nil || callback.claimedBy == agent))
            guard mayClose else { return .conflict(callback) }
            let attempted = status == .cancelled ? 0 : 1
            try db.execute(
                sql: """
                    UPDATE callbacks SET status = ?, made_at = ?, attempts = attempts + ?, note = COALESCE(?, note),
                        claimed_by = COALESCE(claimed_by, ?)
                    WHERE id = ?
                    """,
                arguments: [status.rawValue, at.iso, attempted, note, agent, id])
            return .changed(try Self.fetchCallback(db, id: id) ?? callback)
        }
    }

    private static func fetchCallback(_ db: Database, id: String) throws -> Callback? {
        try Row.fetchOne(db, sql: "SELECT * FROM callbacks WHERE id = ?", arguments: [id]).map(callback)
    }

    private static func callback(_ row: Row) -> Callback {
        let date = LocalDate(iso: row["window_date"] as String) ?? LocalDate(daysSinceEpoch: 0)
        let start = TimeOfDay(parsing: row["window_start"] as String) ?? TimeOfDay(minutes: 0)
        let end = TimeOfDay(parsing: row["window_end"] as String) ?? TimeOfDay(minutes: 0)
        return Callback(
            id: row["id"], window: CallbackWindow(date: date, range: TimeRange(start: start, end: end)),
            phone: row["phone"], status: Callback.Status(rawValue: row["status"]) ?? .pending,
            attempts: row["attempts"], callID: row["call_id"], context: row["context"],
            purpose: Callback.Purpose(rawValue: row["purpose"]) ?? .request, claimedBy: row["claimed_by"],
            note: row["note"], appointmentReference: row["appointment_ref"], topic: row["topic"],
            nextAttempt: row["next_attempt_epoch"])
    }

    // MARK: The dialer

    /// Pending callbacks to dial at `now`: their window open, their wait between attempts over,
    /// fewer than `maxAttempts` made; notices and kept places first, then in the order asked.
    package func dueCallbacks(at now: LocalDateTime, maxAttempts: Int, limit: Int) async throws -> [Callback] {
        let time = now.time.description
        return try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM callbacks WHERE status = 'pending' AND window_date = ? AND window_start <= ?
                        AND ? < window_end AND next_attempt_epoch <= ? AND attempts < ?
                    ORDER BY CASE purpose WHEN 'request' THEN 1 ELSE 0 END, created_epoch, rowid LIMIT ?
                    """,
                arguments: [now.date.iso, time, time, now.epochSeconds, maxAttempts, limit]
            ).map(Self.callback)
        }
    }

    /// The bot takes a pending callback to dial it (one attempt more); nil when it is no longer
    /// pending (an agent claimed it, it was cancelled).
    package func startDialing(id: String) async throws -> Callback? {
        try await writer.write { db in
            try db.execute(
                sql:
                    "UPDATE callbacks SET status = 'dialing', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                arguments: [id])
            return db.changesCount > 0 ? try Self.fetchCallback(db, id: id) : nil
        }
    }

    /// How a dialled callback ended: `done`, `no_answer` or `failed` (made at `at`), or `pending`
    /// again, not before `retryAt` (epoch seconds). `attempted` false: nothing was sent (the line
    /// had no room), the attempt is given back.
    package func finishDialing(
        id: String, as status: Callback.Status, note: String?, at: LocalDateTime, retryAt: Int = 0,
        attempted: Bool = true
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE callbacks SET status = ?, note = COALESCE(?, note), next_attempt_epoch = ?,
                        made_at = CASE WHEN ? = 'pending' THEN made_at ELSE ? END,
                        attempts = attempts - ?
                    WHERE id = ? AND status = 'dialing'
                    """,
                arguments: [status.rawValue, note, retryAt, status.rawValue, at.iso, attempted ? 0 : 1, id])
        }
    }

    /// Pending callbacks whose window is over are closed: `no_answer` when the bot tried,
    /// `failed` when no agent was ever free to call; returns how many.
    package func closeMissedCallbacks(at now: LocalDateTime) async throws -> Int {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE callbacks SET status = CASE WHEN attempts > 0 THEN 'no_answer' ELSE 'failed' END,
                        note = CASE WHEN attempts > 0 THEN COALESCE(note, '') || ' ; fenêtre passée'
                            ELSE 'fenêtre passée sans conseiller libre pour rappeler' END,
                        made_at = ?
                    WHERE status = 'pending' AND (window_date < ? OR (window_date = ? AND window_end <= ?))
                    """,
                arguments: [now.iso, now.date.iso, now.date.iso, now.time.description])
            return db.changesCount
        }
    }

    /// Callbacks left `dialing` by an interrupted run are pending again; returns how many.
    package func resumeInterruptedDialing() async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "UPDATE callbacks SET status = 'pending' WHERE status = 'dialing'")
            return db.changesCount
        }
    }

    // MARK: Call records

    /// Replaces a call's record, facts included (imports, tests).
    package func save(_ record: CallRecord) async throws {
        try await writer.write { db in try Self.insert(record, db) }
    }

    package func save(_ record: CallRecord, eventsStored: Int) async throws {
        try await writer.write { db in try Self.grow(record, eventsStored: eventsStored, db) }
    }

    /// Upserts the call's row without touching what hangs from it, appends its new events, and
    /// once it has ended, what it counts for.
    private static func grow(_ record: CallRecord, eventsStored: Int, _ db: Database) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let intents = String(decoding: try encoder.encode(record.intents), as: UTF8.self)
        let handoff = try record.handoff.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try db.execute(
            sql: """
                INSERT INTO calls (id, channel, started_at, started_epoch, ended_at, caller_hash, outcome, intents, survey_score, handoff)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET ended_at = excluded.ended_at, outcome = excluded.outcome,
                    intents = excluded.intents, survey_score = excluded.survey_score, handoff = excluded.handoff
                """,
            arguments: [
                record.id, record.channel, record.startedAt.iso, record.startedAt.epochSeconds, record.endedAt?.iso,
                record.callerHash, record.outcome, intents, record.surveyScore, handoff,
            ])
        for (seq, event) in record.events.enumerated().dropFirst(eventsStored) {
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO call_events (call_id, seq, type, at, at_epoch, fields) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    record.id, seq, event.type, event.at.iso, event.at.epochSeconds,
                    String(decoding: try encoder.encode(event.fields), as: UTF8.self),
                ])
        }
        if record.outcome != nil {
            try retractFacts(of: record.id, db)
            try saveFacts(CallFacts(record), db)
        }
    }

    /// Closes the calls a stopped daemon left open (no outcome): each ends as `interrupted` at its
    /// last event and is counted. Returns how many there were. Run at start, before any call.
    @discardableResult
    package func closeInterruptedCalls() async throws -> Int {
        try await writer.write { db in
            let open = try Row.fetchAll(db, sql: "SELECT * FROM calls WHERE outcome IS NULL")
            for row in open {
                var record = try Self.record(row, db: db)
                let stored = record.events.count
                let last = record.events.last?.at ?? record.startedAt
                record.append(
                    CallEvent(
                        kind: .callEnded, at: last,
                        fields: [
                            "outcome": .string(CallOutcome.interrupted.rawValue),
                            "intents": .array(record.intents.map(JSONValue.string)),
                        ]))
                try Self.grow(record, eventsStored: stored, db)
            }
            return open.count
        }
    }

    /// Saves many records in one transaction (imports, benchmarks).
    package func save(all records: [CallRecord]) async throws {
        try await writer.write { db in
            for record in records { try Self.insert(record, db) }
        }
    }

    private static func insert(_ record: CallRecord, _ db: Database) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let intents = String(decoding: try encoder.encode(record.intents), as: UTF8.self)
        let handoff = try record.handoff.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let events = try record.events.map { String(decoding: try encoder.encode($0.fields), as: UTF8.self) }
        try retractFacts(of: record.id, db)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO calls (id, channel, started_at, started_epoch, ended_at, caller_hash, outcome, intents, survey_score, handoff)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                record.id, record.channel, record.startedAt.iso, record.startedAt.epochSeconds, record.endedAt?.iso,
                record.callerHash, record.outcome, intents, record.surveyScore, handoff,
            ])
        try db.execute(sql: "DELETE FROM call_events WHERE call_id = ?", arguments: [record.id])
        for (seq, event) in record.events.enumerated() {
            try db.execute(
                sql: "INSERT INTO call_events (call_id, seq, type, at, at_epoch, fields) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.id, seq, event.type, event.at.iso, event.at.epochSeconds, events[seq]])
        }
        try saveFacts(CallFacts(record), db)
    }

    package func records(limit: Int) async throws -> [CallRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM calls ORDER BY started_epoch DESC, rowid DESC LIMIT ?", arguments: [limit]
            )
            .map { try Self.record($0, db: db) }
        }
    }

    package func record(id: String) async throws -> CallRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM calls WHERE id = ?", arguments: [id]).map {
                try Self.record($0, db: db)
            }
        }
    }

    package func lastRecord() async throws -> CallRecord? { try await records(limit: 1).first }

    private static func record(_ row: Row, db: Database) throws -> CallRecord {
        let decoder = JSONDecoder()
        let started =
            LocalDateTime(iso: row["started_at"])
            ?? LocalDateTime(date: LocalDate(daysSinceEpoch: 0), time: TimeOfDay(minutes: 0))
        var record = CallRecord(
            id: row["id"], channel: row["channel"], startedAt: started, callerHash: row["caller_hash"])
        record.endedAt = (row["ended_at"] as String?).flatMap { LocalDateTime(iso: $0) }
        record.outcome = row["outcome"]
        record.intents = (try? decoder.decode([String].self, from: Data((row["intents"] as String).utf8))) ?? []
        record.surveyScore = row["survey_score"]
        record.handoff = (row["handoff"] as String?).flatMap {
            try? decoder.decode(JSONValue.self, from: Data($0.utf8))
        }
        record.events = try Row.fetchAll(
            db, sql: "SELECT * FROM call_events WHERE call_id = ? ORDER BY seq", arguments: [record.id]
        ).map { event in
            CallEvent(
                kind: EventKind(rawValue: event["type"]), at: LocalDateTime(iso: event["at"]) ?? started,
                fields: (try? decoder.decode([String: JSONValue].self, from: Data((event["fields"] as String).utf8)))
                    ?? [:])
        }
        return record
    }

    /// Removes the words of callers (utterance texts) older than `days`; returns how many events were cleared.
    @discardableResult
    package func purgeTranscripts(olderThanDays days: Int, now: LocalDateTime) async throws -> Int {
        let cutoff = now.epochSeconds - days * 86400
        return try await writer.write { db in
            try db.execute(
                sql:
                    "UPDATE call_events SET fields = json_remove(fields, '$.text') WHERE type = 'utterance' AND at_epoch < ? AND json_extract(fields, '$.text') IS NOT NULL",
                arguments: [cutoff])
            var changes = db.changesCount
            // The fallback's questions are the caller's words too.
            try db.execute(
                sql:
                    "UPDATE call_events SET fields = json_remove(fields, '$.question') WHERE type = 'assistant.answer' AND at_epoch < ? AND json_extract(fields, '$.question') IS NOT NULL",
                arguments: [cutoff])
            changes += db.changesCount
            return changes
        }
    }

    // Call events by day (`callbotctl questions`).

    /// The events of `kinds` of the calls started from `from` to `to` (local days, inclusive; nil
    /// leaves that end open): call by call in the order they started, each call's in its order.
    /// Reads only those events, not whole records.
    package func events(_ kinds: Set<EventKind>, ofCallsFrom from: LocalDate?, to: LocalDate?) async throws
        -> [(callID: String, events: [CallEvent])]
    {
        let types = kinds.map(\.rawValue).sorted()
        guard !types.isEmpty else { return [] }
        // The epoch bounds let the start index narrow the scan (a local day lies within a day of
        // the UTC one); the local day of `started_at` decides.
        let lowEpoch = from.map { ($0.daysSinceEpoch - 1) * 86400 } ?? Int.min
        let highEpoch = to.map { ($0.daysSinceEpoch + 2) * 86400 } ?? Int.max
        let firstDay = from?.iso ?? "0000-00-00"
        let lastDay = to?.iso ?? "9999-99-99"
        let placeholders = Array(repeating: "?", count: types.count).joined(separator: ", ")
        return try await writer.read { db in
            var arguments: StatementArguments = [lowEpoch, highEpoch, firstDay, lastDay]
            arguments += StatementArguments(types)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.call_id, e.type, e.at, e.fields, c.started_at
                    FROM call_events e JOIN calls c ON c.id = e.call_id
                    WHERE c.started_epoch >= ? AND c.started_epoch < ?
                        AND substr(c.started_at, 1, 10) >= ? AND substr(c.started_at, 1, 10) <= ?
                        AND e.type IN (\(placeholders))
                    ORDER BY c.started_epoch, c.id, e.seq
                    """,
                arguments: arguments)
            let decoder = JSONDecoder()
            var calls: [(callID: String, events: [CallEvent])] = []
            for row in rows {
                let callID: String = row["call_id"]
                let at =
                    LocalDateTime(iso: row["at"]) ?? LocalDateTime(iso: row["started_at"])
                    ?? LocalDateTime(date: LocalDate(daysSinceEpoch: 0), time: TimeOfDay(minutes: 0))
                let fields =
                    (try? decoder.decode([String: JSONValue].self, from: Data((row["fields"] as String).utf8))) ?? [:]
                let event = CallEvent(kind: EventKind(rawValue: row["type"]), at: at, fields: fields)
                if calls.last?.callID == callID {
                    calls[calls.count - 1].events.append(event)
                } else {
                    calls.append((callID, [event]))
                }
            }
            return calls
        }
    }

    // MARK: Indicators

    /// The report's figures from `from` to `to` (local days, inclusive), by `period`: the days'
    /// sums kept as calls are saved, the waits of answered hand-offs, callbacks done in their
    /// window (counted on the window's day), and calls per intent; days are gathered into periods.
    package func indicators(from: LocalDate, to: LocalDate, by period: ReportPeriod) async throws -> IndicatorReport {
        try await writer.read { db in
            var counts: [LocalDate: IndicatorCounts] = [:]
            let range: StatementArguments = [from.iso, to.iso]
            func add(_ day: String, _ change: (inout IndicatorCounts) -> Void) {
                guard let date = LocalDate(iso: day) else { return }
                change(&counts[period.start(of: date), default: IndicatorCounts()])
            }
            for row in try Row.fetchAll(
                db, sql: "SELECT * FROM daily_indicators WHERE day >= ? AND day <= ?", arguments: range)
            {
                let day: String = row["day"]
                add(day) { $0 = $0 + Self.dailyCounts(row) }
            }
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT day, wait_seconds FROM call_facts WHERE day >= ? AND day <= ? AND wait_seconds IS NOT NULL",
                arguments: range)
            {
                let day: String = row["day"]
                add(day) { $0.waits.append(row["wait_seconds"]) }
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT window_date, COUNT(*) AS made FROM callbacks
                    WHERE window_date >= ? AND window_date <= ? AND status = 'done' AND made_at IS NOT NULL
                        AND substr(made_at, 1, 16) >= window_date || 'T' || window_start
                        AND substr(made_at, 1, 16) < window_date || 'T' || window_end
                    GROUP BY window_date
                    """, arguments: range)
            {
                let day: String = row["window_date"]
                add(day) { $0.callbacksMadeInWindow += row["made"] as Int }
            }
            var perIntent: [String: IndicatorReport.IntentFigures] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT intent, SUM(calls) AS calls, SUM(self_service_calls) AS self_service FROM daily_intents
                    WHERE day >= ? AND day <= ? GROUP BY intent HAVING SUM(calls) > 0
                    """, arguments: range)
            {
                perIntent[row["intent"]] = .init(calls: row["calls"], selfServiceCalls: row["self_service"])
            }
            return IndicatorReport(from: from, to: to, by: period, counts: counts, perIntent: perIntent)
        }
    }

    /// Marks a callback made (`done`) or given up (`failed`, `no_answer`) at `at`, as the
    /// administrator; false when there is no such callback.
    package func markCallback(id: String, status: Callback.Status, at: LocalDateTime) async throws -> Bool {
        try await closeCallback(id: id, as: status, note: nil, by: nil, at: at) != .notFound
    }
}
