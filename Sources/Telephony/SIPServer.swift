package import Logging
import Metrics
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix
import ServiceLifecycle

/// Something that happens to an answered call, from the network.
package enum CallSignal: Sendable, Equatable {
    /// A key pressed (RFC 4733 over RTP, or SIP INFO).
    case key(Character)
    /// The transfer ended with this SIP status (200 answered, 486 busy, 408 timeout…).
    case transferFinished(Int)
    /// The caller hung up (or the call was lost).
    case hangUp
}

/// An answered call, handed to the application.
package struct IncomingCall: Sendable {
    package let callID: String
    /// The user part of the caller's From URI (`+33612345678`, `0612345678`, `1001`).
    package let caller: String?
    package let media: RTPSession
    package let signals: AsyncStream<CallSignal>
    /// Ends the call (BYE).
    package let hangUp: @Sendable () async -> Void
    /// Blind transfer (REFER) to a SIP URI, with headers embedded in Refer-To.
    package let transfer: @Sendable (_ target: String, _ headers: [(String, String)]) async -> Void
}

/// The phone line: SIP over UDP on SwiftNIO, RTP per call, the user agent's decisions applied.
///
/// A `Service`: on graceful shutdown it refuses new calls with 503, lets calls in progress go
/// on for up to `drainGrace`, hangs up the rest and returns.
package final class SIPServer: Service, Sendable {
    package let listen: SIPAddress
    private let group: any EventLoopGroup
    private let logger: Logger
    private let drainGrace: Duration
    private let handleCall: @Sendable (IncomingCall) async -> Void
    private let core: Core
    private let signals = SignalRouter()
    private let boundPort = NIOLockedValueBox<Int?>(nil)

    package init(
        settings: SIPSettings, listen: SIPAddress, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        drainGrace: Duration = .seconds(60), logger: Logger,
        handleCall: @escaping @Sendable (IncomingCall) async -> Void
    ) {
        self.listen = listen
        self.group = group
        self.logger = logger
        self.drainGrace = drainGrace
        self.handleCall = handleCall
        core = Core(agent: SIPUserAgent(settings: settings), logger: logger)
    }

    /// The UDP port actually bound (useful with port 0).
    package var port: Int? { boundPort.withLockedValue { $0 } }

    /// What the user agent refused or dropped so far.
    package func statistics() async -> SIPStatistics { await core.agent.statistics }

    package func run() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Inbound.self, bufferingPolicy: .bufferingNewest(4096))
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramForwarder { continuation.yield($0) })
                }
            }
            .bind(host: listen.host, port: listen.port).get()
        let port = channel.localAddress?.port ?? listen.port
        boundPort.withLockedValue { $0 = port }
        let connections = StreamConnections(group: group, logger: logger) { continuation.yield($0) }
        let listener = try await connections.listen(host: listen.host, port: port)
        logger.info("SIP listening", metadata: ["sip.listen": "\(listen.host):\(port)", "sip.transports": "udp tcp"])
        let sender = Sender(channel: channel, connections: connections, logger: logger)
        let (runs, startCall) = AsyncStream.makeStream(of: CallRun.self)
        defer {
            continuation.finish()
            startCall.finish()
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask {
                    // Every answered call runs as a child task of the service.
                    await withDiscardingTaskGroup { calls in
                        for await run in runs { calls.addTask { await run.body() } }
                    }
                }
                tasks.addTask { [core] in
                    // The user agent's timers: retransmissions, answers due, timeouts.
                    let clock = ContinuousClock()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(20), clock: clock)
                        let effects = await core.tick()
                        await self.perform(effects, sender: sender, startCall: startCall)
                    }
                }
                tasks.addTask { [core] in
                    // Graceful shutdown: refuse new calls, wait for the others, then stop everything.
                    try? await gracefulShutdown()
                    await core.startDraining()
                    let active = await core.agent.activeCalls
                    self.logger.info("draining calls", metadata: ["calls.active": "\(active)"])
                    let deadline = ContinuousClock.now + self.drainGrace
                    while await core.agent.activeCalls > 0, ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    for callID in await core.activeCallIDs() {
                        await self.perform(await core.hangUp(callID), sender: sender, startCall: startCall)
                    }
                    try? await Task.sleep(for: .milliseconds(200))  // let the BYEs leave
                    continuation.finish()
                    startCall.finish()
                }
                for await inbound in stream {
                    let effects = await core.receive(inbound.bytes, from: inbound.source)
                    await perform(effects, sender: sender, startCall: startCall)
                }
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            // Handled by the draining task above.
        }
        try? await listener.close()
        connections.closeAll()
        try? await channel.close()
    }

    /// Applies the user agent's effects.
    private func perform(_ effects: [SIPEffect], sender: Sender, startCall: AsyncStream<CallRun>.Continuation) async {
        for effect in effects {
            switch effect {
            case .send(let message, let address):
                sender.send(message, to: address)
            case .startMedia(let callID, let port, let agreement):
                do {
                    let session = try await RTPSession.open(
                        host: listen.host, localPort: port, agreement: agreement, group: group, logger: logger
                    ) { [signals] key in signals.send(callID, .key(key)) }
                    await core.attach(callID, media: session)
                } catch {
                    logger.error("cannot open RTP", metadata: ["call.sip_id": "\(callID)", "error": "\(error)"])
                }
            case .updateMedia(let callID, let agreement):
                await core.media(callID)?.update(agreement)
            case .callAnswered(let callID, let caller):
                guard let media = await core.media(callID) else {
                    await perform(await core.hangUp(callID), sender: sender, startCall: startCall)
                    continue
                }
                let callSignals = signals.open(callID)
                let call = IncomingCall(
                    callID: callID, caller: caller, media: media, signals: callSignals,
                    hangUp: { [core] in
                        await self.perform(await core.hangUp(callID), sender: sender, startCall: startCall)
                    },
                    transfer: { [core] target, headers in
                        await self.perform(
                            await core.transfer(callID, to: target, headers: headers), sender: sender,
                            startCall: startCall)
                    })
                startCall.yield(
                    CallRun { [core, handleCall, signals] in
                        await withDiscardingTaskGroup { group in
                            group.addTask { await media.runSender() }
                            await handleCall(call)
                            await self.perform(await core.hangUp(callID), sender: sender, startCall: startCall)
                            await media.stop()
                        }
                        let heard = media.receiveStatistics
                        for (kind, count) in [
                            ("late", heard.late), ("concealed", heard.concealedFrames),
                            ("dropped", heard.droppedFrames),
                        ] where count > 0 {
                            Counter(label: "callbot_rtp_frames_total", dimensions: [("kind", kind)]).increment(
                                by: count)
                        }
                        self.logger.info(
                            "call media",
                            metadata: [
                                "call.sip_id": "\(callID)", "rtp.sent": "\(media.packetCounts.sent)",
                                "rtp.received": "\(heard.received)", "rtp.late": "\(heard.late)",
                                "rtp.concealed_frames": "\(heard.concealedFrames)",
                            ])
                        await core.forget(callID)
                        signals.close(callID)
                    })
            case .digits(let callID, let digits):
                for key in digits { signals.send(callID, .key(key)) }
            case .transferFinished(let callID, let status):
                signals.send(callID, .transferFinished(status))
            case .callEnded(let callID, let reason):
                logger.info("call ended", metadata: ["call.sip_id": "\(callID)", "reason": "\(reason)"])
                signals.send(callID, .hangUp)
                signals.close(callID)
            }
        }
    }

    /// The user agent and the calls' plumbing, behind one actor.
    actor Core {
        var agent: SIPUserAgent
        let logger: Logger
        let start = ContinuousClock.now
        var media: [String: RTPSession] = [:]

        init(agent: SIPUserAgent, logger: Logger) {
            self.agent = agent
            self.logger = logger
        }

        var now: Double {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }

        func receive(_ bytes: [UInt8], from source: SIPAddress) -> [SIPEffect] {
            agent.receive(bytes, from: source, now: now)
        }
        func tick() -> [SIPEffect] { agent.tick(now: now) }
        func hangUp(_ callID: String) -> [SIPEffect] { agent.hangUp(callID, now: now) }
        func transfer(_ callID: String, to target: String, headers: [(String, String)]) -> [SIPEffect] {
            agent.transfer(callID, to: target, headers: headers, now: now)
        }
        func startDraining() { agent.draining = true }
        func activeCallIDs() -> [String] { Array(media.keys) }
        func attach(_ callID: String, media session: RTPSession) { media[callID] = session }
        func media(_ callID: String) -> RTPSession? { media[callID] }

        func forget(_ callID: String) { media[callID] = nil }
    }

    /// The signal streams of answered calls, fed from SIP and from RTP threads alike.
    final class SignalRouter: Sendable {
        private let streams = NIOLockedValueBox<[String: AsyncStream<CallSignal>.Continuation]>([:])

        func open(_ callID: String) -> AsyncStream<CallSignal> {
            let (stream, continuation) = AsyncStream.makeStream(of: CallSignal.self)
            streams.withLockedValue { $0[callID] = continuation }
            return stream
        }

        func send(_ callID: String, _ signal: CallSignal) {
            _ = streams.withLockedValue { $0[callID] }?.yield(signal)
        }

        func close(_ callID: String) {
            streams.withLockedValue { $0.removeValue(forKey: callID) }?.finish()
        }
    }

    /// The work of one answered call.
    struct CallRun: Sendable {
        let body: @Sendable () async -> Void
    }

    /// Writes SIP messages to the UDP socket or to a TCP connection.
    struct Sender: Sendable {
        let channel: any Channel
        let connections: StreamConnections
        let logger: Logger

        func send(_ message: SIPMessage, to address: SIPAddress) {
            if case .response(let status, _) = message.startLine {
                Counter(label: "callbot_sip_responses_total", dimensions: [("code", String(status))]).increment()
            }
            let bytes = message.serialized()
            guard address.transport == .udp else {
                connections.send(bytes, to: address)
                return
            }
            guard let destination = try? SocketAddress(ipAddress: address.host, port: address.port) else {
                logger.warning("cannot send SIP to \(address)")
                return
            }
            let buffer = channel.allocator.buffer(bytes: bytes)
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
        }
    }
}

/// Bytes of one SIP message (or of something that failed to be one) and where they came from.
struct Inbound: Sendable {
    let bytes: [UInt8]
    let source: SIPAddress
}

/// Forwards every datagram.
private final class DatagramForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let forward: @Sendable (Inbound) -> Void

    init(_ forward: @escaping @Sendable (Inbound) -> Void) { self.forward = forward }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        let source = SIPAddress(
            host: envelope.remoteAddress.ipAddress ?? "0.0.0.0", port: envelope.remoteAddress.port ?? 0)
        forward(Inbound(bytes: Array(envelope.data.readableBytesView), source: source))
    }
}
