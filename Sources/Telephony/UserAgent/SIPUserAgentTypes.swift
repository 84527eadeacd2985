package import CallbotCore

/// How SIP messages travel.
package enum SIPTransport: String, Sendable, Hashable {
    case udp
    /// A stream: responses go back on the connection the request came on, nothing is retransmitted.
    case tcp
    /// TCP inside TLS (RFC 3261 §26.3.1): a stream, and the signalling (SDES keys) kept secret.
    case tls

    /// Whether messages travel on a connection (framed by Content-Length).
    var isStream: Bool { self != .udp }

    /// The protocol token of a Via header.
    var viaToken: String { rawValue.uppercased() }
}

/// A transport address.
package struct SIPAddress: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var transport: SIPTransport

    package init(host: String, port: Int, transport: SIPTransport = .udp) {
        self.host = host
        self.port = port
        self.transport = transport
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How the user agent behaves: limits, timers, who may call.
package struct SIPSettings: Sendable {
    /// The address in Contact, Via and SDP.
    package var publicAddress: SIPAddress
    /// The port of SIP over TLS, when offered (Contact and Via of TLS dialogs name it).
    package var tlsPort: Int?

    /// The address for Contact and Via on `transport`.
    func publicAddress(_ transport: SIPTransport) -> SIPAddress {
        guard transport == .tls, let tlsPort else { return publicAddress }
        return SIPAddress(host: publicAddress.host, port: tlsPort, transport: .tls)
    }
    /// Sources allowed to send requests.
    package var trustedPeers: [AddressBlock]
    package var maxCalls: Int
    /// First and last RTP port (even ports are used).
    package var rtpPorts: ClosedRange<Int>
    /// Ringing time before answering, so that a CANCEL can still arrive.
    package var answerDelay: Double
    /// How long a transfer may take before the caller comes back to the bot.
    package var transferTimeout: Double
    /// Seconds a caller is asked to wait before trying again after a 503.
    package var retryAfter: Int
    /// Seconds between in-dialog OPTIONS that check an answered caller is still there (0: never).
    package var probeInterval: Double
    /// Seconds without a packet from a caller who should be sending before the call is ended (0: never).
    package var mediaTimeout: Double
    package var userAgent: String

    package init(
        publicAddress: SIPAddress, trustedPeers: [AddressBlock] = [AddressBlock("127.0.0.0/8")!, AddressBlock("::1")!],
        maxCalls: Int = 200, rtpPorts: ClosedRange<Int> = 20000...20999, answerDelay: Double = 0.3,
        transferTimeout: Double = 30, retryAfter: Int = 30, probeInterval: Double = 60, mediaTimeout: Double = 60,
        tlsPort: Int? = nil, userAgent: String = "Callbot"
    ) {
        self.tlsPort = tlsPort
        self.publicAddress = publicAddress
        self.trustedPeers = trustedPeers
        self.maxCalls = maxCalls
        self.rtpPorts = rtpPorts
        self.answerDelay = answerDelay
        self.transferTimeout = transferTimeout
        self.retryAfter = retryAfter
        self.probeInterval = probeInterval
        self.mediaTimeout = mediaTimeout
        self.userAgent = userAgent
    }

    /// RFC 3261 timers.
    static let t1 = 0.5
    static let t2 = 4.0
    static let transactionLifetime = 32.0
}

/// What the user agent asks its adapter to do, or tells it.
package enum SIPEffect: Sendable, Equatable {
    case send(SIPMessage, to: SIPAddress)
    /// Open RTP on `localPort` for a new call, towards what the caller offered.
    case startMedia(callID: String, localPort: Int, agreement: MediaAgreement)
    /// The caller changed its media (re-INVITE: hold, another address or codec).
    case updateMedia(callID: String, agreement: MediaAgreement)
    /// The call is answered: the dialogue may start. `caller` is the user part of From.
    case callAnswered(callID: String, caller: String?)
    /// Keys pressed, sent in SIP INFO (RTP telephone events come from the media path).
    case digits(callID: String, String)
    case transferFinished(callID: String, status: Int)
    /// The call is over: stop media, close the record.
    case callEnded(callID: String, reason: String)
    /// A call the bot placed was not answered: the final status (486 busy, 487 cancelled after
    /// the ring timeout, 408 no response, 503 no room…).
    case dialFailed(callID: String, status: Int)
}

/// A call for the bot to place (a callback): where the INVITE goes and as whom.
package struct DialRequest: Sendable, Equatable {
    package var callID: String
    /// The Request-URI and To: `sip:+33612345678@trunk.example.org`.
    package var target: String
    /// The trunk, PBX or proxy the INVITE is sent to.
    package var proxy: SIPAddress
    /// Our identity in From: `sip:mairie@villebois.fr`.
    package var from: String
    package var displayName: String?
    package var credentials: SIPCredentials?
    /// Seconds of ringing before the call is cancelled (no answer).
    package var ringTimeout: Double

    package init(
        callID: String, target: String, proxy: SIPAddress, from: String, displayName: String? = nil,
        credentials: SIPCredentials? = nil, ringTimeout: Double = 30
    ) {
        self.callID = callID
        self.target = target
        self.proxy = proxy
        self.from = from
        self.displayName = displayName
        self.credentials = credentials
        self.ringTimeout = ringTimeout
    }
}

/// What the bot answers a trunk's digest challenge with (RFC 3261 §22, RFC 2617).
package struct SIPCredentials: Sendable, Equatable {
    package var username: String
    package var password: String

    package init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Counters of what the user agent refused or dropped.
package struct SIPStatistics: Sendable, Equatable {
    package var droppedUntrusted = 0
    package var droppedMalformed = 0
    package var rejectedBadRequest = 0
    package var rejectedOverload = 0
    package var rejectedCodec = 0
    /// Requests refused for a `Require` or URI scheme the bot does not support (420, 416).
    package var rejectedExtension = 0
    /// Answered calls ended because the caller no longer answered (probe) or sent no media.
    package var callsLost = 0
}
