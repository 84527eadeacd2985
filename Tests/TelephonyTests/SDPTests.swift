import Testing

@testable import Telephony

@Suite struct SDPTests {
    let baresipOffer = """
        v=0\r
        o=- 1 2 IN IP4 127.0.0.1\r
        s=-\r
        c=IN IP4 127.0.0.1\r
        t=0 0\r
        m=audio 10000 RTP/AVP 0 8 101\r
        a=rtpmap:0 PCMU/8000\r
        a=rtpmap:8 PCMA/8000\r
        a=rtpmap:101 telephone-event/8000\r
        a=fmtp:101 0-16\r
        a=ptime:20\r
        a=sendrecv\r

        """

    @Test func negotiatesTheOfferersFirstCommonCodec() throws {
        let offer = try SDPAudio.parse(baresipOffer)
        let agreement = try #require(MediaAgreement(offer: offer))
        #expect(agreement.law == .muLaw && agreement.payloadType == 0 && agreement.telephoneEventType == 101)
        #expect(agreement.remoteAddress == "127.0.0.1" && agreement.remotePort == 10000)
        let answer = agreement.answer(address: "127.0.0.1", port: 20000, sessionID: 42)
        #expect(answer.contains("m=audio 20000 RTP/AVP 0 101\r\n"))
        #expect(answer.contains("a=rtpmap:101 telephone-event/8000\r\n") && answer.contains("a=ptime:20\r\n"))
        let reparsed = try SDPAudio.parse(answer)
        #expect(reparsed.port == 20000 && reparsed.telephoneEventType == 101)
    }

    @Test func prefersALawWhenOfferedFirstAndFollowsDirection() throws {
        let offer = try SDPAudio.parse(
            "v=0\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 8 0\na=sendonly\n")
        let agreement = try #require(MediaAgreement(offer: offer))
        #expect(agreement.law == .aLaw && agreement.telephoneEventType == nil)
        #expect(agreement.direction == .recvonly, "a caller on hold sends only; we receive only")
    }

    @Test func refusesWhatCannotBeAnswered() throws {
        let g729 = try SDPAudio.parse(
            "v=0\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 18\na=rtpmap:18 G729/8000\n")
        #expect(MediaAgreement(offer: g729) == nil, "no common codec: 488")
        #expect(throws: SIPParseError.self) { try SDPAudio.parse("v=0\nt=0 0\n") }
        #expect(throws: SIPParseError.self) { try SDPAudio.parse("v=0\nm=audio 4000 RTP/AVP 0\n") }
        #expect(throws: SIPParseError.self) { try SDPAudio.parse("v=0\nc=IN IP4 1.2.3.4\nm=audio x RTP/AVP 0\n") }
        let rejected = try SDPAudio.parse("v=0\nc=IN IP4 192.0.2.1\nm=audio 0 RTP/AVP 0\n")
        #expect(MediaAgreement(offer: rejected) == nil)
    }

    @Test func readsMediaLevelConnectionAndDynamicCodecNames() throws {
        let offer = try SDPAudio.parse(
            "v=0\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 96 97\nc=IN IP4 10.0.0.2\na=rtpmap:96 PCMA/8000\na=rtpmap:97 telephone-event/8000\n"
        )
        let agreement = try #require(MediaAgreement(offer: offer))
        #expect(agreement.remoteAddress == "10.0.0.2")
        #expect(agreement.law == .aLaw && agreement.payloadType == 96 && agreement.telephoneEventType == 97)
    }
}
