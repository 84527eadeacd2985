import CallbotCore
import Logging
import Metrics
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix
package import NIOSSL
import NIOTLS

/// Bounds on SIP over TCP, so that no peer can wear the daemon down.
package struct ConnectionLimits: Sendable {
    /// Open connections in all, accepted and opened.
    package var maxConnections: Int
    /// Open connections from one address.
    package var maxPerSource: Int
    /// A connection with no traffic at all for this long is closed.
    package var idleTimeout: Duration
    /// A message that has begun must be complete within this time (slow senders are cut off).
    package var messageTimeout: Duration
    /// New connections accepted from one address per second (a burst of as many is allowed).
    package var acceptsPerSecond: Double = 20

    package init(
        maxConnections: Int = 512, maxPerSource: Int = 64, idleTimeout: Duration = .seconds(900),
        messageTimeout: Duration = .seconds(10)
    ) {
        self.maxConnections = maxConnections
        self.maxPerSource = maxPerSource
        self.idleTimeout = idleTimeout
        self.messageTimeout = messageTimeout
    }
}

/// SIP over TLS: the daemon's certificate and key, and the authorities it trusts when it opens a
/// connection itself.
package struct TLSContexts: Sendable {
    let server: NIOSSLContext
    let client: NIOSSLContext

    /// Reads PEM files: the certificate chain (leaf first), its private key, and optionally the
    /// authorities to trust for outgoing connections (the system's otherwise). TLS 1.2 at least.
    package init(certificateFile: String, privateKeyFile: String, caFile: String?) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        var serverConfiguration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        serverConfiguration.minimumTLSVersion = .tlsv12
        server = try NIOSSLContext(configuration: serverConfiguration)
        var clientConfiguration = TLSConfiguration.makeClientConfiguration()
        clientConfiguration.minimumTLSVersion = .tlsv12
        if let caFile { clientConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        client = try NIOSSLContext(configuration: clientConfiguration)
    }
}

