import CallbotCore
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
    /// The caller hung up.
    case hangUp
    /// The caller vanished without hanging up: no media for too long, or no answer to the probe.
    case lost
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

/// The phone line: SIP over UDP and TCP on SwiftNIO, RTP per call, the user agent's decisions applied.
///
/// One task owns the user agent: datagrams, stream messages, the calls' requests (hang up,
/// transfer), media timeouts and the agent's own deadlines all arrive as inputs on one stream,
/// and the effects of each are applied in order before the next is read. A `Service`: on
/// graceful shutdown it refuses new calls with 503, lets calls in progress go on for up to
/// `drainGrace`, hangs up the rest and returns.
package final class SIPServer: Service, Sendable {
    package let listen: SIPAddress
    private let settings: SIPSettings
    private let group: any EventLoopGroup
    private let logger: Logger
    private let drainGrace: Duration
    private let limits: ConnectionLimits
    /// SIP over TLS: its port (on the listen host) and certificates; nil for UDP and TCP only.
    private let tls: (port: Int, contexts: TLSContexts)?
    private let handleCall: @Sendable (IncomingCall) async -> Void
    private let signals = SignalRouter()
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    /// What the owner task last published of the agent's counts.
    private let published = NIOLockedValueBox(SIPStatistics())
    private let droppedUntrusted = NIOLockedValueBox(0)
    /// Messages waiting for the owner task; beyond `maxBacklog` new ones are dropped.
    private let backlog = NIOLockedValueBox(0)
    static let maxBacklog = 8192
    static let droppedBacklog = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "backlog")])
    /// Who may send, read on the network threads; replaced by `update`.
    private let trusted: NIOLockedValueBox<[AddressBlock]>
    /// The owner task's inputs while it runs; and who waits for the line to listen.
    private let running = NIOLockedValueBox<Running>(Running())

    struct Running {
        var input: AsyncStream<Input>.Continuation?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    package init(
        settings: SIPSettings, listen: SIPAddress, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        drainGrace: Duration = .seconds(60), limits: ConnectionLimits = ConnectionLimits(),
        tls: (port: Int, contexts: TLSContexts)? = nil, logger: Logger,
        handleCall: @escaping @Sendable (IncomingCall) async -> Void
    ) {
        self.tls = tls
        self.listen = listen
        self.settings = settings
        self.group = group
        self.logger = logger
        self.drainGrace = drainGrace
        self.limits = limits
        self.handleCall = handleCall
        trusted = NIOLockedValueBox(settings.trustedPeers)
    }

    /// Returns once the line listens (at once if it does).
    package func listening() async {
        await withCheckedContinuation { continuation in
            let now = running.withLockedValue { state in
                guard state.input == nil else { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// New settings from a reloaded config: who may call, limits and timers of the calls to come
    /// (the listen address stays).
    package func update(_ settings: SIPSettings) {
        trusted.withLockedValue { $0 = settings.trustedPeers }
        _ = running.withLockedValue { $0.input }?.yield(.settings(settings))
    }

    /// Whether the owner task handles an input within `patience` (the watchdog's question).
    package func isResponsive(within patience: Duration) async -> Bool {
        guard let input = running.withLockedValue({ $0.input }) else { return false }
        let answer = Answer()
        input.yield(.ping(answer))
        return await answer.wait(patience)
    }

    /// A yes that may come, or not in time.
    final class Answer: Sendable {
        private let state = NIOLockedValueBox<(answered: Bool, waiter: CheckedContinuation<Bool, Never>?)>(
            (false, nil))

        func yes() { settle(true) }

        func wait(_ patience: Duration) async -> Bool {
            let timeout = Task {
                try? await Task.sleep(for: patience)
                self.settle(false)
            }
            defer { timeout.cancel() }
            return await withCheckedContinuation { continuation in
                let already = state.withLockedValue { state -> Bool in
                    if state.answered { return true }
                    state.waiter = continuation
                    return false
                }
                if already { continuation.resume(returning: true) }
            }
        }

        private func settle(_ value: Bool) {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                if value { state.answered = true }
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: value)
        }
    }

    /// The UDP port actually bound (useful with port 0).
    package var port: Int? { boundPort.withLockedValue { $0 } }

    /// What the user agent refused or dropped so far.
    package func statistics() -> SIPStatistics {
        var statistics = published.withLockedValue { $0 }
        statistics.droppedUntrusted += droppedUntrusted.withLockedValue { $0 }
        return statistics
    }

    /// How a call the bot placed went.
    package enum DialOutcome: Sendable, Equatable {
        /// Answered, and its handler has run to its end.
        case answered
        /// Not answered: the final SIP status (486 busy, 487 cancelled after ringing, 408…).
        case notAnswered(status: Int)
        /// Not placed: the line has no room for it now (calls at their limit, no RTP port,
        /// stopping); nothing was sent.
        case lineUnavailable
    }

    /// Places a call through the line (a trunk or PBX as `request.proxy`); once it is answered
    /// `handle` runs it like an incoming call. Returns when the call is over, or how it failed.
    package func dial(_ request: DialRequest, handle: @escaping @Sendable (IncomingCall) async -> Void) async
        -> DialOutcome
    {
        let waiter = DialWaiter()
        return await withCheckedContinuation { continuation in
            waiter.set(continuation)
            guard let input = running.withLockedValue({ $0.input }),
                case .enqueued = input.yield(.dial(request, Dial(handle: handle, waiter: waiter)))
            else { return waiter.finish(.lineUnavailable) }
        }
    }

    /// A placed call's handler and whoever waits for its outcome.
    struct Dial: Sendable {
        let handle: @Sendable (IncomingCall) async -> Void
        let waiter: DialWaiter
    }

    /// Resumes the dialler once, with the first outcome.
    final class DialWaiter: Sendable {
        private let continuation = NIOLockedValueBox<CheckedContinuation<DialOutcome, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<DialOutcome, Never>) {
            self.continuation.withLockedValue { $0 = continuation }
        }

        func finish(_ outcome: DialOutcome) {
            continuation.withLockedValue { value in
                defer { value = nil }
                return value
            }?.resume(returning: outcome)
        }
    }

    enum Input: Sendable {
        case message(Inbound)
        case dial(DialRequest, Dial)
        case hangUp(callID: String, reason: String)
        case transfer(callID: String, target: String, headers: [HeaderField])
        case finished(callID: String)
        case deadline
        case drain
        case drainOver
        case settings(SIPSettings)
        case ping(Answer)
    }

    struct HeaderField: Sendable {
        let name: String
        let value: String
    }

    package func run() async throws {
        try DescriptorBudget(settings: settings, limits: limits).check(logger: logger)
        // Unbounded, so that no control input (a deadline, a call's end) is ever lost: messages
        // from the network are bounded by `backlog` instead, and dropped beyond it.
        let (inputs, input) = AsyncStream.makeStream(of: Input.self)
        let backlog = self.backlog
        let admit: @Sendable (Inbound) -> Void = { inbound in
            let room = backlog.withLockedValue { count -> Bool in
                guard count < Self.maxBacklog else { return false }
                count += 1
                return true
            }
            if room {
                input.yield(.message(inbound))
            } else {
                Self.droppedBacklog.increment()
            }
        }
        let trusted = self.trusted
        let admits: @Sendable (String) -> Bool = { host in
            trusted.withLockedValue { blocks in blocks.contains { $0.contains(host) } }
        }
        let dropped = droppedUntrusted
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            // A datagram may be as large as UDP allows (an INVITE with ICE candidates is over 2 kB).
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DatagramForwarder(admits: admits, dropped: dropped, forward: admit))
                }
            }
            .bind(host: listen.host, port: listen.port).get()
        let port = channel.localAddress?.port ?? listen.port
        boundPort.withLockedValue { $0 = port }
        let connections = StreamConnections(
            group: group, limits: limits, logger: logger, admits: admits, forward: admit)
        let listener = try await connections.listen(host: listen.host, port: port)
        let secure = tls.map { tls in
            StreamConnections(
                group: group, limits: limits, tls: tls.contexts, logger: logger, admits: admits, forward: admit)
        }
        var secureListener: (any Channel)?
        if let secure, let tls { secureListener = try await secure.listen(host: listen.host, port: tls.port) }
        var metadata: Logger.Metadata = ["sip.listen": "\(listen.host):\(port)", "sip.transports": "udp tcp"]
        if let secureListener {
            metadata["sip.transports"] = "udp tcp tls"
            metadata["sip.tls"] = "\(listen.host):\(secureListener.localAddress?.port ?? 0)"
        }
        logger.info("SIP listening", metadata: metadata)
        let waiters = running.withLockedValue { state in
            state.input = input
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        defer { running.withLockedValue { $0.input = nil } }
        let sender = Sender(channel: channel, connections: connections, secure: secure, logger: logger)
        let (runs, startCall) = AsyncStream.makeStream(of: CallRun.self)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask {
                    // Every answered call runs as a child task of the service.
                    await withDiscardingTaskGroup { calls in
                        for await run in runs { calls.addTask { await run.body() } }
                    }
                }
                var owner = Owner(
                    server: self, agent: SIPUserAgent(settings: settings), input: input, sender: sender,
                    startCall: startCall, backlog: backlog)
                for await next in inputs {
                    await owner.handle(next)
                    if owner.isDone { break }
                }
                owner.cancelTimer()
                for dial in owner.dials.values { dial.waiter.finish(.lineUnavailable) }
                input.finish()
                startCall.finish()
            }
        } onGracefulShutdown: {
            input.yield(.drain)
        }
        try? await listener.close()
        try? await secureListener?.close()
        connections.closeAll()
        secure?.closeAll()
        try? await channel.close()
    }

    /// The user agent and what its effects opened, owned by the one task that reads the inputs.
    struct Owner {
        let server: SIPServer
        var agent: SIPUserAgent
        let input: AsyncStream<Input>.Continuation
        let sender: Sender
        let startCall: AsyncStream<CallRun>.Continuation
        let backlog: NIOLockedValueBox<Int>
        let start = NIODeadline.now()
        var media: [String: RTPSession] = [:]
        /// Calls the bot placed, until answered or failed.
        var dials: [String: Dial] = [:]
        /// Calls whose application task has not finished yet.
        var running: Set<String> = []
        var timer: Scheduled<Void>?
        var timerAt = Double.infinity
        var draining = false
        var lingerUntil = Double.infinity
        /// After the drain's grace and the hang-ups, the latest the line waits for calls to end.
        var hardStop = Double.infinity
        var isDone = false

        var now: Double { Double((NIODeadline.now() - start).nanoseconds) / 1e9 }

        mutating func handle(_ next: Input) async {
            var effects: [SIPEffect] = []
            if now >= timerAt {
                // A deadline is due (its wake-up may still be queued): never late, never lost.
                timerAt = .infinity
                effects = agent.tick(now: now)
            }
            switch next {
            case .message(let inbound):
                backlog.withLockedValue { $0 -= 1 }
                effects += agent.receive(inbound.bytes, from: inbound.source, now: now)
            case .dial(let request, let dial):
                let placed = agent.dial(request, now: now)
                if case .dialFailed? = placed.first {
                    dial.waiter.finish(.lineUnavailable)
                } else {
                    dials[request.callID] = dial
                    effects += placed
                }
            case .hangUp(let callID, let reason):
                effects += agent.hangUp(callID, reason: reason, now: now)
            case .transfer(let callID, let target, let headers):
                effects += agent.transfer(callID, to: target, headers: headers.map { ($0.name, $0.value) }, now: now)
            case .finished(let callID):
                running.remove(callID)
                if let session = media.removeValue(forKey: callID) { await session.stop() }
            case .deadline:
                // Due ones were handled above; an early or stale wake-up only asks for a new timer.
                timerAt = .infinity
            case .drain:
                draining = true
                agent.draining = true
                server.logger.info("draining calls", metadata: ["calls.active": "\(agent.activeCalls)"])
                let grace = server.drainGrace
                let loop = server.group.next()
                _ = loop.scheduleTask(in: TimeAmount(grace)) { [input] in input.yield(.drainOver) }
            case .drainOver:
                for callID in media.keys.sorted() { effects += agent.hangUp(callID, reason: "shutdown", now: now) }
                hardStop = now + 5
            case .settings(let settings):
                agent.update(settings)
            case .ping(let answer):
                answer.yes()
            }
            await apply(effects)
            publish()
            if draining, running.isEmpty, agent.activeCalls == 0 {
                // Let the last BYEs be answered (or time out) before the socket closes.
                if lingerUntil == .infinity { lingerUntil = now + 2 }
                if agent.footprint.clientTransactions == 0 || now >= lingerUntil { isDone = true }
            }
            if now >= hardStop {
                server.logger.warning(
                    "calls still running after the drain: stopping", metadata: ["calls": "\(running.count)"])
                isDone = true
            }
            schedule()
        }

        /// Applies effects in order; opening media may add the answer's own effects.
        mutating func apply(_ effects: [SIPEffect]) async {
            var queue = effects[...]
            while let effect = queue.popFirst() {
                switch effect {
                case .send(let message, let address):
                    sender.send(message, to: address)
                case .startMedia(let callID, let port, let agreement):
                    queue.insert(
                        contentsOf: await openMedia(callID, port: port, agreement: agreement), at: queue.startIndex)
                case .updateMedia(let callID, let agreement):
                    media[callID]?.update(agreement)
                case .callAnswered(let callID, let caller):
                    guard let session = media[callID] else { continue }
                    running.insert(callID)
                    let dial = dials.removeValue(forKey: callID)
                    startCall.yield(
                        server.callRun(
                            callID: callID, caller: caller, media: session, input: input,
                            handle: dial?.handle ?? server.handleCall, finished: { dial?.waiter.finish(.answered) }))
                case .dialFailed(let callID, let status):
                    server.logger.info(
                        "call not answered", metadata: ["call.sip_id": "\(callID)", "status": "\(status)"])
                    dials.removeValue(forKey: callID)?.waiter.finish(.notAnswered(status: status))
                case .digits(let callID, let digits):
                    for key in digits { server.signals.send(callID, .key(key)) }
                case .transferFinished(let callID, let status):
                    server.signals.send(callID, .transferFinished(status))
                case .callEnded(let callID, let reason):
                    server.logger.info("call ended", metadata: ["call.sip_id": "\(callID)", "reason": "\(reason)"])
                    let lost = reason == "media_timeout" || reason == "caller_lost"
                    server.signals.send(callID, lost ? .lost : .hangUp)
                    server.signals.close(callID)
                    if !running.contains(callID), let session = media.removeValue(forKey: callID) {
                        await session.stop()
                    }
                }
            }
        }

        /// Opens the call's RTP socket; when that fails (no descriptor left, port taken) the call is refused.
        mutating func openMedia(_ callID: String, port: Int, agreement: MediaAgreement) async -> [SIPEffect] {
            let signals = server.signals
            do {
                let session = try await RTPSession.open(
                    host: server.listen.host, localPort: port, agreement: agreement, group: server.group,
                    logger: server.logger, inactivityTimeout: agent.settings.mediaTimeout,
                    onKey: { key in signals.send(callID, .key(key)) },
                    onInactive: { [input] in input.yield(.hangUp(callID: callID, reason: "media_timeout")) })
                media[callID] = session
                return agent.mediaReady(callID, now: now)
            } catch {
                server.logger.error(
                    "cannot open RTP: refusing the call", metadata: ["call.sip_id": "\(callID)", "error": "\(error)"])
                Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "no_media")]).increment()
                return agent.mediaFailed(callID, now: now)
            }
        }

        static let callsHeld = Gauge(label: "callbot_sip_calls_held")
        static let transactionsHeld = Gauge(label: "callbot_sip_transactions_held")

        func publish() {
            let footprint = agent.footprint
            Self.callsHeld.record(footprint.calls)
            Self.transactionsHeld.record(footprint.serverTransactions + footprint.clientTransactions)
            let statistics = agent.statistics
            server.published.withLockedValue { $0 = statistics }
        }

        /// Wakes the owner at the agent's next deadline (and no earlier than needed).
        mutating func schedule() {
            var next = min(agent.nextDeadline, hardStop)
            if lingerUntil < .infinity { next = min(next, lingerUntil) }
            guard next < timerAt else { return }
            timer?.cancel()
            timerAt = next
            let delay = TimeAmount.nanoseconds(Int64(max(0, (next - now) * 1e9).rounded(.up)))
            timer = server.group.next().scheduleTask(in: delay) { [input] in input.yield(.deadline) }
        }

        func cancelTimer() { timer?.cancel() }
    }

    /// The work of one answered call: the application, then the hang-up and the media's counts.
    func callRun(
        callID: String, caller: String?, media: RTPSession, input: AsyncStream<Input>.Continuation,
        handle: @escaping @Sendable (IncomingCall) async -> Void, finished: @escaping @Sendable () -> Void
    ) -> CallRun {
        let call = IncomingCall(
            callID: callID, caller: caller, media: media, signals: signals.open(callID),
            hangUp: { input.yield(.hangUp(callID: callID, reason: "local_bye")) },
            transfer: { target, headers in
                input.yield(
                    .transfer(
                        callID: callID, target: target, headers: headers.map { HeaderField(name: $0.0, value: $0.1) }))
            })
        return CallRun { [logger, signals] in
            await withDiscardingTaskGroup { group in
                group.addTask { await media.runSender() }
                await handle(call)
                input.yield(.hangUp(callID: callID, reason: "local_bye"))
                await media.stop()
            }
            let heard = media.receiveStatistics
            for (kind, count) in [
                ("late", heard.late), ("concealed", heard.concealedFrames), ("dropped", heard.droppedFrames),
            ] where count > 0 {
                Counter(label: "callbot_rtp_frames_total", dimensions: [("kind", kind)]).increment(by: count)
            }
            let refused = media.refusedPackets
            for (reason, count) in [
                ("source", refused.source), ("ssrc", refused.ssrc), ("authentication", refused.authentication),
            ] where count > 0 {
                Counter(label: "callbot_rtp_refused_total", dimensions: [("reason", reason)]).increment(by: count)
            }
            logger.info(
                "call media",
                metadata: [
                    "call.sip_id": "\(callID)", "rtp.sent": "\(media.packetCounts.sent)",
                    "rtp.received": "\(heard.received)", "rtp.late": "\(heard.late)",
                    "rtp.concealed_frames": "\(heard.concealedFrames)",
                    "rtp.refused": "\(refused.source + refused.ssrc + refused.authentication)",
                    "rtp.srtp": "\(media.isSecure)",
                ])
            signals.close(callID)
            input.yield(.finished(callID: callID))
            finished()
        }
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
        let secure: StreamConnections?
        let logger: Logger

        func send(_ message: SIPMessage, to address: SIPAddress) {
            if case .response(let status, _) = message.startLine {
                Counter(label: "callbot_sip_responses_total", dimensions: [("code", String(status))]).increment()
            }
            let bytes = message.serialized()
            switch address.transport {
            case .tcp:
                connections.send(bytes, to: address)
                return
            case .tls:
                guard let secure else {
                    logger.warning("cannot send SIP over TLS: no TLS configured")
                    return
                }
                secure.send(bytes, to: address)
                return
            case .udp:
                break
            }
            guard let destination = try? SocketAddress(ipAddress: address.host, port: address.port) else {
                // The address came from a peer's message: it is not logged.
                logger.warning("cannot send SIP: not an address literal")
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

/// Forwards the datagrams of trusted sources; the others are dropped here, on the network thread,
/// and counted.
private final class DatagramForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let admits: @Sendable (String) -> Bool
    let dropped: NIOLockedValueBox<Int>
    let forward: @Sendable (Inbound) -> Void

    init(
        admits: @escaping @Sendable (String) -> Bool, dropped: NIOLockedValueBox<Int>,
        forward: @escaping @Sendable (Inbound) -> Void
    ) {
        self.admits = admits
        self.dropped = dropped
        self.forward = forward
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard let host = envelope.remoteAddress.ipAddress, admits(host) else {
            dropped.withLockedValue { $0 += 1 }
            SIPUserAgent.droppedUntrusted.increment()
            return
        }
        let source = SIPAddress(host: host, port: envelope.remoteAddress.port ?? 0)
        forward(Inbound(bytes: Array(envelope.data.readableBytesView), source: source))
    }
}
