import Foundation
import Testing

extension Line {
    /// `callbotd` on a real SIP line: SIPp as the caller, started here on 127.0.0.1.
    /// Serialized: each test runs its own daemon on its own ports.
    @Suite struct SIPCallTests {
        @Test func answersSpeaksAndFollowsKeys() throws {
            let daemon = try Daemon(sipPort: 25070, rtpPorts: "25100-25199")
            let listener = try UDPSocket(port: 25300)
            // The caller's SDP points at our listener: we count the bot's RTP until SIPp's first key
            // (symmetric RTP then follows SIPp's own media port).
            let counting = Thread.detachNewThreadWithResult { listener.receive(for: 2.5) }
            let sipp = try daemon.sipp("call_dtmf.xml", port: 25061, mediaPort: 25400, variables: ["rtp_port": "25300"])
            #expect(sipp.status == 0, "\(sipp.output)")
            let packets = counting.value
            #expect(packets.count >= 80, "the greeting streams at 50 packets/s: \(packets.count) in 2.5 s")
            let payloads = packets.compactMap { $0.bytes.count == 172 ? Array($0.bytes[12...]) : nil }
            #expect(payloads.count == packets.count, "172-byte PCMU packets of 20 ms")
            #expect(
                payloads.contains { frame in frame.contains { $0 != 0xFF && $0 != 0x7F } },
                "the greeting is not silence")
            if packets.count > 50 {
                // Pacing: the 20 ms grid holds (loose bound: this is a test, the benchmark measures).
                let gaps = zip(packets.dropFirst(), packets).map { $0.at - $1.at }.sorted()
                #expect(
                    gaps[gaps.count / 2] > 0.015 && gaps[gaps.count / 2] < 0.025, "median gap \(gaps[gaps.count / 2])")
            }
            let call = try daemon.lastCall()
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "digits" && $0["digits"] as? String == "1" })
            #expect(events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "answer.horaires" })
            #expect(call["outcome"] as? String == "self_service")
            #expect((call["caller"] as? String)?.hasPrefix("h:") == true)
            #expect(!daemon.log.contains("612345678"), "no phone number in the logs")
            #expect(daemon.stop() == 0)
        }

        @Test func cancelBeforeAnswer() throws {
            let daemon = try Daemon(sipPort: 25071, rtpPorts: "25500-25599") { callbot, _ in
                callbot = callbot.replacingOccurrences(of: "answer_delay_ms: 300", with: "answer_delay_ms: 1500")
            }
            let sipp = try daemon.sipp("cancel.xml", port: 25062, mediaPort: 25600)
            #expect(sipp.status == 0, "\(sipp.output)")
            #expect(daemon.log.contains("reason=cancelled"))
            #expect(daemon.stop() == 0)
        }

        @Test func transferAcceptedEndsTheBotsPart() throws {
            // An agent's screen follows the hand-off feed with the agent's own token.
            let agents = NSTemporaryDirectory() + "callbot-agents-" + UUID().uuidString
            let token = "agent-line-test-" + UUID().uuidString
            try "accueil1 agent \(token) sip:accueil1@127.0.0.1:5091\n".write(
                toFile: agents, atomically: true, encoding: .utf8)
            chmod(agents, 0o600)
            defer { try? FileManager.default.removeItem(atPath: agents) }
            let daemon = try Daemon(sipPort: 25072, rtpPorts: "25700-25799") { callbot, _ in
                callbot = callbot.replacingOccurrences(
                    of: "  agents_file: var/agents.tokens", with: "  agents_file: \(agents)"
                )
            }
            let port = try #require(daemon.adminPort, "\(daemon.log)")
            let screen = Process()
            screen.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            let feedFile = daemon.folder + "/feed.txt"
            screen.arguments = [
                "-sN", "-o", feedFile, "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/handoffs/feed",
            ]
            try screen.run()
            defer { if screen.isRunning { screen.terminate() } }
            let sipp = try daemon.sipp(
                "transfer_accepted.xml", port: 25063, mediaPort: 25800, variables: ["rtp_port": "25801"])
            #expect(sipp.status == 0, "\(sipp.output)")
            let call = try daemon.lastCall()
            #expect(call["outcome"] as? String == "transferred")
            // The card was on the agent's screen, with the context and the number, while the
            // transfer rang; then it showed the agent answered.
            let deadline = Date().addingTimeInterval(5)
            var feed = ""
            while Date() < deadline, !feed.contains("/answered") {
                feed = (try? String(contentsOfFile: feedFile, encoding: .utf8)) ?? ""
                usleep(50_000)
            }
            let callID = try #require(call["id"] as? String)
            let cards = feed.components(separatedBy: "\n\n").filter { $0.contains("event: handoff") }
            #expect(
                cards.compactMap { $0.split(separator: "\n").first { $0.hasPrefix("id: ") } }
                    == ["id: \(callID)/waiting", "id: \(callID)/answered"], "\(feed)")
            let waiting = try #require(cards.first?.split(separator: "\n").first { $0.hasPrefix("data: ") })
            let card = try #require(
                try JSONSerialization.jsonObject(with: Data(waiting.dropFirst(6).utf8)) as? [String: Any])
            #expect(card["caller"] as? String == "+33612345678" && card["reason"] as? String == "caller_request")
            #expect((card["intents"] as? [String])?.contains("conseiller") == true, "\(card)")
            // The agent opens the card by the call id the transferred call carries.
            let opened = try runProcess(
                "/usr/bin/curl",
                ["-s", "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/handoffs/\(callID)"])
            #expect(opened.stdout.contains("\"status\":\"answered\"") && opened.stdout.contains("+33612345678"))
            let forbidden = try runProcess(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)",
                    "http://127.0.0.1:\(port)/metrics",
                ])
            #expect(forbidden.stdout == "403", "an agent's token does not open the administrators' routes")
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(
                events.contains { $0["type"] as? String == "transfer.result" && $0["result"] as? String == "answered" })
            let handoff = try #require(call["handoff"] as? [String: Any])
            #expect(handoff["call_id"] as? String == call["id"] as? String)
            // The call is in the telephone-plan indicators: a hand-off requested and answered.
            let day = String((call["started_at"] as? String ?? "").prefix(10))
            let report = try runProcess(
                binary("callbotctl"),
                [
                    "report", "--from", day, "--to", day, "--db", daemon.database, "--config",
                    daemon.folder + "/config",
                    "--format", "json",
                ])
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any], "\(report.stderr)")
            let totals = try #require(json["totals"] as? [String: Any])
            #expect(totals["calls_received"] as? Int == 1 && totals["handoffs_requested"] as? Int == 1)
            #expect(totals["handoffs_answered"] as? Int == 1 && totals["taux_de_decroche"] as? Double == 1)
            #expect((totals["wait_mean_seconds"] as? Double) != nil, "the wait before the agent is kept")
            // And in the live metrics, behind the bearer token.
            let health = try runProcess(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
            #expect(health.stdout == "200")
            let denied = try runProcess(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/metrics"])
            #expect(denied.stdout == "401")
            let metrics = try runProcess(
                "/usr/bin/curl",
                ["-s", "-H", "Authorization: Bearer \(daemon.adminToken)", "http://127.0.0.1:\(port)/metrics"])
            #expect(metrics.stdout.contains(#"callbot_handoffs_total{result="answered"} 1"#), "\(metrics.stdout)")
            #expect(metrics.stdout.contains(#"callbot_calls_total{outcome="transferred"} 1"#))
            #expect(metrics.stdout.contains("callbot_sip_responses_total"))
            let csv = try runProcess(
                "/usr/bin/curl",
                [
                    "-s", "-H", "Authorization: Bearer \(daemon.adminToken)",
                    "http://127.0.0.1:\(port)/api/report?from=\(day)&to=\(day)&format=csv",
                ])
            #expect(
                csv.stdout.hasPrefix("debut,fin,appels_recus") && csv.stdout.contains("\(day),\(day),1,1,"),
                "\(csv.stdout)")
            // The daemon stops at once even though a screen still follows the feed.
            let stopping = Date()
            #expect(daemon.stop() == 0)
            #expect(Date().timeIntervalSince(stopping) < 20, "\(daemon.log)")
            screen.waitUntilExit()
        }

        @Test func transferRefusedBringsTheCallerBack() throws {
            let daemon = try Daemon(sipPort: 25073, rtpPorts: "25900-25999")
            let sipp = try daemon.sipp(
                "transfer_refused.xml", port: 25064, mediaPort: 26000, variables: ["rtp_port": "26001"])
            #expect(sipp.status == 0, "\(sipp.output)")
            let call = try daemon.lastCall()
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "transfer.result" && $0["result"] as? String == "busy" })
            #expect(
                events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "handoff.alternatives" })
            #expect(daemon.stop() == 0)
        }
    }
}

