/// An RTP packet (RFC 3550 §5.1).
package struct RTPPacket: Sendable, Equatable {
    package var marker: Bool
    package var payloadType: UInt8
    package var sequenceNumber: UInt16
    package var timestamp: UInt32
    package var ssrc: UInt32
    package var payload: [UInt8]

    package init(
        marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        payload: [UInt8]
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
    }

    /// Parses a datagram; nil for anything that is not RTP version 2 (RTCP included).
    package init?(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count >= 12, b[0] >> 6 == 2 else { return nil }
        let payloadType = b[1] & 0x7F
        guard !(72...76).contains(payloadType) else { return nil }  // RTCP on the same port (RFC 5761)
        var offset = 12 + Int(b[0] & 0x0F) * 4
        guard b.count >= offset else { return nil }
        if b[0] & 0x10 != 0 {
            guard b.count >= offset + 4 else { return nil }
            offset += 4 + (Int(b[offset + 2]) << 8 | Int(b[offset + 3])) * 4
            guard b.count >= offset else { return nil }
        }
        var end = b.count
        if b[0] & 0x20 != 0 {
            let padding = Int(b[b.count - 1])
            guard padding > 0, end - padding >= offset else { return nil }
            end -= padding
        }
        marker = b[1] & 0x80 != 0
        self.payloadType = payloadType
        sequenceNumber = UInt16(b[2]) << 8 | UInt16(b[3])
        timestamp = UInt32(b[4]) << 24 | UInt32(b[5]) << 16 | UInt32(b[6]) << 8 | UInt32(b[7])
        ssrc = UInt32(b[8]) << 24 | UInt32(b[9]) << 16 | UInt32(b[10]) << 8 | UInt32(b[11])
        payload = Array(b[offset..<end])
    }

    /// The packet on the wire (no CSRC, no extension, no padding).
    package func serialized() -> [UInt8] {
        var out: [UInt8] = [
            0x80, (marker ? 0x80 : 0) | payloadType, UInt8(sequenceNumber >> 8), UInt8(sequenceNumber & 0xFF),
        ]
        out += [
            UInt8(timestamp >> 24), UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF),
            UInt8(timestamp & 0xFF),
        ]
        out += [UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF)]
        return out + payload
    }
}

/// Turns RFC 4733 telephone-event packets into key presses, each press once.
///
/// All packets of one press share its RTP timestamp; the end packet is sent three times. A
/// press is new when its timestamp or event differs from the last, or when a packet without
/// the end bit follows an ended press (senders that restart their timestamps, like replayed
/// captures).
package struct TelephoneEventDetector: Sendable {
    private var last: (ssrc: UInt32, timestamp: UInt32, event: UInt8, ended: Bool)?

    package init() {}

    /// The key of a new press in `packet`'s payload, if it starts one.
    package mutating func key(in payload: [UInt8], ssrc: UInt32, timestamp: UInt32) -> Character? {
        guard payload.count >= 4, let key = Self.key(for: payload[0]) else { return nil }
        let event = payload[0]
        let ended = payload[1] & 0x80 != 0
        defer {
            if let current = last, current.ssrc == ssrc, current.timestamp == timestamp, current.event == event {
                last = (ssrc, timestamp, event, current.ended || ended)
            }
        }
        if let current = last, current.ssrc == ssrc, current.timestamp == timestamp, current.event == event,
            !(current.ended && !ended)
        {
            return nil
        }
        last = (ssrc, timestamp, event, ended)
        return key
    }

    /// Events 0–15: digits, `*`, `#`, A–D.
    static func key(for event: UInt8) -> Character? {
        switch event {
        case 0...9: return Character(String(event))
        case 10: return "*"
        case 11: return "#"
        case 12...15: return Character(Unicode.Scalar(UInt8(ascii: "A") + event - 12))
        default: return nil
        }
    }
}
