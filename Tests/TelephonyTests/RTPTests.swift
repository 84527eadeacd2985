import Testing

@testable import Telephony

@Suite struct RTPTests {
    @Test func roundTripsAndRefusesWhatIsNotRTP() throws {
        let packet = RTPPacket(
            marker: true, payloadType: 0, sequenceNumber: 65535, timestamp: 0xDEAD_BEEF, ssrc: 42, payload: [1, 2, 3])
        #expect(RTPPacket(packet.serialized()) == packet)
        #expect(RTPPacket([0x80, 0x00]) == nil)
        #expect(RTPPacket([UInt8](repeating: 0, count: 20)) == nil, "version 0")
        var rtcp = packet.serialized()
        rtcp[1] = 0xC8  // sender report
        #expect(RTPPacket(rtcp) == nil)
    }

    @Test func skipsCSRCExtensionAndPadding() throws {
        var bytes: [UInt8] = [0xB1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7]  // padding, extension, one CSRC
        bytes += [0, 0, 0, 9]  // CSRC
        bytes += [0xBE, 0xDE, 0, 1, 1, 2, 3, 4]  // extension of one word
        bytes += [0xD5, 0xD5]  // payload
        bytes += [0, 2]  // two bytes of padding
        let packet = try #require(RTPPacket(bytes))
        #expect(packet.payload == [0xD5, 0xD5] && packet.payloadType == 8 && packet.timestamp == 160)
    }

    func event(_ digit: UInt8, end: Bool, duration: UInt16) -> [UInt8] {
        [digit, end ? 0x8A : 0x0A, UInt8(duration >> 8), UInt8(duration & 0xFF)]
    }

    @Test func countsEachPressOnce() {
        var detector = TelephoneEventDetector()
        var keys: [Character] = []
        // "1": start, updates, three end packets; then "1" again at a new timestamp; then "#".
        let presses: [(UInt8, UInt32)] = [(1, 1000), (1, 2600), (11, 4200)]
        for (digit, timestamp) in presses {
            for (end, duration) in [(false, 160), (false, 320), (false, 480), (true, 640), (true, 640), (true, 640)] {
                if let key = detector.key(
                    in: event(digit, end: end, duration: UInt16(duration)), ssrc: 7, timestamp: timestamp)
                {
                    keys.append(key)
                }
            }
        }
        #expect(keys == ["1", "1", "#"])
    }

    @Test func countsReplayedCapturesWithTheSameTimestamp() {
        // SIPp's DTMF captures share SSRC and timestamps: a new press restarts without the end bit.
        var detector = TelephoneEventDetector()
        var keys: [Character] = []
        for _ in 0..<2 {
            for end in [false, false, true, true, true] {
                if let key = detector.key(in: event(5, end: end, duration: 400), ssrc: 1, timestamp: 8000) {
                    keys.append(key)
                }
            }
        }
        #expect(keys == ["5", "5"])
        #expect(detector.key(in: [200, 0x80, 0, 0], ssrc: 1, timestamp: 9000) == nil, "unknown event")
    }
}