extension Thread {
    /// Runs `body` on a new thread; `value` waits for its result.
    static func detachNewThreadWithResult<T: Sendable>(_ body: @escaping @Sendable () -> T) -> ThreadResult<T> {
        let result = ThreadResult<T>()
        Thread.detachNewThread { result.set(body()) }
        return result
    }
}

final class ThreadResult<T: Sendable>: @unchecked Sendable {
    // @unchecked: `stored` is guarded by `condition`.
    private let condition = NSCondition()
    private var stored: T?

    func set(_ value: T) {
        condition.lock()
        stored = value
        condition.broadcast()
        condition.unlock()
    }

    var value: T {
        condition.lock()
        defer { condition.unlock() }
        while stored == nil { condition.wait() }
        return stored!
    }
}

extension Line {
    /// The rest of the line: the survey, malformed messages, a softphone.
    @Suite struct LineBehaviourTests {
        @Test func surveyThenTheBotHangsUp() throws {
            let daemon = try Daemon(sipPort: 25074, rtpPorts: "26100-26199") { callbot, messages in
                // One-word prompts and short timeouts make the timing of the keys certain.
                callbot = callbot.replacingOccurrences(
                    of: "no_input_timeout_seconds: 6", with: "no_input_timeout_seconds: 5")
                messages = messages.replacingOccurrences(
                    of: #"(?m)^(\s*[\w.]+): ".*"$"#, with: "$1: \"Bip.\"", options: .regularExpression)
            }
            let sipp = try daemon.sipp("survey.xml", port: 25065, mediaPort: 26200, variables: ["rtp_port": "26201"])
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            let call = try daemon.lastCall()
            #expect(call["survey_score"] as? Int == 5, "\(call)")
            #expect(call["outcome"] as? String == "self_service")
            #expect(daemon.stop() == 0)
        }

        @Test func malformedMessagesGetAnAnswerOrAreDroppedAndCallsGoOn() throws {
            let daemon = try Daemon(sipPort: 25075, rtpPorts: "26300-26399")
            let socket = try UDPSocket(port: 25066)
            func exchange(_ text: String) -> String? {
                socket.send(Array(text.utf8), to: 25075)
                return socket.receive(for: 0.4).first.map { String(decoding: $0.bytes, as: UTF8.self) }
            }
            func request(_ method: String, branch: String, extra: String = "", body: String = "") -> String {
                "\(method) sip:bot@127.0.0.1:25075 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:25066;branch=z9hG4bK-\(branch)\r\n"
                    + "From: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: \(branch)@t\r\nCSeq: 1 \(method)\r\n"
                    + extra + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            #expect(exchange(request("OPTIONS", branch: "ok1"))?.hasPrefix("SIP/2.0 200") == true)
            let corpus: [(String, String?)] = [
                (
                    request("OPTIONS", branch: "cl").replacingOccurrences(
                        of: "Content-Length: 0", with: "Content-Length: 900"), "SIP/2.0 400"
                ),
                (
                    request("OPTIONS", branch: "ver").replacingOccurrences(
                        of: "SIP/2.0\r\nVia", with: "SIP/7.0\r\nVia"),
                    "SIP/2.0 505"
                ),
                (request("OPTIONS", branch: "hdr", extra: "Bad Header Name: x\r\n"), "SIP/2.0 400"),
                (
                    request("OPTIONS", branch: "many", extra: String(repeating: "X-Filler: 1\r\n", count: 300)),
                    "SIP/2.0 400"
                ),
                (request("OPTIONS", branch: "nul", extra: "Subject: a\u{0}b\r\n"), "SIP/2.0 200"),
                (request("OPTIONS", branch: "fold", extra: "Subject: folded\r\n  over two lines\r\n"), "SIP/2.0 200"),
                (request("OPTIONS", branch: "compact").replacingOccurrences(of: "Call-ID:", with: "i:"), "SIP/2.0 200"),
                (
                    request(
                        "INVITE", branch: "sdp", extra: "Content-Type: application/sdp\r\n", body: "v=0\r\nnot sdp\r\n"),
                    "SIP/2.0 488"
                ),
                (request("FOO", branch: "foo"), "SIP/2.0 501"),
                (
                    request("OPTIONS", branch: "nocseq").replacingOccurrences(of: "CSeq: 1 OPTIONS\r\n", with: ""),
                    "SIP/2.0 400"
                ),
                (request("OPTIONS", branch: "require", extra: "Require: foo\r\n"), "SIP/2.0 420"),
                (request("OPTIONS", branch: "twice", extra: "Call-ID: again@t\r\n"), "SIP/2.0 400"),
                (
                    request("OPTIONS", branch: "nobranch").replacingOccurrences(
                        of: ";branch=z9hG4bK-nobranch", with: ""), "SIP/2.0 200"
                ),
                (
                    request("OPTIONS", branch: "novia").replacingOccurrences(
                        of: "Via: SIP/2.0/UDP 127.0.0.1:25066;branch=z9hG4bK-novia\r\n", with: ""), nil
                ),
                ("\u{0}\u{1}\u{2} binary garbage", nil),
                (
                    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-stray\r\nCSeq: 9 BYE\r\nCall-ID: stray\r\n\r\n",
                    nil
                ),
                ("", nil),
            ]
            for (message, expected) in corpus {
                let answer = exchange(message)
                if message.hasPrefix("INVITE"), let answer,
                    let to = answer.split(separator: "\r\n").first(where: {
                        $0.hasPrefix("To:")
                    })
                {
                    // The refusal is repeated until acknowledged (RFC 3261 §17.2.1).
                    let ack = request("ACK", branch: "sdp")
                        .replacingOccurrences(of: "To: <sip:bot@127.0.0.1>", with: String(to))
                    socket.send(Array(ack.utf8), to: 25075)
                }
                if let expected {
                    #expect(answer?.hasPrefix(expected) == true, "\(message.prefix(60)) → \(answer ?? "nothing")")
                } else {
                    #expect(answer == nil, "\(message.prefix(60)) should be dropped, got \(answer ?? "")")
                }
            }
            // Still answering, and calls still work.
            #expect(exchange(request("OPTIONS", branch: "ok2"))?.hasPrefix("SIP/2.0 200") == true)
            let sipp = try daemon.sipp("cancel.xml", port: 25067, mediaPort: 26400)
            #expect(sipp.status == 0, "\(sipp.output)")
            #expect(daemon.stop() == 0)
        }

        @Test func refusesCallsFromUntrustedPeers() throws {
            let daemon = try Daemon(sipPort: 25076, rtpPorts: "26500-26599") { callbot, _ in
                callbot = callbot.replacingOccurrences(
                    of: "trusted_peers: [\"127.0.0.0/8\", \"::1\"]", with: "trusted_peers: [\"192.0.2.10\"]")
            }
            let socket = try UDPSocket(port: 25068)
            socket.send(
                Array(
                    ("OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:25068;branch=z9hG4bK-u\r\nFrom: <sip:a@b>;tag=1\r\n"
                        + "To: <sip:bot@127.0.0.1>\r\nCall-ID: u\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").utf8),
                to: 25076)
            #expect(socket.receive(for: 0.5).isEmpty, "dropped without an answer")
            #expect(daemon.stop() == 0)
        }
    }
}

extension Line {
    /// baresip as a softphone: it dials the bot with a WAV as microphone and records what it hears.
    @Suite struct SoftphoneTests {
        @Test func aSoftphoneHearsTheGreeting() throws {
            let daemon = try Daemon(sipPort: 25077, rtpPorts: "26700-26799")
            let phone = try Softphone(folder: daemon.folder + "/baresip", listen: 25080, rtpPorts: "26900-26919")
            let output = try phone.dial("sip:bot@127.0.0.1:25077", seconds: 9)
            let heard = try #require(try phone.heard(), "baresip recorded nothing: \(output.suffix(2000))")
            let seconds = Double(heard.samples.count) / Double(heard.rate)
            #expect(seconds > 5, "heard \(seconds) s")
            // The greeting is speech: loud frames, and not a constant tone.
            let speech = soundsLikeSpeech(heard.samples)
            #expect(speech.isSpeech, "\(speech.loud) loud frames of \(speech.frames)")
            let call = try daemon.lastCall()
            #expect((call["events"] as? [[String: Any]])?.first?["key"] as? String == "greeting")
            #expect(daemon.stop() == 0)
        }
    }
}

/// Writes mono 16-bit PCM as a WAV file.
func writeWAV(samples: [Int16], rate: Int, to path: String) throws {
    var data = Data()
    func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
    data.append(contentsOf: Array("RIFF".utf8))
    append(UInt32(36 + samples.count * 2))
    data.append(contentsOf: Array("WAVEfmt ".utf8))
    append(UInt32(16))
    append(UInt16(1))
    append(UInt16(1))
    append(UInt32(rate))
    append(UInt32(rate * 2))
    append(UInt16(2))
    append(UInt16(16))
    data.append(contentsOf: Array("data".utf8))
    append(UInt32(samples.count * 2))
    for sample in samples { append(sample) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Reads a mono 16-bit PCM WAV file (the `data` chunk).
func readWAV(_ path: String) throws -> (samples: [Int16], rate: Int) {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    func u32(_ at: Int) -> Int {
        Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24
    }
    let rate = u32(24)
    var offset = 12
    while offset + 8 <= data.count {
        let size = u32(offset + 4)
        if data[offset..<(offset + 4)].elementsEqual(Array("data".utf8)) {
            let end = min(data.count, offset + 8 + size)
            let samples = stride(from: offset + 8, to: end - 1, by: 2).map {
                Int16(bitPattern: UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8)
            }
            return (samples, rate)
        }
        offset += 8 + size
    }
    return ([], rate)
}
