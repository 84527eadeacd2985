import Testing

@testable import Telephony

@Suite struct SIPParserTests {
    let parser = SIPParser()

    func bytes(_ lines: [String], body: String = "") -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    let invite = [
        "INVITE sip:bot@127.0.0.1:5070 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport",
        "f: \"Caller, A\" <sip:caller@127.0.0.1:5061>;tag=abc",
        "t: <sip:bot@127.0.0.1:5070>",
        "i: 1-2-3@127.0.0.1",
        "CSeq: 1 INVITE",
        "Contact: <sip:caller@127.0.0.1:5061>",
        "Max-Forwards: 70",
        "c: application/sdp",
        "l: 4",
    ]

    @Test func parsesARequestWithCompactHeaders() throws {
        let message = try parser.parse(datagram: bytes(invite, body: "v=0\n"))
        #expect(message.startLine == .request(method: "INVITE", uri: "sip:bot@127.0.0.1:5070"))
        #expect(message.headers["Call-ID"] == "1-2-3@127.0.0.1")
        #expect(message.headers["call-id"] == "1-2-3@127.0.0.1")
        #expect(message.headers["From"] == "\"Caller, A\" <sip:caller@127.0.0.1:5061>;tag=abc")
        #expect(message.headers.values("From").count == 1, "a comma inside quotes does not split")
        #expect(message.headers.cseq?.number == 1 && message.method == "INVITE")
        #expect(message.body == Array("v=0\n".utf8))
    }

    @Test func foldsContinuationLinesAndSplitsLists() throws {
        let message = try parser.parse(
            datagram: bytes([
                "OPTIONS sip:bot@127.0.0.1 SIP/2.0",
                "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-a,",
                "  SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-b",
                "v: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-c",
                "Subject: a long",
                "\tsubject",
                "Call-ID: x", "CSeq: 7 OPTIONS", "From: <sip:a@b>;tag=1", "To: <sip:bot@127.0.0.1>",
            ]))
        #expect(message.headers.values("Via").count == 3)
        #expect(message.headers["subject"] == "a long subject")
    }

    @Test func parsesResponsesAndRoundTrips() throws {
        let original = SIPMessage(
            startLine: .response(status: 180, reason: "Ringing"),
            headers: SIPHeaders([
                ("Via", "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1"), ("CSeq", "1 INVITE"), ("Call-ID", "x"),
            ]))
        let parsed = try parser.parse(datagram: original.serialized())
        #expect(parsed.startLine == .response(status: 180, reason: "Ringing"))
        #expect(parsed.method == "INVITE")
        #expect(parsed.headers["Content-Length"] == "0")
    }

    @Test func readsStreamsMessageByMessage() throws {
        let one = SIPMessage(
            startLine: .request(method: "OPTIONS", uri: "sip:a@b"), headers: SIPHeaders([("Call-ID", "1")]),
            body: Array("abc".utf8)
        ).serialized()
        let two = SIPMessage(
            startLine: .request(method: "BYE", uri: "sip:a@b"), headers: SIPHeaders([("Call-ID", "2")])
        ).serialized()
        let stream = Array("\r\n\r\n".utf8) + one + two
        guard case .message(let first, let consumed) = try parser.parse(stream: stream[...]) else {
            Issue.record("no first message")
            return
        }
        #expect(first.body == Array("abc".utf8))
        guard case .message(let second, _) = try parser.parse(stream: stream[consumed...]) else {
            Issue.record("no second message")
            return
        }
        #expect(second.headers["Call-ID"] == "2")
        #expect(try parser.parse(stream: stream[consumed..<(stream.count - 3)]) == .incomplete, "the head is cut")
        let head = stream[..<(consumed - 3)]
        #expect(try parser.parse(stream: head) == .awaitingBody(total: consumed), "the body is cut")
    }

    /// Malformed input in the spirit of RFC 4475: each is refused with a reason, never a crash.
    @Test(arguments: [
        "INVITE sip:bot@127.0.0.1 SIP/7.0\r\nCall-ID: x\r\n\r\n",
        "INVITE  SIP/2.0\r\nCall-ID: x\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nCall-ID x\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nContent-Length: 500\r\n\r\nshort",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nContent-Length: -1\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nContent-Length: abc\r\n\r\n",
        "SIP/2.0 99 Too Low\r\nCall-ID: x\r\n\r\n",
        "SIP/2.0 abc Nope\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\n continuation first\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nBad Header: x\r\n\r\n",
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nCall-ID: x\r\n",
        "\r\n\r\n",
        "garbage",
        "INV\u{0}ITE sip:bot@127.0.0.1 SIP/2.0\r\n\r\n",
    ])
    func refusesMalformedMessages(_ text: String) {
        #expect(throws: SIPParseError.self) { try parser.parse(datagram: Array(text.utf8)) }
    }

    @Test func refusesOversizedAndInvalidBytes() {
        var tooBig = Array("OPTIONS sip:a@b SIP/2.0\r\nSubject: ".utf8)
        tooBig += [UInt8](repeating: 65, count: 70_000) + Array("\r\n\r\n".utf8)
        #expect(throws: SIPParseError.self) { try parser.parse(datagram: tooBig) }
        let invalidUTF8: [UInt8] =
            Array("OPTIONS sip:a@b SIP/2.0\r\nSubject: ".utf8) + [0xFF, 0xFE] + Array("\r\n\r\n".utf8)
        #expect(throws: SIPParseError.self) { try parser.parse(datagram: invalidUTF8) }
        let manyHeaders = "OPTIONS sip:a@b SIP/2.0\r\n" + String(repeating: "X-A: 1\r\n", count: 200) + "\r\n"
        #expect(throws: SIPParseError.self) { try parser.parse(datagram: Array(manyHeaders.utf8)) }
    }

    @Test func toleratesBareLineFeeds() throws {
        let message = try parser.parse(datagram: Array("OPTIONS sip:a@b SIP/2.0\nCall-ID: x\nCSeq: 1 OPTIONS\n\n".utf8))
        #expect(message.headers["Call-ID"] == "x" && message.method == "OPTIONS")
    }
}
