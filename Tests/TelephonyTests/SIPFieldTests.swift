import Testing

@testable import Telephony

@Suite struct SIPFieldTests {
    @Test func readsAddressesAndParameters() {
        let from = "\"Mme A, B\" <sip:+33612345678@pbx.example;user=phone>;tag=a1b2"
        #expect(SIPField.parameter("tag", in: from) == "a1b2")
        #expect(SIPField.uri(in: from) == "sip:+33612345678@pbx.example;user=phone")
        #expect(SIPField.user(in: SIPField.uri(in: from)) == "+33612345678")
        #expect(SIPField.parameter("tag", in: "<sip:bot@127.0.0.1>") == nil)
        #expect(
            SIPField.parameter("user", in: "<sip:a@b;user=phone>") == nil, "URI parameters are not header parameters")
        #expect(SIPField.parameter("tag", in: "sip:a@b;tag=x") == "x")
        #expect(SIPField.hostPort(in: "sip:a@127.0.0.1:5090;transport=udp")! == ("127.0.0.1", 5090))
        #expect(SIPField.hostPort(in: "sip:[::1]:5070")! == ("::1", 5070))
        #expect(SIPField.hostPort(in: "sip:pbx.example")!.port == nil)
    }

    @Test func buildsResponsesWithTagAndReceivedRport() throws {
        let request = try SIPParser().parse(
            datagram: Array(
                ("INVITE sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-1;rport\r\n"
                    + "Via: SIP/2.0/UDP proxy;branch=z9hG4bK-0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\n"
                    + "Call-ID: c1\r\nCSeq: 4 INVITE\r\n\r\n").utf8))
        let response = request.response(200, "OK", toTag: "bot1", source: ("127.0.0.1", 40000))
        #expect(
            response.headers.values("Via") == [
                "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-1;rport=40000;received=127.0.0.1",
                "SIP/2.0/UDP proxy;branch=z9hG4bK-0",
            ])
        #expect(response.headers.toTag == "bot1" && response.headers.fromTag == "1")
        #expect(response.headers.cseq?.number == 4 && response.method == "INVITE")
        #expect(request.headers.topBranch == "z9hG4bK-1")
    }
}
