import CallRuntime
import CallbotCore
import Foundation
import Hummingbird
import Scheduling
import ServiceLifecycle
import Storage

/// The agents' routes: hand-offs with their context (and a live feed), the callbacks worklist,
/// the day's appointments.
struct Desk: Sendable {
    let parts: AdminServer.Parts

    typealias Route = AdminServer.Route

    var routes: [Route] {
        [
            Route(method: .get, path: "/handoffs", role: .agent) { request, _, _ in
                let limit = try Self.integer(request.uri.queryParameters, "limit", in: 1...500) ?? 50
                let cards = await parts.desk.recent(limit: limit)
                return try AdminServer.json(.object(["handoffs": .array(cards.map(\.json))]))
            },
            Route(method: .get, path: "/handoffs/feed", role: .agent) { _, _, _ in await feed() },
            Route(method: .get, path: "/handoffs/{callId}", role: .agent) { _, context, _ in
                try await handoff(try context.parameters.require("callId"))
            },
            Route(method: .get, path: "/callbacks", role: .agent) { request, _, _ in try await callbacks(request) },
            Route(method: .post, path: "/callbacks/next", role: .agent) { _, _, agent in try await next(agent!) },
            Route(method: .post, path: "/callbacks/{id}/claim", role: .agent) { _, context, agent in
                try Self.answer(
                    try await parts.store.claimCallback(id: try context.parameters.require("id"), by: agent!.name))
            },
            Route(method: .post, path: "/callbacks/{id}/outcome", role: .agent) { request, context, agent in
                try await outcome(request, id: try context.parameters.require("id"), agent: agent!)
            },
            Route(method: .get, path: "/appointments", role: .agent) { request, _, _ in try await appointments(request)
            },
            Route(method: .post, path: "/appointments/{reference}/cancel", role: .agent) { _, context, _ in
                try await cancel(try context.parameters.require("reference"))
            },
            Route(method: .get, path: "/appointments.ics", role: .agent) { request, _, _ in
                try await calendar(request)
            },
        ]
    }

    // MARK: Hand-offs

    /// The card while the daemon has it (with the caller's number); afterwards, the context kept
    /// in the call's record (without the number, which the record never holds).
    func handoff(_ callID: String) async throws -> Response {
        if let card = await parts.desk.card(callID) { return try AdminServer.json(card.json) }
        guard let record = try await parts.store.record(id: callID), case .object(var fields)? = record.handoff else {
            throw HTTPError(.notFound, message: "no hand-off for call \(callID)")
        }
        let result = record.events.last { $0.type == "transfer.result" }?.fields["result"]?.stringValue
        fields["caller"] = .null
        fields["at"] = record.events.first { $0.type == "handoff" }.map { .string($0.at.iso) } ?? .null
        fields["status"] = .string(result ?? (record.outcome == nil ? "waiting" : "abandoned"))
        fields["ended_at"] = record.endedAt.map { .string($0.iso) } ?? .null
        return try AdminServer.json(.object(fields))
    }

