import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// SIP over TCP: the listener, the open connections by peer address, and the framing of each byte stream.
///
/// Responses and in-dialog requests to a peer reuse its connection; a request to a peer without one
/// opens a connection. Connections are capped and closed after a long idle time.
final class StreamConnections: Sendable {
    private let group: any EventLoopGroup
    private let logger: Logger
    private let forward: @Sendable (Inbound) -> Void
    private let channels = NIOLockedValueBox<[SIPAddress: EventLoopFuture<any Channel>]>([:])
    private let maxConnections: Int
    private let idleTimeout: TimeAmount

    init(
        group: any EventLoopGroup, logger: Logger, maxConnections: Int = 2048, idleTimeout: TimeAmount = .minutes(32),
        forward: @escaping @Sendable (Inbound) -> Void
    ) {
        self.group = group
        self.logger = logger
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.forward = forward
    }

    /// Accepts connections on `host:port` (the UDP port: SIP uses the same number on both transports).
    func listen(host: String, port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.adopt(channel) }
            }
            .bind(host: host, port: port).get()
    }

    /// Sends bytes on the connection to `address`, opening one if there is none.
    func send(_ bytes: [UInt8], to address: SIPAddress) {
        let (future, opened) = channels.withLockedValue { open -> (EventLoopFuture<any Channel>, Bool) in
            if let existing = open[address] { return (existing, false) }
            let connecting = ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try self.addFramer(to: channel, peer: address) }
                }
                .connect(host: address.host, port: address.port)
            open[address] = connecting
            return (connecting, true)
        }
        if opened {
            future.whenFailure { [logger] error in
                self.forget(address)
                logger.warning(
                    "cannot connect SIP over TCP", metadata: ["sip.peer": "\(address)", "error": "\(error)"])
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

    /// Registers an accepted connection, or closes it when there are too many.
    private func adopt(_ channel: any Channel) throws {
        guard let remote = channel.remoteAddress, let host = remote.ipAddress, let port = remote.port else {
            channel.close(promise: nil)
            return
        }
        let peer = SIPAddress(host: host, port: port, transport: .tcp)
        let accepted = channels.withLockedValue { open in
            guard open.count < maxConnections else { return false }
            open[peer] = channel.eventLoop.makeSucceededFuture(channel)
            return true
        }
        guard accepted else {
            logger.warning("too many SIP connections: closing a new one")
            channel.close(promise: nil)
            return
        }
        try addFramer(to: channel, peer: peer)
    }

    private func addFramer(to channel: any Channel, peer: SIPAddress) throws {
        try channel.pipeline.syncOperations.addHandlers(
            IdleStateHandler(allTimeout: idleTimeout),
            SIPStreamFramer(peer: peer, forward: forward) { [weak self] in self?.forget(peer) })
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
    private let parser = SIPParser()
    private var pending: [UInt8] = []
    private var broken = false

    init(peer: SIPAddress, forward: @escaping @Sendable (Inbound) -> Void, closed: @escaping () -> Void) {
        self.peer = peer
        self.forward = forward
        self.closed = closed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !broken else { return }
        pending += Self.unwrapInboundIn(data).readableBytesView
        while !pending.isEmpty {
            if skipKeepAlive(context: context) { continue }
            do {
                switch try parser.parse(stream: pending[...]) {
                case .incomplete:
                    return
                case .message(_, let consumed):
                    forward(Inbound(bytes: Array(pending[..<consumed]), source: peer))
                    pending.removeFirst(consumed)
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
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
        context.fireChannelInactive()
    }
}
