import Foundation
import Testing

@testable import Telephony

/// SDES negotiation (RFC 4568) and libsrtp2 protection.
@Suite struct SRTPTests {
    static let key = (0..<30).map { UInt8($0 * 7 % 256) }
    static func offer(_ crypto: String?, profile: String = "RTP/SAVP") -> String {
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            + "m=audio 7000 \(profile) 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
            + (crypto.map { $0 + "\r\n" } ?? "")
    }

    @Test func anSDESOfferIsAnsweredWithAKeyOfTheBotsOwn() throws {
        let line = "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:\(Data(Self.key).base64EncodedString())|2^31"
        let offer = try SDPAudio.parse(Self.offer(line))
        #expect(offer.isSecure && offer.crypto.first?.key == Self.key)
        let agreement = try #require(MediaAgreement(offer: offer))
        let keys = try #require(agreement.srtp)
        #expect(keys.tag == 2 && keys.remote == Self.key && keys.local.count == 30 && keys.local != Self.key)
        let answer = agreement.answer(address: "127.0.0.1", port: 20000, sessionID: 1)
        #expect(answer.contains("m=audio 20000 RTP/SAVP 0 101"))
        #expect(answer.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:\(Data(keys.local).base64EncodedString())"))
        // A plain offer stays plain.
        #expect(MediaAgreement(offer: try SDPAudio.parse(Self.offer(nil, profile: "RTP/AVP")))?.srtp == nil)
    }

    @Test func srtpWithoutAUsableKeyIsRefused() throws {
        for crypto in [
            nil, "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:\(Data(Self.key + Self.key).base64EncodedString())",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\(Data(Self.key).base64EncodedString())|2^20|1:4",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
        ] {
            #expect(MediaAgreement(offer: try SDPAudio.parse(Self.offer(crypto))) == nil, "\(crypto ?? "none")")
        }
        var agent = SIPUserAgent(settings: SIPSettings(publicAddress: SIPAddress(host: "127.0.0.1", port: 5070)))
        let body = Self.offer(nil)
        let invite =
            "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-s\r\n"
            + "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: s\r\nCSeq: 1 INVITE\r\n"
            + "Content-Type: application/sdp\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        let effects = agent.receive(Array(invite.utf8), from: SIPAddress(host: "127.0.0.1", port: 5061), now: 0)
        guard case .send(let response, _)? = effects.first else {
            Issue.record("no answer")
            return
        }
        #expect(response.startLine == .response(status: 488, reason: "Not Acceptable Here"))
        #expect(response.headers["Warning"]?.contains("a=crypto") == true)
    }

    @Test func protectedPacketsRoundTripAndForgeriesAndReplaysFail() throws {
        let sender = try #require(SRTPContext(key: Self.key, outbound: true))
        let receiver = try #require(SRTPContext(key: Self.key, outbound: false))
        let stranger = try #require(SRTPContext(key: Array(Self.key.reversed()), outbound: false))
        let packet = RTPPacket(
            marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 42,
            payload: [UInt8](repeating: 0x55, count: 160)
        ).serialized()
        let protected = try #require(sender.protect(packet))
        #expect(protected.count == packet.count + 10 && protected[12...] != packet[12...], "encrypted, tagged")
        #expect(stranger.unprotect(protected) == nil, "another key")
        var forged = protected
        forged[40] ^= 1
        #expect(receiver.unprotect(forged) == nil, "a flipped bit")
        #expect(receiver.unprotect(protected) == packet)
        #expect(receiver.unprotect(protected) == nil, "a replay")
    }
}
