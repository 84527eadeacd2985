import CallbotCore
import Testing

@testable import Telephony

/// The user agent state machine, without sockets.
@Suite struct SIPUserAgentTests {
    let bot = SIPAddress(host: "127.0.0.1", port: 5070)
    let caller = SIPAddress(host: "127.0.0.1", port: 5061)
    let offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"

    func agent(maxCalls: Int = 10, delay: Double = 0.3, ports: ClosedRange<Int> = 20000...20009) -> SIPUserAgent {
        SIPUserAgent(
            settings: SIPSettings(publicAddress: bot, maxCalls: maxCalls, rtpPorts: ports, answerDelay: delay))
    }

    /// The agent's answer once its time has come: media opened, then the 200.
    func answerNow(_ ua: inout SIPUserAgent, callID: String = "call-1", at now: Double) -> [SIPEffect] {
        let media = ua.tick(now: now)
        guard media.contains(where: { if case .startMedia = $0 { true } else { false } }) else { return media }
        return media + ua.mediaReady(callID, now: now)
    }

    func request(
        _ method: String, callID: String = "call-1", branch: String = "z9hG4bK-1", cseq: Int = 1,
        toTag: String? = nil, body: String = "", contentType: String? = nil,
        from: String = "<sip:+33612345678@127.0.0.1:5061>;tag=c1"
    ) -> [UInt8] {
        var lines = [
            "\(method) sip:bot@127.0.0.1:5070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=\(branch)",
            "From: \(from)", "To: <sip:bot@127.0.0.1:5070>\(toTag.map { ";tag=\($0)" } ?? "")", "Call-ID: \(callID)",
            "CSeq: \(cseq) \(method == "ACK" ? "ACK" : method)", "Contact: <sip:caller@127.0.0.1:5061>",
            "Max-Forwards: 70",
        ]
        if let contentType { lines.append("Content-Type: \(contentType)") }
        lines.append("Content-Length: \(body.utf8.count)")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    func sent(_ effects: [SIPEffect]) -> [SIPMessage] {
        effects.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    func statuses(_ effects: [SIPEffect]) -> [Int] {
        sent(effects).compactMap { if case .response(let s, _) = $0.startLine { return s } else { return nil } }
    }

    /// An answered, acknowledged call; returns the bot's tag.
    func answeredCall(_ ua: inout SIPUserAgent) -> String {
        _ = ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: caller, now: 0)
        let answer = answerNow(&ua, at: 0.3)
        let tag = sent(answer).first!.headers.toTag!
        _ = ua.receive(request("ACK", branch: "z9hG4bK-ack", toTag: tag), from: caller, now: 0.31)
        return tag
    }

    @Test func answersAfterRingingAndRetransmitsUntilACK() throws {
        var ua = agent()
        let first = ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: caller, now: 0)
        #expect(statuses(first) == [100, 180])
        #expect(ua.tick(now: 0.1).isEmpty)
        #expect(ua.nextDeadline == 0.3, "the answer is due")
        let answer = answerNow(&ua, at: 0.3)
        guard case .startMedia(_, let port, let agreement)? = answer.first else {
            Issue.record("no media: \(answer)")
            return
        }
        #expect((20000...20008).contains(port) && port % 2 == 0)
        #expect(agreement.law == .aLaw && agreement.telephoneEventType == 101)
        let ok = try #require(sent(answer).first)
        #expect(statuses(answer) == [200])
        #expect(String(decoding: ok.body, as: UTF8.self).contains("m=audio \(port) RTP/AVP 8 101"))
        #expect(answer.contains(.callAnswered(callID: "call-1", caller: "+33612345678")))
        #expect(statuses(ua.tick(now: 0.81)) == [200], "first retransmission after T1")
        #expect(ua.tick(now: 1.0).isEmpty)
        #expect(statuses(ua.tick(now: 1.82)) == [200], "then 2·T1")
        // A retransmitted INVITE gets the 200 again; the ACK stops everything.
        #expect(
            statuses(ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: caller, now: 1.9))
                == [200])
        _ = ua.receive(request("ACK", branch: "z9hG4bK-ack", toTag: ok.headers.toTag), from: caller, now: 2)
        #expect(ua.tick(now: 10).isEmpty)
        #expect(ua.nextDeadline == 62, "only the first probe of the caller is due")
    }

    @Test func givesUpWithoutACK() {
        var ua = agent()
        _ = ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: caller, now: 0)
        _ = answerNow(&ua, at: 0.3)
        var effects: [SIPEffect] = []
        var t = 0.3
        while t < 40 {
            t += 0.05
            effects += ua.tick(now: t)
        }
        #expect(effects.contains(.callEnded(callID: "call-1", reason: "no_ack")))
        #expect(sent(effects).contains { $0.method == "BYE" })
    }

    @Test func cancelBeforeAnswer() {
        var ua = agent(delay: 5)
        _ = ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: caller, now: 0)
        let cancel = ua.receive(request("CANCEL"), from: caller, now: 1)
        #expect(statuses(cancel) == [200, 487])
        #expect(cancel.contains(.callEnded(callID: "call-1", reason: "cancelled")))
        #expect(statuses(ua.tick(now: 6)) == [487], "never answered: the 487 again, until the ACK")
        #expect(ua.activeCalls == 0)
    }

    @Test func byeEndsTheCallAndItsRetransmissionIsAbsorbed() {
        var ua = agent()
        let tag = answeredCall(&ua)
        let bye = ua.receive(request("BYE", branch: "z9hG4bK-bye", cseq: 2, toTag: tag), from: caller, now: 5)
        #expect(statuses(bye) == [200])
        #expect(bye.contains(.callEnded(callID: "call-1", reason: "remote_bye")))
        let again = ua.receive(request("BYE", branch: "z9hG4bK-bye", cseq: 2, toTag: tag), from: caller, now: 5.5)
        #expect(statuses(again) == [200] && !again.contains(.callEnded(callID: "call-1", reason: "remote_bye")))
        #expect(
            statuses(
                ua.receive(
                    request("BYE", callID: "other", branch: "z9hG4bK-x", cseq: 2, toTag: "zz"), from: caller, now: 6))
                == [481])
    }

    @Test func optionsAndUnknownMethods() {
        var ua = agent()
        let options = ua.receive(request("OPTIONS", callID: "ping"), from: caller, now: 0)
        #expect(statuses(options) == [200])
        let allowed = sent(options).first?.headers["Allow"] ?? ""
        #expect(allowed.contains("INVITE") && allowed.contains("BYE") && !allowed.contains("REFER"))
        #expect(statuses(ua.receive(request("REGISTER", callID: "r"), from: caller, now: 0)) == [405])
        #expect(statuses(ua.receive(request("PRACK", callID: "p"), from: caller, now: 0)) == [501])
    }

    @Test func refusesWhatItCannotServe() {
        var ua = agent(maxCalls: 1)
        _ = answeredCall(&ua)
        let busy = ua.receive(
            request("INVITE", callID: "call-2", branch: "z9hG4bK-2", body: offer, contentType: "application/sdp"),
            from: caller, now: 1)
        #expect(statuses(busy) == [503])
        #expect(sent(busy).first?.headers["Retry-After"] == "30")
        var other = agent()
        let g729 = offer.replacingOccurrences(of: "8 0 101", with: "18")
        #expect(
            statuses(other.receive(request("INVITE", body: g729, contentType: "application/sdp"), from: caller, now: 0))
                == [488])
        #expect(
            statuses(other.receive(request("INVITE", callID: "c3", branch: "z9hG4bK-3"), from: caller, now: 0)) == [488]
        )
        other.draining = true
        #expect(
            statuses(
                other.receive(
                    request("INVITE", callID: "c4", branch: "z9hG4bK-4", body: offer, contentType: "application/sdp"),
                    from: caller, now: 0)) == [503])
        #expect(other.statistics.rejectedCodec == 2 && other.statistics.rejectedOverload == 1)
    }

    @Test func dropsUntrustedAndMalformed() {
        var ua = agent()
        #expect(
            ua.receive(
                request("INVITE", body: offer, contentType: "application/sdp"),
                from: SIPAddress(host: "192.0.2.7", port: 5060), now: 0
            ).isEmpty)
        #expect(ua.statistics.droppedUntrusted == 1)
        #expect(ua.receive(Array("garbage\r\n\r\n".utf8), from: caller, now: 0).isEmpty)
        #expect(ua.statistics.droppedMalformed == 1)
        let badLength = Array(
            "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-9\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: m\r\nCSeq: 1 OPTIONS\r\nContent-Length: 999\r\n\r\n"
                .utf8)
        let answer = ua.receive(badLength, from: caller, now: 0)
        #expect(statuses(answer) == [400])
        let missingCSeq = Array(
            "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-8\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: m2\r\n\r\n"
                .utf8)
        let refused = ua.receive(missingCSeq, from: caller, now: 0)
        #expect(statuses(refused) == [400], "answered 400, not dropped")
        #expect(sent(refused).first?.headers["Warning"]?.contains("CSeq") == true)
        #expect(
            AddressBlock("10.0.0.0/8")!.contains("10.20.30.40") && !AddressBlock("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(AddressBlock("::1")!.contains("::1") && AddressBlock("2001:db8::/32")!.contains("2001:db8:1::5"))
    }

    @Test func infoDigitsAndReInviteHold() {
        var ua = agent()
        let tag = answeredCall(&ua)
        let info = ua.receive(
            request(
                "INFO", branch: "z9hG4bK-i", cseq: 2, toTag: tag, body: "Signal=5\r\nDuration=160\r\n",
                contentType: "application/dtmf-relay"), from: caller, now: 1)
        #expect(info.contains(.digits(callID: "call-1", "5")))
        let hold = offer.replacingOccurrences(of: "a=rtpmap", with: "a=sendonly\r\na=rtpmap")
        let reinvite = ua.receive(
            request("INVITE", branch: "z9hG4bK-r", cseq: 3, toTag: tag, body: hold, contentType: "application/sdp"),
            from: caller, now: 2)
        #expect(statuses(reinvite) == [200])
        #expect(String(decoding: sent(reinvite).first!.body, as: UTF8.self).contains("a=recvonly"))
        guard case .updateMedia(_, let agreement)? = reinvite.first else {
            Issue.record("no media update")
            return
        }
        #expect(agreement.direction == .recvonly)
    }

    @Test func transfersWithREFERAndFollowsNOTIFY() throws {
        var ua = agent()
        let tag = answeredCall(&ua)
        let refer = ua.transfer(
            "call-1", to: "sip:accueil@127.0.0.1:5090", headers: [("X-Callbot-Call-Id", "c-42")], now: 1)
        let message = try #require(sent(refer).first)
        #expect(message.method == "REFER")
        #expect(message.headers["Refer-To"] == "<sip:accueil@127.0.0.1:5090?X-Callbot-Call-Id=c-42>")
        #expect(message.headers.fromTag == tag && message.headers.toTag == "c1")
        #expect(message.startLine == .request(method: "REFER", uri: "sip:caller@127.0.0.1:5061"))
        // Unanswered: retransmitted.
        #expect(sent(ua.tick(now: 1.5)).first?.method == "REFER")
        var accepted = message.response(202, "Accepted", source: nil)
        accepted.headers.set("To", message.headers["To"]!)
        #expect(ua.receive(accepted, from: caller, now: 1.6).isEmpty)
        #expect(ua.tick(now: 3).isEmpty, "no more retransmissions after 202")
        func notify(_ status: String, branch: String, cseq: Int) -> [UInt8] {
            request(
                "NOTIFY", branch: branch, cseq: cseq, toTag: tag, body: "SIP/2.0 \(status)\r\n",
                contentType: "message/sipfrag;version=2.0")
        }
        let trying = ua.receive(notify("100 Trying", branch: "z9hG4bK-n1", cseq: 2), from: caller, now: 2)
        #expect(statuses(trying) == [200] && trying.count == 1)
        let done = ua.receive(notify("486 Busy Here", branch: "z9hG4bK-n2", cseq: 3), from: caller, now: 3)
        #expect(done.contains(.transferFinished(callID: "call-1", status: 486)))
    }

    @Test func transferTimesOut() {
        var ua = agent()
        _ = answeredCall(&ua)
        _ = ua.transfer("call-1", to: "sip:accueil@127.0.0.1:5090", headers: [], now: 1)
        var effects: [SIPEffect] = []
        var t = 1.0
        while t < 40 {
            t += 0.1
            effects += ua.tick(now: t)
        }
        #expect(effects.contains(.transferFinished(callID: "call-1", status: 408)))
    }

    @Test func hangsUpWithBYEAndReleasesThePort() {
        var ua = agent()
        _ = answeredCall(&ua)
        let bye = ua.hangUp("call-1", now: 2)
        let message = sent(bye).first!
        #expect(message.method == "BYE" && message.headers.cseq?.number == 2)
        #expect(bye.contains(.callEnded(callID: "call-1", reason: "local_bye")))
        _ = ua.receive(message.response(200, "OK", source: nil), from: caller, now: 2.1)
        #expect(ua.activeCalls == 0)
        // The port is free again for the next call.
        _ = ua.receive(
            request("INVITE", callID: "call-2", branch: "z9hG4bK-22", body: offer, contentType: "application/sdp"),
            from: caller, now: 3)
        #expect(ua.activeCalls == 1)
    }

    @Test func overTCPRepliesOnTheConnectionAndSendsByeWithoutRetransmission() throws {
        var ua = agent(delay: 0)
        // The caller's ephemeral port: its Via names another port, the answer goes to the connection anyway.
        let connection = SIPAddress(host: "127.0.0.1", port: 40123, transport: .tcp)
        let invite =
            ua.receive(request("INVITE", body: offer, contentType: "application/sdp"), from: connection, now: 0)
            + ua.mediaReady("call-1", now: 0)
        let destinations = invite.compactMap { if case .send(_, let to) = $0 { return to } else { return nil } }
        #expect(destinations == [connection, connection, connection], "100, 180, 200 on the connection")
        let ok = try #require(sent(invite).last)
        #expect(ok.headers["Contact"]?.contains(";transport=tcp") == true)
        _ = ua.receive(request("ACK", branch: "z9hG4bK-ack", toTag: ok.headers.toTag), from: connection, now: 0.1)
        let bye = ua.hangUp("call-1", now: 1)
        guard case .send(let message, let to)? = bye.first else {
            Issue.record("no BYE: \(bye)")
            return
        }
        #expect(message.method == "BYE" && to == connection)
        #expect(message.headers["Via"]?.hasPrefix("SIP/2.0/TCP ") == true)
        #expect(sent(ua.tick(now: 1.6)).isEmpty, "no timer E over TCP")
        // A framed message without Content-Length is a 400 on a stream.
        let text =
            "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-x\r\n"
            + "From: <sip:t@t>;tag=1\r\nTo: <sip:bot@t>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"
        let bare = Array(text.utf8)
        #expect(statuses(ua.receive(bare, from: connection, now: 2)) == [400])
        let datagram = Array(text.replacing("z9hG4bK-x", with: "z9hG4bK-y").utf8)
        #expect(
            statuses(ua.receive(datagram, from: caller, now: 2)) == [200], "UDP: the body is the rest of the datagram")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        replacing(target, with: replacement)
    }
}
