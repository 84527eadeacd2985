package import Logging
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix

/// How a playback ended.
package enum PlaybackEnd: Sendable, Equatable {
    case finished
    /// Stopped early: the caller pressed a key, hung up, or the call moved on.
    case interrupted
}

/// The RTP stream of one call: sends 20 ms G.711 frames paced by a monotonic clock (silence
/// between prompts), receives the caller's packets, reports RFC 4733 key presses, and follows
/// the caller's source address (symmetric RTP). The caller's audio goes through a jitter buffer
/// and comes out on the sender's 20 ms ticks, in `callerAudio`.
package final class RTPSession: Sendable {
    package let localPort: Int
    /// The caller's audio, one 20 ms frame (8 kHz) per tick from their first packet on (silence,
    /// counted as concealed, while their stream pauses: a phone that stops sending is silent, and
    /// turn-taking must hear that); the newest 5 s are kept when nobody reads.
    package let callerAudio: AsyncStream<JitterBuffer.Frame>
    private let audioSink: AsyncStream<JitterBuffer.Frame>.Continuation
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    struct State {
        var agreement: MediaAgreement
        var remote: SocketAddress?
        var latched = false
        /// Encoded payloads waiting to be sent, with the playback each one ends.
        var queue: [(payload: [UInt8], ends: Int?)] = []
        var waiters: [Int: CheckedContinuation<PlaybackEnd, Never>] = [:]
        var nextPlayback = 0
        var startOfTalkspurt = false
        var stopped = false
        var detector = TelephoneEventDetector()
        var jitter = JitterBuffer()
        var packetsSent = 0
        var packetsReceived = 0
        var senderStopped: CheckedContinuation<Void, Never>?
    }

    /// Opens the socket on `host:localPort`; `onKey` receives key presses from the network thread.
    package static func open(
        host: String, localPort: Int, agreement: MediaAgreement, group: any EventLoopGroup, logger: Logger,
        onKey: @escaping @Sendable (Character) -> Void
    ) async throws -> RTPSession {
        let box = NIOLockedValueBox<RTPSession?>(nil)
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RTPInboundHandler { envelope in box.withLockedValue { $0 }?.received(envelope, onKey: onKey) })
                }
            }
            .bind(host: host, port: localPort).get()
        let session = RTPSession(
            localPort: channel.localAddress?.port ?? localPort, channel: channel, agreement: agreement, logger: logger)
        box.withLockedValue { $0 = session }
        return session
    }

    private init(localPort: Int, channel: any Channel, agreement: MediaAgreement, logger: Logger) {
        self.localPort = localPort
        self.channel = channel
        self.logger = logger
        (callerAudio, audioSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(250))
        var state = State(agreement: agreement)
        state.remote = try? SocketAddress.makeAddressResolvingHost(agreement.remoteAddress, port: agreement.remotePort)
        self.state = NIOLockedValueBox(state)
    }

    /// Counts of packets, for tests and metrics.
    package var packetCounts: (sent: Int, received: Int) {
        state.withLockedValue { ($0.packetsSent, $0.packetsReceived) }
    }

    /// What the jitter buffer saw of the caller's audio.
    package var receiveStatistics: JitterBuffer.Statistics { state.withLockedValue { $0.jitter.statistics } }

    /// Applies a new agreement (re-INVITE); the latched address stays unless the port changed.
    package func update(_ agreement: MediaAgreement) {
        state.withLockedValue { state in
            let moved =
                agreement.remoteAddress != state.agreement.remoteAddress
                || agreement.remotePort != state.agreement.remotePort
            state.agreement = agreement
            if moved {
                state.latched = false
                state.remote = try? SocketAddress.makeAddressResolvingHost(
                    agreement.remoteAddress, port: agreement.remotePort)
            }
        }
    }

    // MARK: Playback

    /// Queues `samples` (8 kHz) and returns when they have been sent, or when interrupted.
    package func play(_ samples: [Int16]) async -> PlaybackEnd {
        await withCheckedContinuation { continuation in
            let immediate: PlaybackEnd? = state.withLockedValue { state in
                if state.stopped { return .interrupted }
                let law = state.agreement.law
                let id = state.nextPlayback
                state.nextPlayback += 1
                var frames: [[UInt8]] = []
                var index = 0
                while index < samples.count {
                    var frame = Array(samples[index..<min(index + 160, samples.count)])
                    if frame.count < 160 { frame += [Int16](repeating: 0, count: 160 - frame.count) }
                    frames.append(G711.encode(frame, law))
                    index += 160
                }
                if frames.isEmpty { return .finished }
                if state.queue.isEmpty { state.startOfTalkspurt = true }
                for (i, frame) in frames.enumerated() { state.queue.append((frame, i == frames.count - 1 ? id : nil)) }
                state.waiters[id] = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Stops what is playing and everything queued (barge-in).
    package func interrupt() {
        let waiters = state.withLockedValue { state in
            state.queue.removeAll()
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: .interrupted) }
    }

    /// Whether a prompt is being sent.
    package var isPlaying: Bool { state.withLockedValue { !$0.queue.isEmpty } }

    // MARK: Sending

    /// Sends a packet every 20 ms until `stop()`. The timer runs on the socket's event loop with
    /// absolute deadlines, so there is no drift and no hop between threads per packet; a late tick
    /// skips ahead instead of sending a burst. Returns once stopped.
    package func runSender() async {
        let loop = channel.eventLoop
        let sender = PacedSender(session: self, start: .now())
        loop.execute { sender.schedule(on: loop) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.stopped { return true }
                state.senderStopped = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// One tick: the packet of this 20 ms, sent from the event loop; false once stopped.
    fileprivate func tick(_ header: inout (sequence: UInt16, timestamp: UInt32, ssrc: UInt32)) -> Bool {
        guard let (payload, marker, destination, finished, type, heard) = nextPacket() else { return false }
        if let heard { audioSink.yield(heard) }
        if let destination {
            let packet = RTPPacket(
                marker: marker, payloadType: type, sequenceNumber: header.sequence, timestamp: header.timestamp,
                ssrc: header.ssrc, payload: payload)
            let buffer = channel.allocator.buffer(bytes: packet.serialized())
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
        }
        header.sequence &+= 1
        header.timestamp &+= 160
        finished?.resume(returning: .finished)
        return true
    }

    /// The next payload (a prompt frame or silence) and where to send it, with the caller's frame
    /// due now; nil once stopped.
    private func nextPacket() -> (
        [UInt8], Bool, SocketAddress?, CheckedContinuation<PlaybackEnd, Never>?, UInt8, JitterBuffer.Frame?
    )? {
        state.withLockedValue { state in
            if state.stopped { return nil }
            let heard = state.jitter.pop() ?? (state.jitter.hasStarted ? JitterBuffer.missingFrame : nil)
            let agreement = state.agreement
            state.packetsSent +=
                state.remote == nil || agreement.direction == .recvonly || agreement.direction == .inactive ? 0 : 1
            let marker = state.startOfTalkspurt
            state.startOfTalkspurt = false
            let destination = agreement.direction == .recvonly || agreement.direction == .inactive ? nil : state.remote
            guard !state.queue.isEmpty else {
                return (
                    [UInt8](repeating: agreement.law.silence, count: 160), false, destination, nil,
                    agreement.payloadType, heard
                )
            }
            let (payload, ends) = state.queue.removeFirst()
            let finished = ends.flatMap { state.waiters.removeValue(forKey: $0) }
            return (payload, marker, destination, finished, agreement.payloadType, heard)
        }
    }

    // MARK: Receiving

    fileprivate func received(_ envelope: AddressedEnvelope<ByteBuffer>, onKey: @Sendable (Character) -> Void) {
        guard let packet = RTPPacket(envelope.data.readableBytesView) else {
            logger.debug("not RTP", metadata: ["bytes": "\(envelope.data.readableBytes)"])
            return
        }
        let key: Character? = state.withLockedValue { state in
            state.packetsReceived += 1
            if !state.latched, let port = envelope.remoteAddress.port, port > 0 {
                // Symmetric RTP: answer where the caller's packets come from (a real port only:
                // replayed captures may come from port 0).
                state.remote = envelope.remoteAddress
                state.latched = true
            }
            if packet.payloadType == state.agreement.payloadType {
                state.jitter.insert(
                    timestamp: packet.timestamp, samples: G711.decode(packet.payload, state.agreement.law),
                    arrival: Double(NIODeadline.now().uptimeNanoseconds) / 1e9)
                return nil
            }
            guard let type = state.agreement.telephoneEventType, packet.payloadType == type else { return nil }
            return state.detector.key(in: packet.payload, ssrc: packet.ssrc, timestamp: packet.timestamp)
        }
        if let key { onKey(key) }
    }

    /// Stops sending, ends playbacks and closes the socket.
    package func stop() async {
        let (waiters, sender) = state.withLockedValue { state in
            state.stopped = true
            state.queue.removeAll()
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            let sender = state.senderStopped
            state.senderStopped = nil
            return (waiters, sender)
        }
        for waiter in waiters { waiter.resume(returning: .interrupted) }
        sender?.resume()
        audioSink.finish()
        try? await channel.close()
    }
}

/// Hands each datagram to the session.
private final class RTPInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let onPacket: @Sendable (AddressedEnvelope<ByteBuffer>) -> Void

    init(_ onPacket: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void) { self.onPacket = onPacket }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onPacket(Self.unwrapInboundIn(data))
    }
}

/// The 20 ms timer of a session, living on its event loop.
private final class PacedSender: @unchecked Sendable {
    // @unchecked: `header` and `deadline` are only touched on the event loop that runs `schedule`.
    let session: RTPSession
    var header: (sequence: UInt16, timestamp: UInt32, ssrc: UInt32)
    var deadline: NIODeadline
    static let frame = TimeAmount.milliseconds(20)

    init(session: RTPSession, start: NIODeadline) {
        self.session = session
        var generator = SystemRandomNumberGenerator()
        header = (
            UInt16.random(in: 0...UInt16.max, using: &generator), UInt32.random(in: 0...UInt32.max, using: &generator),
            UInt32.random(in: 1...UInt32.max, using: &generator)
        )
        deadline = start
    }

    func schedule(on loop: any EventLoop) {
        deadline = deadline + Self.frame
        let late = NIODeadline.now() - deadline
        if late > .milliseconds(60) {
            // Far behind (the machine stalled): skip ahead, keeping the timestamp in step.
            let missed = late.nanoseconds / Self.frame.nanoseconds
            deadline = deadline + .nanoseconds(missed * Self.frame.nanoseconds)
            header.timestamp &+= UInt32(160 * missed)
        }
        loop.scheduleTask(deadline: deadline) {
            if self.session.tick(&self.header) { self.schedule(on: loop) }
        }
    }
}