/// SIP over TCP or TLS: the listener, the open connections by peer address, and the framing of
/// each byte stream.
///
/// A connection from an address that is not trusted is closed as soon as it is accepted, before
/// anything is read from it. Responses and in-dialog requests to a peer reuse its connection; a
/// request to a peer without one opens a connection. Connections are capped in all and per
/// address, closed after a long idle time, and cut off when a message takes too long to arrive.
final class StreamConnections: Sendable {
    private let group: any EventLoopGroup
    private let logger: Logger
    private let forward: @Sendable (Inbound) -> Void
    private let admits: @Sendable (String) -> Bool
    private let channels = NIOLockedValueBox<[SIPAddress: EventLoopFuture<any Channel>]>([:])
    /// Per address: tokens left for new connections, and when they were counted.
    private let acceptBudget = NIOLockedValueBox<[String: (tokens: Double, at: NIODeadline)]>([:])
    private let limits: ConnectionLimits
    private let transport: SIPTransport
    private let tls: TLSContexts?
    static let refusedUntrusted = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "untrusted")])
    static let refusedLimit = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "connection_limit")])

    /// With `tls`, connections are TLS (accepted with its server context, opened with its client one).
    init(
        group: any EventLoopGroup, limits: ConnectionLimits, tls: TLSContexts? = nil, logger: Logger,
        admits: @escaping @Sendable (String) -> Bool, forward: @escaping @Sendable (Inbound) -> Void
    ) {
        self.transport = tls == nil ? .tcp : .tls
        self.tls = tls
        self.group = group
        self.logger = logger
        self.limits = limits
        self.admits = admits
        self.forward = forward
    }

    /// Accepts connections on `host:port` (the UDP port: SIP uses the same number on both transports).
    func listen(host: String, port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.adopt(channel) }
            }
            .bind(host: host, port: port).get()
    }

    /// Sends bytes on the connection to `address`, opening one if there is none.
    func send(_ bytes: [UInt8], to address: SIPAddress) {
        let (future, opened) = channels.withLockedValue { open -> (EventLoopFuture<any Channel>?, Bool) in
            if let existing = open[address] { return (existing, false) }
            guard open.count < limits.maxConnections else { return (nil, false) }
            let connecting = ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = self.tls {
                            // An address needs no SNI; the certificate is checked against it.
                            let name = AddressBlock.parse(address.host) == nil ? address.host : nil
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls.client, serverHostname: name))
                        }
                        try self.addFramer(to: channel, peer: address)
                    }
                }
                .connect(host: address.host, port: address.port)
            open[address] = connecting
            return (connecting, true)
        }
        guard let future else {
            Self.refusedLimit.increment()
            logger.warning("too many SIP connections: a message is not sent")
            return
        }
        if opened {
            future.whenFailure { [logger] error in
                self.forget(address)
                logger.warning("cannot connect SIP over TCP", metadata: ["error": "\(error)"])
            }
        }
        future.whenSuccess { channel in
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        }
    }

    func closeAll() {
        let all = channels.withLockedValue { open in
            defer { open.removeAll() }
            return Array(open.values)
        }
        for future in all { future.whenSuccess { $0.close(promise: nil) } }
    }

    /// Registers an accepted connection, or closes it at once: untrusted, or over a limit.
    private func adopt(_ channel: any Channel) throws {
        guard let remote = channel.remoteAddress, let host = remote.ipAddress, let port = remote.port,
            admits(host)
        else {
            Self.refusedUntrusted.increment()
            channel.close(mode: .all, promise: nil)
            return
        }
        guard admitsNewConnection(from: host) else {
            Self.refusedLimit.increment()
            channel.close(mode: .all, promise: nil)
            return
        }
        let peer = SIPAddress(host: host, port: port, transport: transport)
        let accepted = channels.withLockedValue { open in
            guard open.count < limits.maxConnections,
                open.keys.lazy.filter({ $0.host == host }).count < limits.maxPerSource
            else { return false }
            open[peer] = channel.eventLoop.makeSucceededFuture(channel)
            return true
        }
        guard accepted else {
            Self.refusedLimit.increment()
            logger.warning("too many SIP connections: closing a new one")
            channel.close(mode: .all, promise: nil)
            return
        }
        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.server)) }
        try addFramer(to: channel, peer: peer)
    }

    /// A token bucket per address: `acceptsPerSecond`, bursts of as many.
    private func admitsNewConnection(from host: String) -> Bool {
        let rate = limits.acceptsPerSecond
        let now = NIODeadline.now()
        return acceptBudget.withLockedValue { budget in
            if budget.count > 4096 { budget = budget.filter { now - $0.value.at < .seconds(60) } }
            var entry = budget[host] ?? (rate, now)
            let elapsed = Double((now - entry.at).nanoseconds) / 1e9
            entry = (min(rate, entry.tokens + elapsed * rate), now)
            guard entry.tokens >= 1 else {
                budget[host] = entry
                return false
            }
            entry.tokens -= 1
            budget[host] = entry
            return true
        }
    }

    private func addFramer(to channel: any Channel, peer: SIPAddress) throws {
        try channel.pipeline.syncOperations.addHandlers(
            IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)),
            SIPStreamFramer(
                peer: peer, messageTimeout: TimeAmount(limits.messageTimeout), handshake: tls != nil,
                forward: forward
            ) {
                [weak self] in
                self?.forget(peer)
            })
    }

    private func forget(_ peer: SIPAddress) {
        _ = channels.withLockedValue { $0.removeValue(forKey: peer) }
    }
}

