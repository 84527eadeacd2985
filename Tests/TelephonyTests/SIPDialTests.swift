import CallbotCore
import Testing

@testable import Telephony

/// Calls the bot places (callbacks): the INVITE and its offer, the answer's ACK (again for each
/// 2xx), busy and unanswered calls, the digest challenge, the CANCEL after the ring timeout.
@Suite struct SIPDialTests {
    let bot = SIPAddress(host: "127.0.0.1", port: 5070)
    let trunk = SIPAddress(host: "127.0.0.1", port: 5080)

    func agent() -> SIPUserAgent {
        SIPUserAgent(settings: SIPSettings(publicAddress: bot, rtpPorts: 20000...20999, probeInterval: 60))
    }

    func request(credentials: SIPCredentials? = nil) -> DialRequest {
        DialRequest(
            callID: "dial-1", target: "sip:+33612345678@127.0.0.1:5080", proxy: trunk, from: "sip:mairie@villebois.fr",
            displayName: "Mairie de Villebois", credentials: credentials, ringTimeout: 20)
    }

    func sent(_ effects: [SIPEffect]) -> [SIPMessage] {
        effects.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    /// The far end's response to `request` (an INVITE of ours).
    func response(
        to request: SIPMessage, _ status: Int, _ reason: String, toTag: String? = "uas1", body: String = "",
        extra: [(String, String)] = []
    ) -> [UInt8] {
        var response = request.response(status, reason, toTag: toTag, source: nil)
        response.headers.add("Contact", "<sip:uas@127.0.0.1:5080>")
        for (name, value) in extra { response.headers.add(name, value) }
        if !body.isEmpty { response.headers.add("Content-Type", "application/sdp") }
        response.body = Array(body.utf8)
        return response.serialized()
    }

    let answer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8 101\r\n"
        + "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

    @Test func anAnsweredCallIsAcknowledgedAndHandedOverOnceItsMediaAreOpen() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        #expect(invite.method == "INVITE" && invite.headers["To"] == "<sip:+33612345678@127.0.0.1:5080>")
        #expect(invite.headers["From"]?.hasPrefix("\"Mairie de Villebois\" <sip:mairie@villebois.fr>;tag=") == true)
        let offer = String(decoding: invite.body, as: UTF8.self)
        #expect(offer.contains("m=audio ") && offer.contains("RTP/AVP 0 8 101") && offer.contains("c=IN IP4 127.0.0.1"))
        // Retransmitted over UDP until a provisional response, then left to ring.
        #expect(sent(ua.tick(now: 0.5)).first?.method == "INVITE")
        _ = ua.receive(response(to: invite, 180, "Ringing"), from: trunk, now: 1)
        #expect(sent(ua.tick(now: 5)).isEmpty)
        let answered = ua.receive(response(to: invite, 200, "OK", body: answer), from: trunk, now: 6)
        let ack = try #require(sent(answered).first)
        #expect(ack.method == "ACK" && ack.headers.cseq?.number == 1 && ack.headers.toTag == "uas1")
        #expect(ack.headers.topBranch != invite.headers.topBranch, "the ACK of a 2xx is a transaction of its own")
        guard case .startMedia(let callID, _, let agreement) = answered.last else {
            Issue.record("no media: \(answered)")
            return
        }
        #expect(callID == "dial-1" && agreement.law == .aLaw && agreement.remotePort == 7000)
        #expect(ua.mediaReady("dial-1", now: 6) == [.callAnswered(callID: "dial-1", caller: "+33612345678")])
        // The 2xx again: the same ACK again.
        let again = ua.receive(response(to: invite, 200, "OK", body: answer), from: trunk, now: 6.5)
        #expect(sent(again).first == ack)
        // The callee hangs up.
        var bye = SIPMessage(startLine: .request(method: "BYE", uri: "sip:callbot@127.0.0.1:5070"))
        bye.headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-bye")
        bye.headers.add("From", "<sip:+33612345678@127.0.0.1:5080>;tag=uas1")
        bye.headers.add("To", invite.headers["From"]!)
        bye.headers.add("Call-ID", "dial-1")
        bye.headers.add("CSeq", "1 BYE")
        bye.headers.add("Max-Forwards", "70")
        let ended = ua.receive(bye.serialized(), from: trunk, now: 30)
        #expect(ended.contains(.callEnded(callID: "dial-1", reason: "remote_bye")), "\(ended)")
        #expect(ua.activeCalls == 0)
    }

