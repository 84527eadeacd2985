import AdminAPI
import CallRuntime
import CallbotCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Storage
import Synchronization
import Testing
import Yams

/// The agents' and administrators' routes through Hummingbird's test client, over a real
/// SQLite store (in memory) and the demo configuration.
@Suite struct AgentsAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let deployment: Deployment = {
        do {
            return try Deployment.load(from: root + "/config")
        } catch {
            fatalError("the demo configuration does not load: \(error)")
        }
    }()

    static let adminToken = "admin-token-0123456789"
    static let alice = "alice-token-0123456789"
    static let bob = "bob-token-0123456789"
    static let agents = """
        # name  role   token                              phone
        alice   agent  \(alice)   sip:alice@127.0.0.1:5091
        bob     agent  sha256:0357e24c1cb1874dde0773886097863f71ac666f63fba1e9d4c623b79ffda11f
        """
    /// Monday 23 November 2026, 10:00.
    static let now = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!

    struct Fixture {
        let store: SQLiteStore
        let desk: AgentDesk
        let parts: AdminServer.Parts
        var app: some ApplicationProtocol {
            Application(router: AdminServer.router(parts, logger: Logger(label: "test")))
        }
    }

    static func fixture(
        reload: @escaping @Sendable () async -> AdminServer.ReloadOutcome = { .applied(restartNeeded: []) },
        next: @escaping @Sendable (String) async throws -> AdminServer.PullOutcome = { _ in .noDialer }
    ) throws -> Fixture {
        let store = try SQLiteStore()
        let desk = AgentDesk(capacity: 2)
        let access = try Access(adminToken: adminToken, agents: agents, file: "agents.tokens")
        let parts = AdminServer.Parts(
            access: { access }, registry: PrometheusCollectorRegistry(), store: store, desk: desk,
            config: { deployment.config }, now: { now }, reload: reload, next: next)
        return Fixture(store: store, desk: desk, parts: parts)
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any],
            "\(String(buffer: response.body))")
    }

    static func message(_ response: TestResponse) -> String {
        let error = (try? object(response))?["error"] as? [String: Any]
        return error?["message"] as? String ?? ""
    }

    // MARK: The document and the tokens

    @Test func theOpenAPIDocumentListsEveryRouteWithItsRole() throws {
        let text = try String(contentsOfFile: Self.root + "/Sources/AdminAPI/openapi.yaml", encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: [String: String] = [:]
        for (path, operations) in paths {
            for (method, operation) in operations {
                let role = (operation as? [String: Any])?["x-callbot-role"] as? String ?? "none"
                documented["\(method.uppercased()) \(path)"] = role
            }
        }
        let routes = AdminServer.routes(try Self.fixture().parts)
        var served: [String: String] = [:]
        for route in routes { served["\(route.method.rawValue) \(route.path)"] = route.role?.rawValue ?? "none" }
        #expect(served == documented)
        #expect(AdminServer.asset("openapi.yaml") == Array(text.utf8), "the document is served as it is in the repo")
    }

    @Test func everyProtectedRouteWantsAKnownTokenOfTheRightRole() async throws {
        let fixture = try Self.fixture()
        let routes = AdminServer.routes(fixture.parts).filter { $0.role != nil }
        #expect(routes.count >= 12)
        try await fixture.app.test(.router) { client in
            for route in routes {
                let uri = route.path.replacingOccurrences(of: "{callId}", with: "c-x")
                    .replacingOccurrences(of: "{id}", with: "cb-x").replacingOccurrences(of: "{reference}", with: "1")
                let missing = try await client.execute(uri: uri, method: route.method)
                #expect(missing.status == .unauthorized, "\(uri)")
                #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                let wrong = try await client.execute(
                    uri: uri, method: route.method, headers: Self.bearer("not-a-token-of-ours-at-all"))
                #expect(wrong.status == .unauthorized, "\(uri)")
                let basic = try await client.execute(
                    uri: uri, method: route.method, headers: [.authorization: "Basic YWxpY2U6eA=="])
                #expect(basic.status == .unauthorized, "\(uri)")
                if route.role == .admin {
                    let agent = try await client.execute(
                        uri: uri, method: route.method, headers: Self.bearer(Self.alice))
                    #expect(agent.status == .forbidden, "\(uri)")
                    #expect(Self.message(agent).contains("needs admin"))
                }
            }
            // A token given as its digest in the file works; public routes want none.
            let bob = try await client.execute(uri: "/callbacks", method: .get, headers: Self.bearer(Self.bob))
            #expect(bob.status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            let document = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(document.status == .ok && String(buffer: document.body).hasPrefix("openapi: 3.1"))
            // The dashboard's files hold no data: no token, a strict content policy.
            for (path, type) in [
                ("/", "text/html"), ("/dashboard.js", "text/javascript"), ("/dashboard.css", "text/css"),
            ] {
                let file = try await client.execute(uri: path, method: .get)
                #expect(file.status == .ok && file.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                #expect(file.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true)
                #expect(file.body.readableBytes > 100)
            }
        }
    }

    @Test(arguments: [
        ("alice agent short", "at least 16 characters"),
        ("alice chief alice-token-0123456789", "role must be agent or admin"),
        ("alice agent alice-token-0123456789 tel:123", "sip: or sips:"),
        ("alice agent sha256:abcd", "64 hexadecimal digits"),
        ("alice agent", "NAME ROLE TOKEN"),
        ("admin agent alice-token-0123456789", "named twice"),
        ("alice agent admin-token-0123456789", "used twice"),
    ])
    func aBadAgentsFileNamesItsLine(_ line: String, _ reason: String) {
        do {
            _ = try Access(adminToken: Self.adminToken, agents: "# agents\n\n" + line, file: "agents.tokens")
            Issue.record("accepted: \(line)")
        } catch {
            #expect(error.description.hasPrefix("agents.tokens:3: ") && error.description.contains(reason), "\(error)")
        }
    }

    // MARK: Hand-offs

    static let context = HandoffContext(
        callID: "c-handoff", reason: "caller_request", intent: "conseiller", intents: ["horaires", "conseiller"],
        slots: ["date": "2026-11-24"], summary: "horaires, conseiller — quels sont vos horaires",
        answers: ["La mairie est ouverte du lundi au vendredi."])

    @Test func anAgentSeesAHandoffsContextAndTheCallersNumber() async throws {
        let fixture = try Self.fixture()
        #expect(await fixture.desk.take(Self.context, caller: "+33612345678"))
        try await fixture.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/handoffs/c-handoff", method: .get, headers: Self.bearer(Self.alice))
            #expect(response.status == .ok)
            let card = try Self.object(response)
            #expect(card["caller"] as? String == "+33612345678" && card["status"] as? String == "waiting")
            #expect(card["intents"] as? [String] == ["horaires", "conseiller"])
            #expect(card["answers"] as? [String] == ["La mairie est ouverte du lundi au vendredi."])
            #expect((card["slots"] as? [String: String])?["date"] == "2026-11-24")
            let list = try Self.object(
                try await client.execute(uri: "/handoffs?limit=5", method: .get, headers: Self.bearer(Self.alice)))
            #expect((list["handoffs"] as? [[String: Any]])?.first?["call_id"] as? String == "c-handoff")
            let bad = try await client.execute(uri: "/handoffs?limit=0", method: .get, headers: Self.bearer(Self.alice))
            #expect(bad.status == .badRequest && Self.message(bad).contains("limit"))
            let unknown = try await client.execute(
                uri: "/handoffs/c-none", method: .get, headers: Self.bearer(Self.alice))
            #expect(unknown.status == .notFound)
        }
    }

    @Test func aHandoffOfAnEarlierRunComesFromItsRecordWithoutTheNumber() async throws {
        let fixture = try Self.fixture()
        var record = CallRecord(id: "c-old", channel: "sip", startedAt: Self.now, callerHash: "h")
        record.append(CallEvent(kind: .handoff, at: Self.now, fields: ["context": Self.context.json]))
        record.append(CallEvent(kind: .transferResult, at: Self.now.adding(minutes: 1), fields: ["result": "answered"]))
        record.append(CallEvent(kind: .callEnded, at: Self.now.adding(minutes: 1), fields: ["outcome": "transferred"]))
        try await fixture.store.save(record)
        try await fixture.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/handoffs/c-old", method: .get, headers: Self.bearer(Self.bob))
            let card = try Self.object(response)
            #expect(card["status"] as? String == "answered" && card["caller"] is NSNull)
            #expect(card["summary"] as? String == Self.context.summary)
        }
    }

    @Test func theFeedShowsWaitingHandoffsThenEachChange() async throws {
        let fixture = try Self.fixture()
        var earlier = Self.context
        earlier.callID = "c-earlier"
        #expect(await fixture.desk.take(earlier, caller: nil))
        try await fixture.app.test(.router) { client in
            async let response = client.execute(uri: "/handoffs/feed", method: .get, headers: Self.bearer(Self.alice))
            while await fixture.desk.watchers == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await fixture.desk.take(Self.context, caller: "+33612345678"))
            await fixture.desk.release("c-handoff", .transferResult(.answered))
            await fixture.desk.closeFeeds()
            let feed = try await response
            #expect(feed.status == .ok && feed.headers[.contentType] == "text/event-stream")
            let events = String(buffer: feed.body).components(separatedBy: "\n\n").filter { $0.contains("event: ") }
            let ids = events.map { $0.split(separator: "\n").first { $0.hasPrefix("id: ") } ?? "" }
            #expect(ids == ["id: c-earlier/waiting", "id: c-handoff/waiting", "id: c-handoff/answered"], "\(events)")
            let data = try #require(events[1].split(separator: "\n").first { $0.hasPrefix("data: ") })
            let card = try #require(
                try JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any])
            #expect(card["caller"] as? String == "+33612345678" && card["summary"] as? String == Self.context.summary)
        }
    }

    // MARK: Callbacks

    static let window = CallbackWindow(
        date: now.date, range: TimeRange(start: TimeOfDay(hour: 14, minute: 0)!, end: TimeOfDay(hour: 15, minute: 30)!))

    @Test func agentsClaimAndCloseCallbacks() async throws {
        let fixture = try Self.fixture()
        for id in ["cb-1", "cb-2"] {
            _ = try await fixture.store.insertCallback(
                Callback(id: id, window: Self.window, phone: "+33612345678", context: "passeport"), capacity: 4)
        }
        try await fixture.app.test(.router) { client in
            let alice = Self.bearer(Self.alice)
            let list = try Self.object(try await client.execute(uri: "/callbacks", method: .get, headers: alice))
            let items = try #require(list["callbacks"] as? [[String: Any]])
            #expect(
                items.map { $0["id"] as? String } == ["cb-1", "cb-2"] && items[0]["phone"] as? String == "+33612345678")
            let badStatus = try await client.execute(uri: "/callbacks?status=maybe", method: .get, headers: alice)
            #expect(badStatus.status == .badRequest && Self.message(badStatus).contains("status must be among"))
            let badDay = try await client.execute(uri: "/callbacks?from=24/11/2026", method: .get, headers: alice)
            #expect(badDay.status == .badRequest && Self.message(badDay).contains("from must be a day"))

            let claim = try await client.execute(uri: "/callbacks/cb-1/claim", method: .post, headers: alice)
            let claimed = try Self.object(claim)
            #expect(claim.status == .ok && claimed["claimed_by"] as? String == "alice")
            let taken = try await client.execute(
                uri: "/callbacks/cb-1/claim", method: .post, headers: Self.bearer(Self.bob))
            #expect(taken.status == .conflict && Self.message(taken).contains("claimed by alice"))
            let missing = try await client.execute(uri: "/callbacks/cb-9/claim", method: .post, headers: alice)
            #expect(missing.status == .notFound)

            for (body, reason) in [
                ("not json", "must be JSON"), (#"{"note": "x"}"#, "must be JSON"),
                (#"{"outcome": "maybe"}"#, "outcome must be done, no_answer, failed or cancelled"),
                (#"{"outcome": "claimed"}"#, "outcome must be"),
                (#"{"outcome": "done", "note": "\#(String(repeating: "x", count: 1001))"}"#, "1000 characters"),
            ] {
                let bad = try await client.execute(
                    uri: "/callbacks/cb-1/outcome", method: .post, headers: alice, body: ByteBuffer(string: body))
                #expect(bad.status == .badRequest && Self.message(bad).contains(reason), "\(body)")
            }
            let otherAgent = try await client.execute(
                uri: "/callbacks/cb-1/outcome", method: .post, headers: Self.bearer(Self.bob),
                body: ByteBuffer(string: #"{"outcome": "done"}"#))
            #expect(otherAgent.status == .conflict)
            let done = try await client.execute(
                uri: "/callbacks/cb-1/outcome", method: .post, headers: alice,
                body: ByteBuffer(string: #"{"outcome": "done", "note": "rappelée, dossier complet"}"#))
            let closed = try Self.object(done)
            #expect(done.status == .ok && closed["status"] as? String == "done" && closed["attempts"] as? Int == 1)
            let again = try await client.execute(
                uri: "/callbacks/cb-1/outcome", method: .post, headers: alice,
                body: ByteBuffer(string: #"{"outcome": "failed"}"#))
            #expect(again.status == .conflict)
            let noAnswer = try await client.execute(
                uri: "/callbacks/cb-2/outcome", method: .post, headers: Self.bearer(Self.bob),
                body: ByteBuffer(string: #"{"outcome": "no_answer"}"#))
            #expect(noAnswer.status == .ok)
            let open = try Self.object(try await client.execute(uri: "/callbacks", method: .get, headers: alice))
            #expect((open["callbacks"] as? [Any])?.isEmpty == true)
            let made = try Self.object(
                try await client.execute(uri: "/callbacks?status=done,no_answer", method: .get, headers: alice))
            #expect(
                (made["callbacks"] as? [[String: Any]])?.compactMap { $0["note"] as? String } == [
                    "rappelée, dossier complet"
                ])
        }
    }

    @Test func anAgentPullsTheNextCallbackToTheirOwnPhone() async throws {
        let asked = Mutex<[String]>([])
        let due = Mutex<[Callback]>([Callback(id: "cb-q", window: Self.window, phone: "+33612345678", purpose: .queue)])
        let fixture = try Self.fixture(next: { uri in
            asked.withLock { $0.append(uri) }
            guard let callback = due.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return .nothingDue }
            return .dialing(callback)
        })
        try await fixture.app.test(.router) { client in
            let pulled = try await client.execute(
                uri: "/callbacks/next", method: .post, headers: Self.bearer(Self.alice))
            let callback = try Self.object(pulled)
            #expect(pulled.status == .accepted && callback["purpose"] as? String == "queue")
            let none = try await client.execute(uri: "/callbacks/next", method: .post, headers: Self.bearer(Self.alice))
            #expect(none.status == .notFound && Self.message(none).contains("no callback is due"))
            // Bob's line names no phone: nothing is dialled for him.
            let bob = try await client.execute(uri: "/callbacks/next", method: .post, headers: Self.bearer(Self.bob))
            #expect(bob.status == .conflict && Self.message(bob).contains("no SIP URI"))
        }
        #expect(asked.withLock { $0 } == ["sip:alice@127.0.0.1:5091", "sip:alice@127.0.0.1:5091"])
        let off = try Self.fixture()
        try await off.app.test(.router) { client in
            let refused = try await client.execute(
                uri: "/callbacks/next", method: .post, headers: Self.bearer(Self.alice))
            #expect(refused.status == .conflict && Self.message(refused).contains("no dialer"))
        }
    }

    // MARK: Appointments

    static func book(_ store: SQLiteStore, _ reference: String, at start: String) async throws {
        _ = try await store.insertAppointment(
            Appointment(
                reference: reference, motifID: "titres", start: LocalDateTime(iso: start)!, durationMinutes: 20,
                seat: 0,
                callerHash: "h", phone: "+33612345678", callID: "c-\(reference)"), capacity: 2)
    }

    @Test func agentsListCancelAndExportAppointments() async throws {
        let fixture = try Self.fixture()
        try await Self.book(fixture.store, "123456", at: "2026-11-24T09:00:00+01:00")
        try await Self.book(fixture.store, "234567", at: "2026-11-24T09:20:00+01:00")
        try await Self.book(fixture.store, "345678", at: "2026-11-23T08:30:00+01:00")
        try await fixture.app.test(.router) { client in
            let alice = Self.bearer(Self.alice)
            let day = try Self.object(
                try await client.execute(uri: "/appointments?day=2026-11-24", method: .get, headers: alice))
            let list = try #require(day["appointments"] as? [[String: Any]])
            #expect(list.map { $0["reference"] as? String } == ["123456", "234567"])
            #expect(list[0]["phone"] as? String == "+33612345678" && list[0]["motif_label"] as? String != nil)
            let bad = try await client.execute(uri: "/appointments?day=demain", method: .get, headers: alice)
            #expect(bad.status == .badRequest && Self.message(bad).contains("day must be a day"))

            let cancel = try await client.execute(uri: "/appointments/123456/cancel", method: .post, headers: alice)
            let cancelled = try Self.object(cancel)
            #expect((cancelled["appointment"] as? [String: Any])?["status"] as? String == "cancelled")
            // The caller is to be told: a notice in the next callback window, with the number.
            let notice = try #require(cancelled["notice"] as? [String: Any], "\(cancelled)")
            #expect(notice["purpose"] as? String == "notice" && notice["appointment"] as? String == "123456")
            #expect(notice["phone"] as? String == "+33612345678" && notice["date"] as? String == "2026-11-23")
            let twice = try await client.execute(uri: "/appointments/123456/cancel", method: .post, headers: alice)
            #expect(twice.status == .conflict)
            let past = try await client.execute(uri: "/appointments/345678/cancel", method: .post, headers: alice)
            #expect(past.status == .conflict)
            // Too soon for any callback window: nobody will call, the agent is told to.
            try await Self.book(fixture.store, "456789", at: "2026-11-23T10:20:00+01:00")
            let soon = try Self.object(
                try await client.execute(uri: "/appointments/456789/cancel", method: .post, headers: alice))
            #expect(
                soon["notice"] is NSNull && (soon["warning"] as? String)?.contains("call the person yourself") == true)
            let unknown = try await client.execute(uri: "/appointments/999999/cancel", method: .post, headers: alice)
            #expect(unknown.status == .notFound)

            let ics = try await client.execute(
                uri: "/appointments.ics?from=2026-11-23&to=2026-11-30", method: .get, headers: alice)
            #expect(ics.status == .ok && ics.headers[.contentType] == "text/calendar; charset=utf-8")
            let text = String(buffer: ics.body)
            #expect(text.hasPrefix("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && text.hasSuffix("END:VCALENDAR\r\n"))
            #expect(text.components(separatedBy: "BEGIN:VEVENT").count == 5)
            #expect(text.contains("UID:123456@villebois.fr\r\n") && text.contains("DTSTART:20261124T080000Z\r\n"))
            #expect(text.contains("DTEND:20261124T082000Z\r\n") && text.contains("STATUS:CANCELLED"))
            #expect(!text.contains("+33612345678"), "no caller numbers in calendar files")
            for line in text.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 75, "\(line)") }
            let reversed = try await client.execute(
                uri: "/appointments.ics?from=2026-11-30&to=2026-11-23", method: .get, headers: alice)
            #expect(reversed.status == .badRequest)
        }
    }

    // MARK: Administration

    @Test func aReloadIsAppliedOrRefusedWithItsReason() async throws {
        let outcome = Mutex<AdminServer.ReloadOutcome>(.refused("config/callbot.yaml:12: capacity must be 1…1000"))
        let fixture = try Self.fixture(reload: { outcome.withLock { $0 } })
        try await fixture.app.test(.router) { client in
            let admin = Self.bearer(Self.adminToken)
            let refused = try await client.execute(uri: "/config/reload", method: .post, headers: admin)
            #expect(refused.status == .unprocessableContent)
            #expect(Self.message(refused).contains("running one is kept: config/callbot.yaml:12: capacity"))
            outcome.withLock { $0 = .applied(restartNeeded: ["speech"]) }
            let applied = try await client.execute(uri: "/config/reload", method: .post, headers: admin)
            let body = try Self.object(applied)
            #expect(applied.status == .ok && body["restart_needed"] as? [String] == ["speech"])
            let report = try await client.execute(uri: "/api/report?by=year", method: .get, headers: admin)
            #expect(report.status == .badRequest && Self.message(report).contains("by must be"))
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: admin)
            #expect(metrics.status == .ok)
        }
    }
}
