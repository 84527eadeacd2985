/// The audio part of an SDP offer or answer (RFC 4566, RFC 3264), as a phone call needs it.
package struct SDPAudio: Sendable, Equatable {
    package enum Direction: String, Sendable {
        case sendrecv, sendonly, recvonly, inactive

        /// The direction an answer gives to an offer's direction.
        package var answer: Direction {
            switch self {
            case .sendrecv: return .sendrecv
            case .sendonly: return .recvonly
            case .recvonly: return .sendonly
            case .inactive: return .inactive
            }
        }
    }

    /// Where the peer wants media: connection address and port (0 means the stream is refused).
    package var address: String
    /// The address type of the connection line: `IP4` or `IP6`.
    package var addressType: String
    package var port: Int
    /// Payload types in the offerer's order of preference.
    package var payloadTypes: [UInt8]
    /// Encoding names by payload type, from `a=rtpmap` (static types need none).
    package var encodings: [UInt8: String]
    package var ptime: Int?
    package var direction: Direction
    /// The transport of the audio stream: `RTP/AVP`, or `RTP/SAVP` for SRTP.
    package var profile: String = "RTP/AVP"
    /// Its SDES `a=crypto` lines (RFC 4568).
    package var crypto: [Crypto] = []

    /// One `a=crypto:TAG SUITE KEY-PARAMS [SESSION-PARAMS]` line.
    package struct Crypto: Sendable, Equatable {
        package var tag: Int
        package var suite: String
        /// The first inline key and salt, when it has no MKI.
        package var key: [UInt8]?
        package var sessionParameters: [String]
    }

    /// Whether the offer asks for SRTP.
    package var isSecure: Bool { profile.hasPrefix("RTP/SAVP") }

    /// Parses the first audio stream of an SDP body.
    package static func parse(_ text: String) throws(SIPParseError) -> SDPAudio {
        var sessionAddress: (type: String, address: String)?
        var mediaAddress: (type: String, address: String)?
        var audio: (port: Int, types: [UInt8])?
        var inAudio = false
        var encodings: [UInt8: String] = [:]
        var ptime: Int?
        var sessionDirection = Direction.sendrecv
        var mediaDirection: Direction?
        var profile = "RTP/AVP"
        var crypto: [Crypto] = []
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            guard line.count >= 2, line.dropFirst().first == "=" else { continue }
            let value = line.dropFirst(2)
            switch line.first {
            case "c":
                let parts = value.split(separator: " ")
                guard parts.count == 3, parts[0] == "IN" else { throw SIPParseError(reason: "SDP: invalid c= line") }
                let address = (String(parts[1]), String(parts[2].split(separator: "/").first ?? parts[2]))
                if audio != nil && inAudio { mediaAddress = address } else if audio == nil { sessionAddress = address }
            case "m":
                let parts = value.split(separator: " ")
                if audio != nil {
                    inAudio = false
                    continue
                }
                guard parts.count >= 4, let port = Int(parts[1].split(separator: "/").first ?? parts[1]), port >= 0,
                    port <= 65535
                else { throw SIPParseError(reason: "SDP: invalid m= line") }
                guard parts[0] == "audio" else { continue }
                guard ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF"].contains(parts[2]) else {
                    throw SIPParseError(reason: "SDP: unsupported transport \(parts[2])")
                }
                profile = String(parts[2])
                audio = (port, parts[3...].compactMap { UInt8($0) })
                inAudio = true
            case "a":
                let attribute = value.split(separator: ":", maxSplits: 1)
                let name = attribute.first.map(String.init) ?? ""
                if let direction = Direction(rawValue: name) {
                    if inAudio { mediaDirection = direction } else if audio == nil { sessionDirection = direction }
                }
                guard inAudio || audio == nil, attribute.count == 2 else { continue }
                if name == "rtpmap" {
                    let fields = attribute[1].split(separator: " ", maxSplits: 1)
                    if fields.count == 2, let type = UInt8(fields[0]) { encodings[type] = String(fields[1]) }
                } else if name == "ptime", let value = Int(attribute[1]) {
                    ptime = value
                } else if name == "crypto", inAudio {
                    let fields = attribute[1].split(separator: " ")
                    if fields.count >= 3, let tag = Int(fields[0]) {
                        crypto.append(
                            Crypto(
                                tag: tag, suite: String(fields[1]), key: SRTPKeys.inlineKey(fields[2]),
                                sessionParameters: fields.dropFirst(3).map(String.init)))
                    }
                }
            default:
                continue
            }
        }
        guard let audio else { throw SIPParseError(reason: "SDP: no audio stream") }
        guard let connection = mediaAddress ?? sessionAddress else {
            throw SIPParseError(reason: "SDP: no connection address")
        }
        return SDPAudio(
            address: connection.address, addressType: connection.type, port: audio.port, payloadTypes: audio.types,
            encodings: encodings, ptime: ptime, direction: mediaDirection ?? sessionDirection, profile: profile,
            crypto: crypto)
    }

    /// The payload type carrying RFC 4733 telephone events at 8 kHz, if offered.
    package var telephoneEventType: UInt8? {
        payloadTypes.first { encodings[$0]?.lowercased().hasPrefix("telephone-event/8000") == true }
    }

    /// The first offered G.711 law we can use.
    package var preferredLaw: G711.Law? {
        for type in payloadTypes {
            let name = encodings[type]?.uppercased()
            if type == 0 || name?.hasPrefix("PCMU/8000") == true { return .muLaw }
            if type == 8 || name?.hasPrefix("PCMA/8000") == true { return .aLaw }
        }
        return nil
    }
}