    /// Server-Sent Events: one `handoff` event each time a hand-off appears or ends (the data is
    /// its card), those still waiting first; a comment every 15 s keeps proxies from closing it.
    func feed() async -> Response {
        let cards = await parts.desk.feed()
        let events = AsyncStream<ByteBuffer> { continuation in
            let task = Task {
                continuation.yield(ByteBuffer(string: "retry: 3000\n\n"))
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await card in cards.cancelOnGracefulShutdown() {
                            let data = (try? AdminServer.encoder.encode(card.json)).map {
                                String(decoding: $0, as: UTF8.self)
                            }
                            continuation.yield(
                                ByteBuffer(
                                    string:
                                        "id: \(card.callID)/\(card.status.rawValue)\nevent: handoff\ndata: \(data ?? "{}")\n\n"
                                ))
                        }
                    }
                    group.addTask {
                        while (try? await Task.sleep(for: .seconds(15))) != nil {
                            continuation.yield(ByteBuffer(string: ":\n\n"))
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
            body: .init(asyncSequence: events))
    }

    // MARK: Callbacks

    /// `?from=DAY&to=DAY&status=pending,claimed`: from today on, open ones by default.
    func callbacks(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let from = try AdminServer.day(query, "from") ?? parts.now().date
        let to = try AdminServer.day(query, "to")
        if let to, to < from { throw HTTPError(.badRequest, message: "from must come before to") }
        var statuses: Set<Callback.Status> = [.pending, .claimed]
        if let text = query.get("status") {
            statuses = []
            for name in text.split(separator: ",") {
                guard let status = Callback.Status(rawValue: String(name)) else {
                    let known = Callback.Status.allCases.map(\.rawValue).joined(separator: ", ")
                    throw HTTPError(.badRequest, message: "status must be among \(known), not \(name)")
                }
                statuses.insert(status)
            }
        }
        let list = try await parts.store.callbacks(from: from, to: to, statuses: statuses)
        return try AdminServer.json(.object(["callbacks": .array(list.map(\.json))]))
    }

    /// The first callback due is dialled now and connected to the agent's own phone.
    func next(_ agent: Access.Principal) async throws -> Response {
        guard let uri = agent.uri else {
            throw HTTPError(.conflict, message: "\(agent.name) has no SIP URI in the agents' file to be connected to")
        }
        switch try await parts.next(uri) {
        case .dialing(let callback): return try AdminServer.json(callback.json, status: .accepted)
        case .nothingDue: throw HTTPError(.notFound, message: "no callback is due now")
        case .noDialer: throw HTTPError(.conflict, message: "the bot does not place calls: no dialer in callbot.yaml")
        }
    }

    struct OutcomeBody: Decodable {
        var outcome: String
        var note: String?
    }

    /// `{"outcome": "done|no_answer|failed|cancelled", "note": "…"}` (cancelled: the person no
    /// longer needs it; it is never dialled).
    func outcome(_ request: Request, id: String, agent: Access.Principal) async throws -> Response {
        let body = try await Self.decode(
            OutcomeBody.self, request, example: #"{"outcome": "done", "note": "rappelée, dossier complet"}"#)
        guard let status = Callback.Status(rawValue: body.outcome), !status.isOpen else {
            throw HTTPError(
                .badRequest, message: "outcome must be done, no_answer, failed or cancelled, not \(body.outcome)")
        }
        if let note = body.note, note.count > 1000 {
            throw HTTPError(.badRequest, message: "a note has 1000 characters at most")
        }
        let by = agent.role == .admin ? nil : agent.name
        return try Self.answer(
            try await parts.store.closeCallback(id: id, as: status, note: body.note, by: by, at: parts.now()))
    }

    static func answer(_ change: CallbackChange) throws -> Response {
        switch change {
        case .changed(let callback): return try AdminServer.json(callback.json)
        case .notFound: throw HTTPError(.notFound, message: "no such callback")
        case .conflict(let callback):
            let who = callback.claimedBy.map { " by \($0)" } ?? ""
            throw HTTPError(.conflict, message: "this callback is \(callback.status.rawValue)\(who)")
        }
    }

    // MARK: Appointments

    /// `?day=DAY` (today by default): the day's appointments with the caller's number.
    func appointments(_ request: Request) async throws -> Response {
        let day = try AdminServer.day(request.uri.queryParameters, "day") ?? parts.now().date
        let labels = labels()
        let list = try await parts.store.listAppointments(from: day, to: day)
        return try AdminServer.json(
            .object([
                "day": .string(day.iso),
                "appointments": .array(
                    list.map { appointment in
                        guard case .object(var fields) = appointment.json(withPhone: true) else { return .null }
                        fields["motif_label"] = .string(labels[appointment.motifID] ?? appointment.motifID)
                        return .object(fields)
                    }),
            ]))
    }

    /// Cancels a booked appointment still to come; the caller is then to be called and told
    /// (a `notice` callback in the next callback window).
    func cancel(_ reference: String) async throws -> Response {
        let now = parts.now()
        guard let appointment = try await parts.store.appointment(reference: reference) else {
            throw HTTPError(.notFound, message: "no appointment \(reference)")
        }
        guard appointment.status == .booked, now < appointment.start else {
            throw HTTPError(.conflict, message: "appointment \(reference) is \(appointment.status.rawValue) or past")
        }
        guard let cancelled = try await parts.store.cancelAppointment(reference: reference) else {
            throw HTTPError(.conflict, message: "appointment \(reference) was cancelled meanwhile")
        }
        var notice: JSONValue = .null
        let config = parts.config()
        // The person is told before the appointment would have been: the first window that opens
        // before it, cut at its start.
        let windows = SlotPlanner(config: config).callbackWindows(Preference(), now: now, counts: [:], limit: 3)
        if let phone = cancelled.phone,
            var window = windows.first(where: {
                LocalDateTime(date: $0.date, time: $0.range.start, utcOffset: now.utcOffset) < cancelled.start
            })
        {
            if window.date == cancelled.start.date, cancelled.start.time < window.range.end {
                window.range = TimeRange(start: window.range.start, end: cancelled.start.time)
            }
            let label = labels()[cancelled.motifID] ?? cancelled.motifID
            let callback = Callback(
                id: "cb-" + Scheduler.randomReference(digits: 8), window: window, phone: phone,
                callID: cancelled.callID,
                context: "rendez-vous \(cancelled.reference) annulé (\(label), \(cancelled.start.date.iso) "
                    + "\(cancelled.start.time))", purpose: .notice, appointmentReference: cancelled.reference)
            notice = try await parts.store.insertCallback(callback, capacity: .max).json
        }
        var answer: [String: JSONValue] = ["appointment": cancelled.json(withPhone: true), "notice": notice]
        if notice == .null {
            // Nobody will call: the agent must, or the person may come for nothing.
            answer["warning"] = .string(
                cancelled.phone == nil
                    ? "no number is known for this appointment: the person cannot be told by phone"
                    : "no callback window opens before the appointment: call the person yourself")
        }
        return try AdminServer.json(.object(answer))
    }

    /// `?from=DAY&to=DAY`: today and the 60 days after by default, at most a year.
    func calendar(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let now = parts.now()
        let from = try AdminServer.day(query, "from") ?? now.date
        let to = try AdminServer.day(query, "to") ?? from.adding(days: 60)
        guard from <= to, to.daysSinceEpoch - from.daysSinceEpoch <= 366 else {
            throw HTTPError(.badRequest, message: "from must come before to, a year at most")
        }
        let config = parts.config()
        let list = try await parts.store.listAppointments(from: from, to: to)
        let text = ICalendar.render(
            list, service: config.service.name, labels: labels(), stamp: now,
            host: config.service.website ?? "callbot.invalid")
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/calendar; charset=utf-8",
                .contentDisposition: "attachment; filename=\"rendez-vous-\(from.iso)-\(to.iso).ics\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func labels() -> [String: String] {
        Dictionary(parts.config().appointments.motifs.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Input

    /// A JSON body of type `T`, or 400 naming an example.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, example: String) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 16 * 1024)
        } catch {
            throw HTTPError(.contentTooLarge, message: "a body has 16 kB at most")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "the body must be JSON like \(example)")
        }
    }

    static func integer(_ query: Parameters, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = query.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPError(
                .badRequest, message: "\(name) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
