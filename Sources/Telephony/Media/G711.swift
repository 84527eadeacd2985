/// G.711 companding (ITU-T G.711): 16-bit linear PCM to and from µ-law (PCMU) and A-law (PCMA).
package enum G711 {
    /// The two laws and their RTP static payload types (RFC 3551).
    package enum Law: Sendable {
        case muLaw
        case aLaw

        package var payloadType: UInt8 { self == .muLaw ? 0 : 8 }
        /// The byte that decodes to silence.
        package var silence: UInt8 { self == .muLaw ? 0xFF : 0xD5 }
    }

    package static func encode(_ samples: some Sequence<Int16>, _ law: Law) -> [UInt8] {
        switch law {
        case .muLaw: return samples.map(muLaw)
        case .aLaw: return samples.map(aLaw)
        }
    }

    package static func decode(_ bytes: some Sequence<UInt8>, _ law: Law) -> [Int16] {
        switch law {
        case .muLaw: return bytes.map { muLawTable[Int($0)] }
        case .aLaw: return bytes.map { aLawTable[Int($0)] }
        }
    }

    static let muLawBias = 0x84
    static let muLawClip = 32635

    /// One sample to µ-law.
    package static func muLaw(_ sample: Int16) -> UInt8 {
        var value = Int(sample)
        let sign = value < 0 ? 0x80 : 0
        if value < 0 { value = -value }
        value = min(value, muLawClip) + muLawBias
        var exponent = 7
        var mask = 0x4000
        while exponent > 0 && value & mask == 0 {
            exponent -= 1
            mask >>= 1
        }
        let mantissa = (value >> (exponent + 3)) & 0x0F
        return ~UInt8(sign | (exponent << 4) | mantissa)
    }

    /// One sample to A-law.
    package static func aLaw(_ sample: Int16) -> UInt8 {
        var value = Int(sample) >> 3
        let mask: Int
        if value >= 0 {
            mask = 0xD5
        } else {
            mask = 0x55
            value = -value - 1
        }
        var segment = 0
        var end = 0x1F
        while segment < 8 && value > end {
            segment += 1
            end = (end << 1) | 1
        }
        if segment >= 8 { return UInt8(0x7F ^ mask) }
        var byte = segment << 4
        byte |= segment < 2 ? (value >> 1) & 0x0F : (value >> segment) & 0x0F
        return UInt8(byte ^ mask)
    }

    static let muLawTable: [Int16] = (0...255).map { code in
        let u = ~UInt8(code)
        let exponent = Int(u >> 4) & 0x07
        let mantissa = Int(u) & 0x0F
        let magnitude = (((mantissa << 3) + muLawBias) << exponent) - muLawBias
        return Int16(u & 0x80 != 0 ? -magnitude : magnitude)
    }

    static let aLawTable: [Int16] = (0...255).map { code in
        let a = UInt8(code) ^ 0x55
        var magnitude = Int(a & 0x0F) << 4
        let segment = Int(a & 0x70) >> 4
        switch segment {
        case 0: magnitude += 8
        case 1: magnitude += 0x108
        default: magnitude = (magnitude + 0x108) << (segment - 1)
        }
        return Int16(a & 0x80 != 0 ? magnitude : -magnitude)
    }
}