/// Cuts a TCP byte stream into SIP messages by Content-Length (RFC 3261 §18.3) and answers
/// keep-alive pings (a double CRLF gets a CRLF, RFC 5626 §3.5.1).
///
/// A stream that is not SIP cannot be resynchronised: its bytes are handed over once (so that a
/// 400 can be answered when possible) and the connection is closed shortly after.
final class SIPStreamFramer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let peer: SIPAddress
    private let forward: @Sendable (Inbound) -> Void
    private let closed: () -> Void
    private let messageTimeout: TimeAmount
    private let parser = SIPParser()
    private var pending: [UInt8] = []
    private var broken = false
    /// Bytes the message begun needs in all (0: its head is not complete yet).
    private var awaiting = 0
    /// How far `pending` was searched for the end of a head.
    private var scanned = 0
    /// Closes the connection if the message begun (or the TLS handshake) is not complete in time.
    private var slowMessage: Scheduled<Void>?
    private let awaitsHandshake: Bool

    init(
        peer: SIPAddress, messageTimeout: TimeAmount, handshake: Bool = false,
        forward: @escaping @Sendable (Inbound) -> Void, closed: @escaping () -> Void
    ) {
        self.peer = peer
        self.messageTimeout = messageTimeout
        self.awaitsHandshake = handshake
        self.forward = forward
        self.closed = closed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard awaitsHandshake else { return }
        let channel = context.channel
        slowMessage = context.eventLoop.scheduleTask(in: messageTimeout) { channel.close(promise: nil) }
    }

    /// A broken stream (a TLS error, a reset) ends the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !broken else { return }
        pending += Self.unwrapInboundIn(data).readableBytesView
        defer { watchForSlowMessage(context: context) }
        while !pending.isEmpty {
            if skipKeepAlive(context: context) { continue }
            // Parse again only when it can succeed: once the head's blank line has come, and then
            // once the whole body has (a sender of one byte at a time costs no more than any other).
            if pending.count < awaiting { return }
            if awaiting == 0, !hasBlankLine(after: scanned) {
                scanned = pending.count
                if pending.count > parser.maxMessageBytes { awaiting = 0 } else { return }
            }
            do {
                switch try parser.parse(stream: pending[...]) {
                case .incomplete:
                    scanned = pending.count
                    return
                case .awaitingBody(let total):
                    awaiting = total
                    return
                case .message(_, let consumed):
                    forward(Inbound(bytes: Array(pending[..<consumed]), source: peer))
                    pending.removeFirst(consumed)
                    (awaiting, scanned) = (0, 0)
                    slowMessage?.cancel()
                    slowMessage = nil
                }
            } catch {
                broken = true
                forward(Inbound(bytes: pending, source: peer))
                pending = []
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
                return
            }
        }
    }

    /// Whether the bytes from `start` on (with the three before it) hold an empty line.
    private func hasBlankLine(after start: Int) -> Bool {
        var index = max(pending.startIndex, start - 3)
        while index + 1 < pending.endIndex {
            if pending[index] == 10,
                pending[index + 1] == 10
                    || (pending[index + 1] == 13 && index + 2 < pending.endIndex && pending[index + 2] == 10)
            {
                return true
            }
            index += 1
        }
        return false
    }

    /// Starts the clock when a message has begun and none is running; the clock is not reset by
    /// more bytes, so a sender trickling a byte at a time is cut off all the same.
    private func watchForSlowMessage(context: ChannelHandlerContext) {
        guard !pending.isEmpty, slowMessage == nil, !broken else { return }
        let channel = context.channel
        slowMessage = context.eventLoop.scheduleTask(in: messageTimeout) { channel.close(promise: nil) }
    }

    /// Drops the CRLFs between messages; answers a double-CRLF ping. True when something was dropped.
    private func skipKeepAlive(context: ChannelHandlerContext) -> Bool {
        let blank = pending.prefix { $0 == 13 || $0 == 10 }.count
        guard blank > 0 else { return false }
        if blank == pending.count, blank < 4 { return false }  // wait: maybe the rest of a ping
        if pending.starts(with: [13, 10, 13, 10]) {
            context.writeAndFlush(
                Self.wrapOutboundOut(context.channel.allocator.buffer(bytes: [13, 10])), promise: nil)
        }
        pending.removeFirst(blank)
        return true
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            slowMessage?.cancel()
            slowMessage = nil
        }
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        slowMessage?.cancel()
        closed()
        context.fireChannelInactive()
    }
}

extension TimeAmount {
    /// The same span, to the nanosecond.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