    @Test func aBusyCalleeIsAcknowledgedAndReported() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        let busy = ua.receive(response(to: invite, 486, "Busy Here"), from: trunk, now: 1)
        let ack = try #require(sent(busy).first)
        #expect(ack.method == "ACK" && ack.headers.topBranch == invite.headers.topBranch)
        #expect(busy.last == .dialFailed(callID: "dial-1", status: 486))
        #expect(ua.activeCalls == 0 && ua.nextDeadline == .infinity)
    }

    @Test func aCalleeWhoNeverAnswersIsCancelledAfterTheRingTimeout() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        _ = ua.receive(response(to: invite, 180, "Ringing"), from: trunk, now: 0.2)
        #expect(ua.nextDeadline == 20)
        let cancel = try #require(sent(ua.tick(now: 20)).first)
        #expect(cancel.method == "CANCEL" && cancel.headers.topBranch == invite.headers.topBranch)
        #expect(cancel.headers.cseq?.number == 1 && cancel.headers.toTag == nil)
        let terminated = ua.receive(response(to: invite, 487, "Request Terminated"), from: trunk, now: 20.1)
        #expect(sent(terminated).first?.method == "ACK")
        #expect(terminated.last == .dialFailed(callID: "dial-1", status: 487))
        // Without any response at all, the call is given up (timer B).
        var silent = agent()
        _ = silent.dial(request(), now: 0)
        #expect(silent.tick(now: 32).contains(.dialFailed(callID: "dial-1", status: 408)))
    }

    @Test func aDigestChallengeIsAnsweredOnce() throws {
        var ua = agent()
        let invite = try #require(
            sent(ua.dial(request(credentials: SIPCredentials(username: "mairie", password: "secret")), now: 0)).first)
        let challenge = #"Digest realm="trunk", nonce="abc123", qop="auth", algorithm=MD5"#
        let effects = ua.receive(
            response(to: invite, 407, "Proxy Authentication Required", extra: [("Proxy-Authenticate", challenge)]),
            from: trunk, now: 0.1)
        let messages = sent(effects)
        #expect(messages.map(\.method) == ["ACK", "INVITE"])
        let second = messages[1]
        #expect(second.headers.cseq?.number == 2 && second.headers.callID == "dial-1")
        #expect(second.headers.fromTag == invite.headers.fromTag)
        let authorization = try #require(second.headers["Proxy-Authorization"])
        #expect(authorization.contains(#"username="mairie""#) && authorization.contains("qop=auth"))
        // A second challenge is a refusal: the credentials are wrong.
        let refused = ua.receive(
            response(to: second, 407, "Proxy Authentication Required", extra: [("Proxy-Authenticate", challenge)]),
            from: trunk, now: 0.2)
        #expect(refused.last == .dialFailed(callID: "dial-1", status: 407))
    }

    @Test func aTrunkThatOnlySaysTryingIsCancelledToo() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        _ = ua.receive(response(to: invite, 100, "Trying", toTag: nil), from: trunk, now: 0.1)
        let cancel = try #require(sent(ua.tick(now: 20)).first)
        #expect(cancel.method == "CANCEL")
    }

    @Test func copiesOfARefusalAreAcknowledgedAgain() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        let busy = response(to: invite, 486, "Busy Here")
        let first = try #require(sent(ua.receive(busy, from: trunk, now: 1)).first)
        #expect(sent(ua.receive(busy, from: trunk, now: 1.5)) == [first])
        #expect(sent(ua.receive(busy, from: trunk, now: 40)).isEmpty, "not after timer D")
    }

    @Test func anAnswerAfterTheBotGaveUpIsAcknowledgedAndHungUp() throws {
        var ua = agent()
        let invite = try #require(sent(ua.dial(request(), now: 0)).first)
        // No response at all until the ring timeout: the call is given up.
        #expect(ua.tick(now: 20).contains(.dialFailed(callID: "dial-1", status: 408)))
        let late = ua.receive(response(to: invite, 200, "OK", body: answer), from: trunk, now: 21)
        #expect(sent(late).map(\.method) == ["ACK", "BYE"])
        #expect(sent(late).allSatisfy { $0.headers.toTag == "uas1" && $0.headers.callID == "dial-1" })
        #expect(ua.activeCalls == 0)
    }

    @Test func theACKOfAnAuthenticatedCallCarriesItsCredentials() throws {
        var ua = agent()
        let invite = try #require(
            sent(ua.dial(request(credentials: SIPCredentials(username: "mairie", password: "secret")), now: 0)).first)
        let challenge = #"Digest realm="trunk", nonce="abc123", algorithm=MD5"#
        let second = try #require(
            sent(
                ua.receive(
                    response(to: invite, 401, "Unauthorized", extra: [("WWW-Authenticate", challenge)]), from: trunk,
                    now: 0.1)
            ).last)
        #expect(second.headers["Authorization"]?.contains(#"response=""#) == true)
        let ack = try #require(
            sent(ua.receive(response(to: second, 200, "OK", body: answer), from: trunk, now: 1)).first)
        #expect(ack.method == "ACK" && ack.headers["Authorization"] == second.headers["Authorization"])
    }

    @Test func aChallengedByeIsSentAgainWithTheCredentials() throws {
        var ua = agent()
        let invite = try #require(
            sent(ua.dial(request(credentials: SIPCredentials(username: "mairie", password: "secret")), now: 0)).first)
        _ = ua.receive(response(to: invite, 200, "OK", body: answer), from: trunk, now: 1)
        _ = ua.mediaReady("dial-1", now: 1)
        let bye = try #require(sent(ua.hangUp("dial-1", now: 5)).first)
        let challenge = #"Digest realm="trunk", nonce="n2", algorithm=MD5"#
        let again = try #require(
            sent(
                ua.receive(
                    response(to: bye, 401, "Unauthorized", toTag: nil, extra: [("WWW-Authenticate", challenge)]),
                    from: trunk, now: 5.1)
            ).first)
        #expect(again.method == "BYE" && again.headers.cseq!.number == bye.headers.cseq!.number + 1)
        #expect(again.headers["Authorization"]?.contains(#"uri="sip:uas@127.0.0.1:5080""#) == true, "\(again)")
        _ = ua.receive(response(to: again, 200, "OK", toTag: nil), from: trunk, now: 5.2)
        #expect(ua.nextDeadline == .infinity, "the call is gone once its BYE is answered")
    }

    /// RFC 2617 §3.5's example.
    @Test func theDigestResponseIsRFC2617s() throws {
        let challenge = try #require(
            DigestChallenge(
                #"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
            ))
        let value = challenge.authorization(
            method: "GET", uri: "/dir/index.html",
            credentials: SIPCredentials(username: "Mufasa", password: "Circle Of Life"), cnonce: "0a4f113b")
        #expect(value.contains(#"response="6629fae49393a05397450978507c4ef1""#), "\(value)")
        #expect(value.contains("nc=00000001") && value.contains(#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#))
        #expect(DigestChallenge(#"Digest realm="r", nonce="n", algorithm=SHA-256"#) == nil)
        #expect(DigestChallenge("Basic realm=\"r\"") == nil)
    }
}