/// What was agreed for a call's audio.
package struct MediaAgreement: Sendable, Equatable {
    package var law: G711.Law
    package var payloadType: UInt8
    package var telephoneEventType: UInt8?
    package var remoteAddress: String
    package var remotePort: Int
    package var direction: SDPAudio.Direction
    /// SDES keys when the caller asked for SRTP.
    package var srtp: SRTPKeys?

    /// The answer to `offer`, or nil when no codec is common or SRTP is asked without a usable
    /// key (answer 488).
    package init?(offer: SDPAudio) {
        guard let law = offer.preferredLaw, offer.port != 0 else { return nil }
        if offer.isSecure {
            guard let keys = SRTPKeys(offer: offer.crypto) else { return nil }
            srtp = keys
        }
        self.law = law
        payloadType =
            offer.payloadTypes.first {
                $0 == law.payloadType
                    || offer.encodings[$0]?.uppercased().hasPrefix(law == .muLaw ? "PCMU" : "PCMA") == true
            } ?? law.payloadType
        telephoneEventType = offer.telephoneEventType
        remoteAddress = offer.address
        remotePort = offer.port
        // A connection address of 0.0.0.0 puts the call on hold (RFC 3264 §8.4, older phones).
        direction = offer.address == "0.0.0.0" ? .inactive : offer.direction.answer
    }

    /// The SDP answer from `address:port`, 20 ms packets.
    package func answer(address: String, port: Int, sessionID: UInt64, version: UInt64 = 1) -> String {
        var types = "\(payloadType)"
        if let te = telephoneEventType { types += " \(te)" }
        var lines = [
            "v=0", "o=callbot \(sessionID) \(version) IN IP4 \(address)", "s=Callbot", "c=IN IP4 \(address)", "t=0 0",
            "m=audio \(port) \(srtp == nil ? "RTP/AVP" : "RTP/SAVP") \(types)",
            "a=rtpmap:\(payloadType) \(law == .muLaw ? "PCMU" : "PCMA")/8000",
        ]
        if let srtp { lines.append(srtp.attribute) }
        if let te = telephoneEventType {
            lines += ["a=rtpmap:\(te) telephone-event/8000", "a=fmtp:\(te) 0-16"]
        }
        lines += ["a=ptime:20", "a=\(direction.rawValue)"]
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
