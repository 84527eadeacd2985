import CallbotCore
import Testing

@testable import Telephony

/// RFC 3261 where it protects the line: what the probe of the line found lenient or leaking,
/// each case failing before its fix.
@Suite struct SIPConformanceTests {
    let bot = SIPAddress(host: "127.0.0.1", port: 5070)
    let caller = SIPAddress(host: "127.0.0.1", port: 5061)
    let offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"

    func agent(maxCalls: Int = 10, probe: Double = 60, ports: ClosedRange<Int> = 20000...20999) -> SIPUserAgent {
        SIPUserAgent(
            settings: SIPSettings(
                publicAddress: bot, maxCalls: maxCalls, rtpPorts: ports, answerDelay: 0.3, probeInterval: probe))
    }

    /// A request as text lines; `Content-Length` is added.
    func message(_ lines: [String], body: String = "") -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }

    func invite(
        callID: String = "c1", branch: String? = "z9hG4bK-1", sdp: String? = nil, extra: [String] = [],
        fromTag: String? = "a1"
    ) -> [UInt8] {
        let via = "Via: SIP/2.0/UDP 127.0.0.1:5061" + (branch.map { ";branch=\($0)" } ?? "")
        return message(
            [
                "INVITE sip:bot@127.0.0.1:5070 SIP/2.0", via,
                "From: <sip:alice@127.0.0.1>" + (fromTag.map { ";tag=\($0)" } ?? ""),
                "To: <sip:bot@127.0.0.1:5070>", "Call-ID: \(callID)", "CSeq: 1 INVITE",
                "Contact: <sip:alice@127.0.0.1:5061>", "Max-Forwards: 70", "Content-Type: application/sdp",
            ] + extra, body: sdp ?? offer)
    }

    func inDialog(
        _ method: String, callID: String = "c1", branch: String, cseq: Int = 2, toTag: String, fromTag: String = "a1"
    ) -> [UInt8] {
        message([
            "\(method) sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=\(branch)",
            "From: <sip:alice@127.0.0.1>;tag=\(fromTag)", "To: <sip:bot@127.0.0.1:5070>;tag=\(toTag)",
            "Call-ID: \(callID)", "CSeq: \(cseq) \(method)", "Max-Forwards: 70",
        ])
    }

    func sent(_ effects: [SIPEffect]) -> [SIPMessage] {
        effects.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    func statuses(_ effects: [SIPEffect]) -> [Int] {
        sent(effects).compactMap { if case .response(let s, _) = $0.startLine { return s } else { return nil } }
    }

    /// Answers call `callID` (its INVITE already received) and acknowledges it; returns the bot's tag.
    func answerAndACK(_ ua: inout SIPUserAgent, callID: String = "c1", at now: Double = 0.3) -> String {
        _ = ua.tick(now: now)
        let ok = sent(ua.mediaReady(callID, now: now)).first!
        let tag = ok.headers.toTag!
        _ = ua.receive(
            message([
                "ACK sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-ack-\(callID)",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bot@127.0.0.1:5070>;tag=\(tag)", "Call-ID: \(callID)",
                "CSeq: 1 ACK",
            ]), from: caller, now: now + 0.01)
        return tag
    }

    @Test func cancelledCallsArePurgedAndTheir487RetransmittedUntilACK() {
        var ua = agent()
        _ = ua.receive(invite(), from: caller, now: 0)
        let cancel = message([
            "CANCEL sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bot@127.0.0.1:5070>", "Call-ID: c1", "CSeq: 1 CANCEL",
        ])
        let cancelled = ua.receive(cancel, from: caller, now: 0.1)
        #expect(statuses(cancelled) == [200, 487])
        #expect(ua.footprint.calls == 0, "the call is gone at once")
        #expect(statuses(ua.tick(now: 0.61)) == [487], "retransmitted after T1 until the ACK")
        let tag = sent(cancelled)[1].headers.toTag!
        _ = ua.receive(
            message([
                "ACK sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bot@127.0.0.1:5070>;tag=\(tag)", "Call-ID: c1",
                "CSeq: 1 ACK",
            ]), from: caller, now: 0.7)
        #expect(ua.tick(now: 2).isEmpty, "no more after the ACK")
        #expect(statuses(ua.receive(invite(), from: caller, now: 3)) == [487], "a late INVITE copy gets the 487")
        _ = ua.tick(now: 40)
        #expect(ua.footprint.serverTransactions == 0 && ua.nextDeadline == .infinity, "nothing left after timer H")
    }

    @Test func tenThousandInviteCancelPairsLeaveNothingBehind() {
        var ua = agent(maxCalls: 200)
        var now = 0.0
        for index in 0..<10_000 {
            let callID = "flood-\(index)"
            _ = ua.receive(invite(callID: callID, branch: "z9hG4bK-f\(index)"), from: caller, now: now)
            _ = ua.receive(
                message([
                    "CANCEL sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-f\(index)",
                    "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bot@127.0.0.1:5070>", "Call-ID: \(callID)",
                    "CSeq: 1 CANCEL",
                ]), from: caller, now: now)
            now += 0.002
            if index % 100 == 0 { _ = ua.tick(now: now) }
        }
        #expect(ua.footprint.calls == 0 && ua.activeCalls == 0)
        // The transactions wait 64·T1 for retransmissions, then go.
        _ = ua.tick(now: now + 33)
        #expect(ua.footprint.serverTransactions == 0 && ua.footprint.clientTransactions == 0)
        #expect(ua.nextDeadline == .infinity, "an idle agent has nothing to wake up for")
    }

    @Test func anRFC2543InviteWithoutBranchIsAnsweredAndItsCopiesAbsorbed() {
        var ua = agent()
        let first = ua.receive(invite(branch: nil, fromTag: nil), from: caller, now: 0)
        #expect(statuses(first) == [100, 180])
        #expect(
            statuses(ua.receive(invite(branch: nil, fromTag: nil), from: caller, now: 0.1)) == [180],
            "a copy, not a new call")
        _ = ua.tick(now: 0.3)
        let ok = ua.mediaReady("c1", now: 0.3)
        #expect(statuses(ok) == [200])
        #expect(ua.activeCalls == 1)
        // Without a From tag (RFC 2543), the ACK and the BYE still find the dialog.
        let tag = sent(ok).first!.headers.toTag!
        func untagged(_ method: String, cseq: Int) -> [UInt8] {
            message([
                "\(method) sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061",
                "From: <sip:alice@127.0.0.1>", "To: <sip:bot@127.0.0.1:5070>;tag=\(tag)", "Call-ID: c1",
                "CSeq: \(cseq) \(method)",
            ])
        }
        _ = ua.receive(untagged("ACK", cseq: 1), from: caller, now: 0.4)
        #expect(ua.tick(now: 1).isEmpty, "acknowledged: no retransmission of the 200")
        let bye = ua.receive(untagged("BYE", cseq: 2), from: caller, now: 2)
        #expect(statuses(bye) == [200] && bye.contains(.callEnded(callID: "c1", reason: "remote_bye")))
        // Its Call-ID cannot start another call at once.
        #expect(statuses(ua.receive(invite(branch: "z9hG4bK-again"), from: caller, now: 3)) == [481])
    }

    @Test func requestsMissingMandatoryHeadersGet400() {
        var ua = agent()
        let base = [
            "OPTIONS sip:bot@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-o",
            "From: <sip:a@127.0.0.1>;tag=1", "To: <sip:bot@127.0.0.1>", "Call-ID: o1", "CSeq: 1 OPTIONS",
        ]
        for missing in ["Call-ID", "CSeq", "From", "To"] {
            let lines = base.filter { !$0.hasPrefix(missing + ":") }
            let answer = ua.receive(message(lines), from: caller, now: 0)
            #expect(statuses(answer) == [400], "without \(missing)")
            #expect(sent(answer).first?.headers["Warning"]?.contains(missing) == true)
        }
        #expect(ua.receive(message(Array(base.dropFirst(2)).map { $0 } + [base[0]]), from: caller, now: 0).isEmpty)
        #expect(ua.statistics.rejectedBadRequest == 4)
    }

    @Test func duplicatedSingletonHeadersAndTwoContentLengthsGet400() {
        var ua = agent()
        for header in ["From: <sip:b@127.0.0.1>;tag=2", "To: <sip:x@127.0.0.1>", "Call-ID: other", "CSeq: 2 INVITE"] {
            let answer = ua.receive(
                invite(callID: "d-\(header.prefix(4))", branch: "z9hG4bK-d\(header.prefix(4))", extra: [header]),
                from: caller, now: 0)
            #expect(statuses(answer) == [400], "twice: \(header)")
        }
        let twoLengths = Array(
            ("OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-l\r\n"
                + "From: <sip:a@b>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: l\r\nCSeq: 1 OPTIONS\r\n"
                + "Content-Length: 0\r\nContent-Length: 4\r\n\r\nabcd").utf8)
        #expect(statuses(ua.receive(twoLengths, from: caller, now: 0)) == [400])
        #expect(ua.activeCalls == 0)
    }

    @Test func unknownRequireGets420AndUnsupportedSchemes416() {
        var ua = agent()
        let answer = ua.receive(invite(extra: ["Require: 100rel, foo"]), from: caller, now: 0)
        #expect(statuses(answer) == [420])
        #expect(sent(answer).first?.headers["Unsupported"] == "100rel, foo")
        #expect(ua.activeCalls == 0)
        let mailto = message([
            "OPTIONS mailto:bot@example.org SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-m",
            "From: <sip:a@127.0.0.1>;tag=1", "To: <sip:bot@127.0.0.1>", "Call-ID: m1", "CSeq: 1 OPTIONS",
        ])
        #expect(statuses(ua.receive(mailto, from: caller, now: 0)) == [416])
    }

    @Test func aBYEMustMatchBothTagsOfTheDialog() {
        var ua = agent()
        _ = ua.receive(invite(), from: caller, now: 0)
        let tag = answerAndACK(&ua)
        let wrongToTag = ua.receive(inDialog("BYE", branch: "z9hG4bK-b1", toTag: "not-ours"), from: caller, now: 1)
        #expect(statuses(wrongToTag) == [481] && ua.activeCalls == 1, "the call goes on")
        let wrongFromTag = ua.receive(
            inDialog("BYE", branch: "z9hG4bK-b2", toTag: tag, fromTag: "intruder"), from: caller, now: 1)
        #expect(statuses(wrongFromTag) == [481] && ua.activeCalls == 1)
        let bye = ua.receive(inDialog("BYE", branch: "z9hG4bK-b3", toTag: tag), from: caller, now: 2)
        #expect(statuses(bye) == [200] && bye.contains(.callEnded(callID: "c1", reason: "remote_bye")))
    }

    @Test func aMergedInviteGets482() {
        var ua = agent()
        _ = ua.receive(invite(), from: caller, now: 0)
        #expect(statuses(ua.receive(invite(branch: "z9hG4bK-other"), from: caller, now: 0.1)) == [482])
        #expect(ua.activeCalls == 1)
    }

    @Test func offersWithoutAReachableIPv4AddressGet488AndOldHoldIsInactive() {
        var ua = agent()
        let ipv6 = offer.replacing("c=IN IP4 127.0.0.1", with: "c=IN IP6 ::1")
        let name = offer.replacing("c=IN IP4 127.0.0.1", with: "c=IN IP4 media.example.org")
        for (index, sdp) in [ipv6, name].enumerated() {
            let answer = ua.receive(
                invite(callID: "sdp-\(index)", branch: "z9hG4bK-s\(index)", sdp: sdp), from: caller, now: 0)
            #expect(statuses(answer) == [488])
            #expect(sent(answer).first?.headers["Warning"]?.contains("IPv4") == true)
        }
        #expect(ua.activeCalls == 0)
        let hold = offer.replacing("c=IN IP4 127.0.0.1", with: "c=IN IP4 0.0.0.0")
        _ = ua.receive(invite(callID: "hold", branch: "z9hG4bK-hold", sdp: hold), from: caller, now: 0)
        let media = ua.tick(now: 0.3)
        guard case .startMedia(_, _, let agreement)? = media.first else {
            Issue.record("not answered: \(media)")
            return
        }
        #expect(agreement.direction == .inactive)
    }

    @Test func rtpPortsAreNotHandedOutInOrder() {
        var ua = agent(maxCalls: 50)
        var ports: [Int] = []
        for index in 0..<20 {
            _ = ua.receive(invite(callID: "p\(index)", branch: "z9hG4bK-p\(index)"), from: caller, now: 0)
        }
        for effect in ua.tick(now: 0.3) { if case .startMedia(_, let port, _) = effect { ports.append(port) } }
        #expect(ports.count == 20 && Set(ports).count == 20 && ports.allSatisfy { $0 % 2 == 0 })
        let steps = zip(ports, ports.dropFirst()).filter { $1 - $0 == 2 }.count
        #expect(steps < 10, "consecutive ports: \(ports)")
    }

    @Test func aMediaFailureRefusesTheCallWith503() {
        var ua = agent()
        _ = ua.receive(invite(), from: caller, now: 0)
        _ = ua.tick(now: 0.3)
        let refused = ua.mediaFailed("c1", now: 0.3)
        #expect(statuses(refused) == [503] && refused.contains(.callEnded(callID: "c1", reason: "no_media")))
        #expect(ua.activeCalls == 0 && ua.footprint.calls == 0)
    }

    @Test func aCallerWhoVanishesIsFoundByTheProbe() throws {
        var ua = agent(probe: 30)
        _ = ua.receive(invite(), from: caller, now: 0)
        _ = answerAndACK(&ua)
        #expect(ua.nextDeadline == 30.31)
        let probe = try #require(sent(ua.tick(now: 30.31)).first)
        #expect(probe.method == "OPTIONS" && probe.headers.toTag == "a1")
        // Alive: the next probe is due a period later.
        _ = ua.receive(probe.response(200, "OK", source: nil), from: caller, now: 30.4)
        #expect(ua.nextDeadline == 60.4)
        // Gone: nobody answers the next probe; after timer F the call ends as lost, without a BYE.
        var effects: [SIPEffect] = []
        var now = 60.4
        while now < 100 {
            effects += ua.tick(now: now)
            now += 0.25
        }
        #expect(effects.contains(.callEnded(callID: "c1", reason: "caller_lost")))
        #expect(!sent(effects).contains { $0.method == "BYE" })
        #expect(ua.activeCalls == 0 && ua.statistics.callsLost == 1)
    }

    @Test func aProbeAnswered481EndsTheCall() throws {
        var ua = agent(probe: 10)
        _ = ua.receive(invite(), from: caller, now: 0)
        _ = answerAndACK(&ua)
        let probe = try #require(sent(ua.tick(now: 10.31)).first)
        let gone = ua.receive(
            probe.response(481, "Call/Transaction Does Not Exist", source: nil), from: caller, now: 10.4)
        #expect(gone == [.callEnded(callID: "c1", reason: "caller_lost")])
    }

    @Test func trustedPeersAreStrict() {
        #expect(AddressBlock("127.0.0.1/-8") == nil && AddressBlock("localhost") == nil)
        #expect(AddressBlock("10.0.0.0/33") == nil && AddressBlock("10.0.0/8") == nil && AddressBlock("::1/129") == nil)
        #expect(
            AddressBlock("1.2.3.4/8/1") == nil && AddressBlock("01234.1.1.1") == nil && AddressBlock("1:::2") == nil)
        #expect(AddressBlock("10.0.0.0/8")?.contains("10.200.0.1") == true)
        #expect(AddressBlock("2001:db8::/32")?.contains("2001:db8:ffff::1") == true)
        #expect(AddressBlock("0.0.0.0/0")?.contains("192.0.2.1") == true, "explicitly everyone")
    }
}
