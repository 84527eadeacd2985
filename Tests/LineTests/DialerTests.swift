import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Line {
    /// Callbacks the bot places itself, against SIPp callees that answer, are busy or never answer,
    /// on a clock the test moves (`CALLBOT_CLOCK_FILE`).
    @Suite struct DialerTests {
        /// A daemon whose dialer calls the trunk at `trunkPort`, on a clock set to `start`.
        static func daemon(
            sipPort: Int, rtpPorts: String, trunkPort: Int, clock: String, start: String, maxAttempts: Int = 3,
            edit: (inout String) -> Void = { _ in }
        ) throws -> Daemon {
            try start.write(toFile: clock, atomically: true, encoding: .utf8)
            return try Daemon(
                sipPort: sipPort, rtpPorts: rtpPorts, environment: ["CALLBOT_CLOCK_FILE": clock]
            ) { callbot, _ in
                edit(&callbot)
                callbot = callbot.replacingOccurrences(
                    of: "  max_attempts: 3\n", with: "  max_attempts: \(maxAttempts)\n")
                callbot += """

                    dialer:
                      trunk: "127.0.0.1:\(trunkPort)"
                      target: "sip:{number}@127.0.0.1:\(trunkPort)"
                      from: "sip:accueil@villebois.fr"
                      ring_timeout_seconds: 5
                      retry_after_minutes: 5
                      check_interval_seconds: 1

                    """
            }
        }

        /// The callbacks as `callbotctl callbacks list --json` prints them.
        static func callbacks(_ daemon: Daemon) throws -> [[String: Any]] {
            let run = try runProcess(
                binary("callbotctl"),
                ["callbacks", "list", "--json", "--db", daemon.database, "--config", daemon.folder + "/config"])
            return try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]], "\(run.stderr)")
        }

        /// Inserts a pending callback in the daemon's database, as an agent's or caller's request would.
        static func insertCallback(
            _ daemon: Daemon, id: String, phone: String, day: String, window: (String, String),
            claimedBy agent: String? = nil
        ) throws {
            let status = agent == nil ? "pending" : "claimed"
            let sql = """
                INSERT INTO callbacks (id, window_date, window_start, window_end, window_key, phone, status, attempts,
                    context, purpose, topic, created_epoch, claimed_by)
                VALUES ('\(id)', '\(day)', '\(window.0)', '\(window.1)', '\(day) \(window.0)-\(window.1)', '\(phone)',
                    '\(status)', 0, 'passeport — je voudrais un passeport', 'request', 'passeport', 0,
                    \(agent.map { "'\($0)'" } ?? "NULL"));
                """
            let run = try runProcess("/usr/bin/sqlite3", [daemon.database, sql])
            #expect(run.status == 0, "\(run.stderr)")
        }

        /// A private agents' file with `lines`, removed by the caller.
        static func agentsFile(_ lines: String) throws -> String {
            let path = NSTemporaryDirectory() + "callbot-agents-" + UUID().uuidString
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            return path
        }

        /// `POST /callbacks/next` with `token`: the HTTP status and the body.
        static func pull(port: Int, token: String) throws -> (status: String, body: String) {
            let run = try runProcess(
                "/usr/bin/curl",
                [
                    "-s", "-w", "\n%{http_code}", "-X", "POST", "-H", "Authorization: Bearer \(token)",
                    "http://127.0.0.1:\(port)/callbacks/next",
                ])
            let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }

        static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return true }
                usleep(200_000)
            }
            return try condition()
        }

        @Test func aCallbackBookedByACallIsDialledInItsWindowAndConnectedToAnAgent() throws {
            let clock = NSTemporaryDirectory() + "callbot-clock-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: clock) }
            // Monday 23 November 2026, 08:40: before the first callback window (09:00-10:30).
            let daemon = try Self.daemon(
                sipPort: 29070, rtpPorts: "29100-29199", trunkPort: 29081, clock: clock,
                start: "2026-11-23T08:40:00+01:00")
            let booked = try daemon.sipp(
                "callback_keys.xml", port: 29080, mediaPort: 29400, variables: ["rtp_port": "29401"])
            #expect(booked.status == 0, "\(booked.output)")
            let list = try Self.callbacks(daemon)
            let callback = try #require(list.first, "no callback booked:\n\(daemon.log)")
            #expect(list.count == 1 && callback["phone"] as? String == "+33612345678")
            #expect(callback["status"] as? String == "pending" && callback["date"] as? String == "2026-11-23")
            let window = try #require(callback["window"] as? String)
            // Outside its window, nothing is dialled.
            sleep(3)
            #expect(!daemon.log.contains("calling back"), "\(daemon.log)")
            // The callee answers; the clock moves into the window.
            let (folder, sipPort) = (daemon.folder, daemon.sipPort)
            let callee = Thread.detachNewThreadWithResult {
                Result {
                    try Daemon.sipp(
                        "callee_answers.xml", folder: folder, sipPort: sipPort, port: 29081, mediaPort: 29402)
                }
            }
            sleep(1)
            try "2026-11-23T\(window.prefix(5)):30+01:00".write(toFile: clock, atomically: true, encoding: .utf8)
            let answered = try callee.value.get()
            #expect(answered.status == 0, "\(answered.output)\n\(daemon.log)")
            #expect(
                try Self.waitFor(5) { try Self.callbacks(daemon).first?["status"] as? String != "dialing" },
                "\(daemon.log)")
            let done = try #require(try Self.callbacks(daemon).first)
            #expect(done["status"] as? String == "done" && done["attempts"] as? Int == 1, "\(done)")
            #expect((done["note"] as? String)?.contains("mis en relation") == true)
            #expect(daemon.log.contains("calling back") && !daemon.log.contains("+33612345678"), "no number in logs")
            // Made in its window: in the indicators.
            let report = try runProcess(
                binary("callbotctl"),
                [
                    "report", "--from", "2026-11-23", "--to", "2026-11-23", "--db", daemon.database, "--config",
                    daemon.folder + "/config", "--format", "json",
                ])
            let totals = (try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])?["totals"]
            #expect((totals as? [String: Any])?["callbacks_made_in_window"] as? Int == 1, "\(report.stdout)")
            #expect(daemon.stop() == 0)
        }

        @Test func aBusyCalleeIsTriedAgainLaterInTheWindowThenRecordedAsNotReached() throws {
            let clock = NSTemporaryDirectory() + "callbot-clock-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: clock) }
            let daemon = try Self.daemon(
                sipPort: 29071, rtpPorts: "29200-29299", trunkPort: 29083, clock: clock,
                start: "2026-11-23T08:59:00+01:00", maxAttempts: 2)
            let (folder, sipPort) = (daemon.folder, daemon.sipPort)
            let callee = Thread.detachNewThreadWithResult {
                Result {
                    try Daemon.sipp(
                        "callee_busy.xml", folder: folder, sipPort: sipPort, port: 29083, mediaPort: 29404,
                        extra: ["-m", "2"])
                }
            }
            sleep(1)
            try Self.insertCallback(
                daemon, id: "cb-busy", phone: "+33611223344", day: "2026-11-23", window: ("09:00", "10:30"))
            try "2026-11-23T09:00:10+01:00".write(toFile: clock, atomically: true, encoding: .utf8)
            #expect(try Self.waitFor(10) { try Self.callbacks(daemon).first?["attempts"] as? Int == 1 })
            sleep(2)
            let waiting = try #require(try Self.callbacks(daemon).first)
            #expect(waiting["status"] as? String == "pending", "busy: tried again later\n\(waiting)")
            // Not before the wait between attempts is over; then once more, and given up.
            try "2026-11-23T09:06:00+01:00".write(toFile: clock, atomically: true, encoding: .utf8)
            let busy = try callee.value.get()
            #expect(busy.status == 0, "\(busy.output)")
            #expect(try Self.waitFor(5) { try Self.callbacks(daemon).first?["status"] as? String == "no_answer" })
            let given = try #require(try Self.callbacks(daemon).first)
            #expect(
                given["attempts"] as? Int == 2 && (given["note"] as? String)?.contains("occupé") == true, "\(given)")
            #expect(daemon.stop() == 0)
        }

        @Test func aCalleeWhoNeverAnswersIsCancelledAfterTheRingTimeout() throws {
            let clock = NSTemporaryDirectory() + "callbot-clock-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: clock) }
            let daemon = try Self.daemon(
                sipPort: 29072, rtpPorts: "29300-29399", trunkPort: 29085, clock: clock,
                start: "2026-11-23T14:10:00+01:00", maxAttempts: 1)
            let (folder, sipPort) = (daemon.folder, daemon.sipPort)
            let callee = Thread.detachNewThreadWithResult {
                Result {
                    try Daemon.sipp(
                        "callee_no_answer.xml", folder: folder, sipPort: sipPort, port: 29085, mediaPort: 29406)
                }
            }
            sleep(1)
            // A callback claimed by an agent is never dialled; the other one is.
            try Self.insertCallback(
                daemon, id: "cb-claimed", phone: "+33699887766", day: "2026-11-23", window: ("14:00", "15:30"),
                claimedBy: "alice")
            try Self.insertCallback(
                daemon, id: "cb-silent", phone: "+33611223344", day: "2026-11-23", window: ("14:00", "15:30"))
            let started = Date()
            let rang = try callee.value.get()
            #expect(rang.status == 0, "\(rang.output)\n\(daemon.log)")
            #expect(Date().timeIntervalSince(started) >= 5, "cancelled after the ring timeout, not before")
            #expect(
                try Self.waitFor(5) {
                    try Self.callbacks(daemon).first { $0["id"] as? String == "cb-silent" }?["status"] as? String
                        == "no_answer"
                })
            let claimed = try Self.callbacks(daemon).first { $0["id"] as? String == "cb-claimed" }
            #expect(claimed?["status"] as? String == "claimed" && claimed?["attempts"] as? Int == 0)
            #expect(daemon.stop() == 0)
        }

        @Test func anAgentPullsTheNextCallbackAndTheirOwnPhoneGetsIt() throws {
            let clock = NSTemporaryDirectory() + "callbot-clock-" + UUID().uuidString
            let token = "alice-line-test-" + UUID().uuidString
            let agents = try Self.agentsFile("alice agent \(token) sip:alice@127.0.0.1:5091\nbob agent bob-\(token)\n")
            defer {
                try? FileManager.default.removeItem(atPath: clock)
                try? FileManager.default.removeItem(atPath: agents)
            }
            // No free place for the dialer on its own: only the agent's "next" dials.
            let daemon = try Self.daemon(
                sipPort: 29073, rtpPorts: "29500-29599", trunkPort: 29087, clock: clock,
                start: "2026-11-23T09:30:00+01:00"
            ) { callbot in
                callbot = callbot.replacingOccurrences(of: "  capacity: 3 ", with: "  capacity: 0 ")
                    .replacingOccurrences(
                        of: "  agents_file: var/agents.tokens", with: "  agents_file: \(agents)")
            }
            let port = try #require(daemon.adminPort, "\(daemon.log)")
            func pull(_ token: String) throws -> (status: String, body: String) {
                try Self.pull(port: port, token: token)
            }
            #expect(try pull(token).status == "404", "nothing due yet")
            try Self.insertCallback(
                daemon, id: "cb-next", phone: "+33611223344", day: "2026-11-23", window: ("09:00", "10:30"))
            sleep(2)
            #expect(!daemon.log.contains("calling back"), "agents all taken: the dialer waits")
            #expect(try pull("bob-\(token)").status == "409", "bob has no phone to be connected to")
            let (folder, sipPort) = (daemon.folder, daemon.sipPort)
            let callee = Thread.detachNewThreadWithResult {
                Result {
                    try Daemon.sipp(
                        "callee_answers_agent.xml", folder: folder, sipPort: sipPort, port: 29087, mediaPort: 29408)
                }
            }
            sleep(1)
            let pulled = try pull(token)
            #expect(pulled.status == "202" && pulled.body.contains("\"id\":\"cb-next\""), "\(pulled)")
            let answered = try callee.value.get()
            #expect(answered.status == 0, "\(answered.output)\n\(daemon.log)")
            #expect(
                try Self.waitFor(5) {
                    try Self.callbacks(daemon).first?["status"] as? String == "done"
                }, "\(daemon.log)")
            #expect(daemon.stop() == 0)
        }

        @Test func aCallerWhoFindsEveryAgentTakenKeepsTheirPlaceAndIsCalledBackFirst() throws {
            let clock = NSTemporaryDirectory() + "callbot-clock-" + UUID().uuidString
            let token = "alice-line-test-" + UUID().uuidString
            let agents = try Self.agentsFile("alice agent \(token) sip:alice@127.0.0.1:5091\n")
            defer {
                try? FileManager.default.removeItem(atPath: clock)
                try? FileManager.default.removeItem(atPath: agents)
            }
            // One agent, who stays on a call for the handling time once they answered one.
            let daemon = try Self.daemon(
                sipPort: 29075, rtpPorts: "29800-29899", trunkPort: 29089, clock: clock,
                start: "2026-11-23T10:00:00+01:00"
            ) { callbot in
                callbot = callbot.replacingOccurrences(of: "  capacity: 3 ", with: "  capacity: 1 ")
                    .replacingOccurrences(of: "  agents_file: var/agents.tokens", with: "  agents_file: \(agents)")
            }
            let first = try daemon.sipp(
                "transfer_accepted.xml", port: 29092, mediaPort: 29900, variables: ["rtp_port": "29901"])
            #expect(first.status == 0, "\(first.output)")
            let second = try daemon.sipp(
                "keep_place.xml", port: 29093, mediaPort: 29902, variables: ["rtp_port": "29903"], timeout: 60)
            #expect(second.status == 0, "\(second.output)")
            let call = try daemon.lastCall()
            let events = try #require(call["events"] as? [[String: Any]])
            let said = events.filter { $0["type"] as? String == "say" }.compactMap { $0["key"] as? String }
            #expect(said.contains("handoff.busy_wait") && said.contains("handoff.place_kept"), "\(said)\n\(daemon.log)")
            #expect(call["outcome"] as? String == "callback")
            let kept = try #require(try Self.callbacks(daemon).first, "\(daemon.log)")
            #expect(kept["purpose"] as? String == "queue" && kept["phone"] as? String == "+33611223344")
            #expect(kept["status"] as? String == "pending" && (kept["window"] as? String)?.hasPrefix("10:0") == true)
            // The agent is still on the first call: the dialer waits; the agent pulls the kept place.
            sleep(2)
            #expect(!daemon.log.contains("calling back"), "no agent free: nobody is called back yet")
            let (folder, sipPort) = (daemon.folder, daemon.sipPort)
            let callee = Thread.detachNewThreadWithResult {
                Result {
                    try Daemon.sipp(
                        "callee_answers_agent.xml", folder: folder, sipPort: sipPort, port: 29089, mediaPort: 29904)
                }
            }
            sleep(1)
            let port = try #require(daemon.adminPort)
            #expect(try Self.pull(port: port, token: token).status == "202")
            let answered = try callee.value.get()
            #expect(answered.status == 0, "\(answered.output)\n\(daemon.log)")
            #expect(try Self.waitFor(5) { try Self.callbacks(daemon).first?["status"] as? String == "done" })
            #expect(daemon.stop() == 0)
        }
    }
}
