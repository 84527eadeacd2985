import Foundation
import Testing

/// `callbotd` on a real SIP line: SIPp as the caller, started here on 127.0.0.1.
/// Serialized: each test runs its own daemon on its own ports.
@Suite(.serialized) struct SIPCallTests {
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
            payloads.contains { frame in frame.contains { $0 != 0xFF && $0 != 0x7F } }, "the greeting is not silence")
        if packets.count > 50 {
            // Pacing: the 20 ms grid holds (loose bound: this is a test, the benchmark measures).
            let gaps = zip(packets.dropFirst(), packets).map { $0.at - $1.at }.sorted()
            #expect(gaps[gaps.count / 2] > 0.015 && gaps[gaps.count / 2] < 0.025, "median gap \(gaps[gaps.count / 2])")
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
        let daemon = try Daemon(sipPort: 25072, rtpPorts: "25700-25799")
        let sipp = try daemon.sipp(
            "transfer_accepted.xml", port: 25063, mediaPort: 25800, variables: ["rtp_port": "25801"])
        #expect(sipp.status == 0, "\(sipp.output)")
        let call = try daemon.lastCall()
        #expect(call["outcome"] as? String == "transferred")
        let events = try #require(call["events"] as? [[String: Any]])
        #expect(events.contains { $0["type"] as? String == "transfer.result" && $0["result"] as? String == "answered" })
        let handoff = try #require(call["handoff"] as? [String: Any])
        #expect(handoff["call_id"] as? String == call["id"] as? String)
        #expect(daemon.stop() == 0)
    }

    @Test func transferRefusedBringsTheCallerBack() throws {
        let daemon = try Daemon(sipPort: 25073, rtpPorts: "25900-25999")
        let sipp = try daemon.sipp(
            "transfer_refused.xml", port: 25064, mediaPort: 26000, variables: ["rtp_port": "26001"])
        #expect(sipp.status == 0, "\(sipp.output)")
        let call = try daemon.lastCall()
        let events = try #require(call["events"] as? [[String: Any]])
        #expect(events.contains { $0["type"] as? String == "transfer.result" && $0["result"] as? String == "busy" })
        #expect(events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "handoff.alternatives" })
        #expect(daemon.stop() == 0)
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
