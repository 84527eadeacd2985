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
/// between prompts), receives the caller's packets, reports RFC 4733 key presses, and notices a
/// caller who stopped sending. The caller's audio goes through a jitter buffer and comes out on
/// the sender's 20 ms ticks, in `callerAudio`.
///
/// Who may send: the address and port the caller's SDP names. A caller behind NAT whose packets
/// come from another port of that same address is latched to once it has sent `latchPackets`
/// packets in sequence from that one port, and then kept for the call (until a re-INVITE names
/// a new address); packets from anywhere else are refused and counted, so a flood of foreign
/// packets can neither speak, press keys nor divert the bot's audio. (Packets from the caller's
/// address with source port 0, which only replayed captures have, are heard but never answered.) One SSRC is followed at a
/// time; a new one from the accepted source takes over after two packets in sequence
/// (RFC 3550 §8.2, A.1), and key presses count only from the SSRC being followed.
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
    private let inactivityTimeout: TimeAmount?
    private let onInactive: @Sendable () -> Void

    /// Packets from another port of the SDP's address needed before the bot answers there.
    static let latchPackets = 3

    /// Packets refused, by reason.
    package struct Refused: Sendable, Equatable {
        /// From an address or port that is not the caller's.
        package var source = 0
        /// From the caller's address, with an SSRC other than the stream followed.
        package var ssrc = 0
        /// SRTP that fails authentication (a forgery, a replay, another key).
        package var authentication = 0
    }

    struct State {
        var agreement: MediaAgreement
        /// Where the SDP says the caller's media are.
        var named: SocketAddress?
        /// Where the bot sends: the named address, or the caller's port once latched.
        var remote: SocketAddress?
        var latched = false
        /// A port of the named address that is sending in sequence, and how many packets so far.
        var candidate: (address: SocketAddress, sequence: UInt16, count: Int)?
        var ssrc: UInt32?
        var newSSRC: (ssrc: UInt32, sequence: UInt16)?
        var refused = Refused()
        var lastHeard: NIODeadline
        var reportedInactive = false
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
        /// SRTP, when agreed: the bot's key for what it sends, the caller's for what it receives.
        var outbound: SRTPContext?
        var inbound: SRTPContext?

        /// Sets up SRTP for `keys` (a new key means a new context; an unchanged one keeps its state).
        mutating func secure(_ keys: SRTPKeys?, previous: SRTPKeys?) {
            guard let keys else {
                (outbound, inbound) = (nil, nil)
                return
            }
            if outbound == nil || keys.local != previous?.local {
                outbound = SRTPContext(key: keys.local, outbound: true)
            }
            if inbound == nil || keys.remote != previous?.remote {
                inbound = SRTPContext(key: keys.remote, outbound: false)
            }
        }

        mutating func follow(_ agreement: MediaAgreement) {
            self.agreement = agreement
            named = Self.address(agreement)
            remote = named
            latched = false
            candidate = nil
        }

        /// The SDP's address, when it is one the bot can send to (not 0.0.0.0, the old hold).
        static func address(_ agreement: MediaAgreement) -> SocketAddress? {
            guard agreement.remoteAddress != "0.0.0.0", agreement.remotePort > 0 else { return nil }
            return try? SocketAddress(ipAddress: agreement.remoteAddress, port: agreement.remotePort)
        }
    }

    /// Opens the socket on `host:localPort`. `onKey` receives key presses from the network thread;
    /// `onInactive` is called once when the caller, expected to send, has sent nothing for
    /// `inactivityTimeout` seconds (0: never).
    package static func open(
        host: String, localPort: Int, agreement: MediaAgreement, group: any EventLoopGroup, logger: Logger,
        inactivityTimeout: Double = 0, onKey: @escaping @Sendable (Character) -> Void,
        onInactive: @escaping @Sendable () -> Void = {}
    ) async throws -> RTPSession {
        let box = NIOLockedValueBox<RTPSession?>(nil)
        // No SO_REUSEADDR: another socket on the same port would share the caller's media.
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RTPInboundHandler { envelope in box.withLockedValue { $0 }?.received(envelope, onKey: onKey) })
                }
            }
            .bind(host: host, port: localPort).get()
        let session = RTPSession(
            localPort: channel.localAddress?.port ?? localPort, channel: channel, agreement: agreement, logger: logger,
            inactivityTimeout: inactivityTimeout > 0 ? .nanoseconds(Int64(inactivityTimeout * 1e9)) : nil,
            onInactive: onInactive)
        box.withLockedValue { $0 = session }
        return session
    }

    private init(
        localPort: Int, channel: any Channel, agreement: MediaAgreement, logger: Logger, inactivityTimeout: TimeAmount?,
        onInactive: @escaping @Sendable () -> Void
    ) {
        self.localPort = localPort
        self.channel = channel
        self.logger = logger
        self.inactivityTimeout = inactivityTimeout
        self.onInactive = onInactive
        (callerAudio, audioSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(250))
        var state = State(agreement: agreement, lastHeard: .now())
        state.follow(agreement)
        state.secure(agreement.srtp, previous: nil)
        self.state = NIOLockedValueBox(state)
    }

    /// Counts of packets, for tests and metrics.
    package var packetCounts: (sent: Int, received: Int) {
        state.withLockedValue { ($0.packetsSent, $0.packetsReceived) }
    }

    /// What the jitter buffer saw of the caller's audio.
    package var receiveStatistics: JitterBuffer.Statistics { state.withLockedValue { $0.jitter.statistics } }

    /// Packets refused so far.
    package var refusedPackets: Refused { state.withLockedValue { $0.refused } }

    /// Whether the media are SRTP.
    package var isSecure: Bool { state.withLockedValue { $0.outbound != nil && $0.inbound != nil } }

    /// Applies a new agreement (re-INVITE); the latched address stays unless the SDP's address moved.
    package func update(_ agreement: MediaAgreement) {
        state.withLockedValue { state in
            let moved =
                agreement.remoteAddress != state.agreement.remoteAddress
                || agreement.remotePort != state.agreement.remotePort
            state.secure(agreement.srtp, previous: state.agreement.srtp)
            if moved {
                state.follow(agreement)
            } else {
                state.agreement = agreement
            }
            state.lastHeard = .now()
            state.reportedInactive = false
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
            let plain = packet.serialized()
            // With SRTP, a packet that cannot be protected is not sent in clear.
            let bytes = state.withLockedValue { state -> [UInt8]? in
                guard state.agreement.srtp != nil else { return plain }
                return state.outbound?.protect(plain)
            }
            if let bytes {
                let buffer = channel.allocator.buffer(bytes: bytes)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
            }
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
        let (packet, silent) = state.withLockedValue { state in
            (Self.nextPacket(&state), isInactive(&state))
        }
        if silent { onInactive() }
        return packet
    }

    /// Whether the caller should be sending and has not for too long; true once.
    private func isInactive(_ state: inout State) -> Bool {
        guard let timeout = inactivityTimeout, !state.stopped, !state.reportedInactive,
            state.agreement.direction == .sendrecv || state.agreement.direction == .recvonly,
            NIODeadline.now() - state.lastHeard > timeout
        else { return false }
        state.reportedInactive = true
        return true
    }

    private static func nextPacket(_ state: inout State) -> (
        [UInt8], Bool, SocketAddress?, CheckedContinuation<PlaybackEnd, Never>?, UInt8, JitterBuffer.Frame?
    )? {
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

    // MARK: Receiving

    fileprivate func received(_ envelope: AddressedEnvelope<ByteBuffer>, onKey: @Sendable (Character) -> Void) {
        guard let wire = RTPPacket(envelope.data.readableBytesView) else {
            logger.debug("not RTP", metadata: ["bytes": "\(envelope.data.readableBytes)"])
            return
        }
        let key: Character? = state.withLockedValue { state in
            var packet = wire
            if state.agreement.srtp != nil {
                guard let inbound = state.inbound, let plain = inbound.unprotect(envelope.data.readableBytesView),
                    let decrypted = RTPPacket(plain)
                else {
                    state.refused.authentication += 1
                    return nil
                }
                packet = decrypted
            }
            guard Self.admits(packet, from: envelope.remoteAddress, &state) else { return nil }
            state.packetsReceived += 1
            state.lastHeard = .now()
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

    /// Whether a packet comes from the caller's stream; follows latching and SSRC changes.
    private static func admits(_ packet: RTPPacket, from source: SocketAddress, _ state: inout State) -> Bool {
        if source != state.remote {
            guard let named = state.named, source.ipAddress == named.ipAddress else {
                state.refused.source += 1
                return false
            }
            if source.port == 0 {
                // No socket sends from port 0: only a capture replayed by raw socket does (SIPp's
                // DTMF). Heard from the caller's own address, never answered to, never latched.
                // (Whoever can forge the caller's address can forge a port as well: SRTP, not
                // the source, is what authenticates media.)
                return followsSSRC(packet, &state)
            }
            guard !state.latched else {
                state.refused.source += 1
                return false
            }
            // Another port of the caller's address (NAT): latch once it sends in sequence.
            if let candidate = state.candidate, candidate.address == source,
                packet.sequenceNumber == candidate.sequence &+ 1
            {
                state.candidate = (source, packet.sequenceNumber, candidate.count + 1)
            } else {
                state.candidate = (source, packet.sequenceNumber, 1)
            }
            guard state.candidate!.count >= latchPackets else {
                state.refused.source += 1
                return false
            }
            state.remote = source
            state.latched = true
            state.candidate = nil
            state.ssrc = nil
        } else if !state.latched {
            state.latched = true  // the named address itself
        }
        return followsSSRC(packet, &state)
    }

    /// Whether a packet belongs to the SSRC followed, switching to a new one after two in sequence.
    private static func followsSSRC(_ packet: RTPPacket, _ state: inout State) -> Bool {
        guard let followed = state.ssrc else {
            state.ssrc = packet.ssrc
            return true
        }
        guard packet.ssrc != followed else {
            state.newSSRC = nil
            return true
        }
        // Another SSRC from the caller's source: a new stream once two packets come in sequence.
        if let next = state.newSSRC, next.ssrc == packet.ssrc, packet.sequenceNumber == next.sequence &+ 1 {
            state.ssrc = packet.ssrc
            state.newSSRC = nil
            state.jitter.startNewStream()
            return true
        }
        state.newSSRC = (packet.ssrc, packet.sequenceNumber)
        state.refused.ssrc += 1
        return false
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
