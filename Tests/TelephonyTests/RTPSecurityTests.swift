import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Telephony

/// Who may speak on a call's RTP stream: the probe of the line sent keys and audio from other
/// addresses and diverted the bot's audio with one early packet; each case here failed before.
@Suite struct RTPSecurityTests {
    /// A UDP socket of the test on a loopback address, keeping what it receives.
    final class Peer: Sendable {
        let channel: any Channel
        let received: NIOLockedValueBox<[RTPPacket]>
        var port: Int { channel.localAddress!.port! }

        init(host: String = "127.0.0.1") async throws {
            let box = NIOLockedValueBox<[RTPPacket]>([])
            received = box
            channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(box))
                    }
                }
                .bind(host: host, port: 0).get()
        }

        func send(_ packet: RTPPacket, to port: Int) async throws {
            let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            try await channel.writeAndFlush(
                AddressedEnvelope(remoteAddress: target, data: channel.allocator.buffer(bytes: packet.serialized())))
        }

        func close() async { try? await channel.close() }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let box: NIOLockedValueBox<[RTPPacket]>
        init(_ box: NIOLockedValueBox<[RTPPacket]>) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let packet = RTPPacket(Self.unwrapInboundIn(data).data.readableBytesView) {
                box.withLockedValue { $0.append(packet) }
            }
        }
    }

    /// A session whose SDP names `sdpPort` on 127.0.0.1, with the keys it reports.
    func session(sdpPort: Int, timeout: Double = 0, onInactive: @escaping @Sendable () -> Void = {}) async throws -> (
        RTPSession, NIOLockedValueBox<[Character]>
    ) {
        let offer = try SDPAudio.parse(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                + "m=audio \(sdpPort) RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
        let keys = NIOLockedValueBox<[Character]>([])
        let session = try await RTPSession.open(
            host: "127.0.0.1", localPort: 0, agreement: try #require(MediaAgreement(offer: offer)),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"), inactivityTimeout: timeout,
            onKey: { key in keys.withLockedValue { $0.append(key) } }, onInactive: onInactive)
        return (session, keys)
    }

    /// The packets of one press of `digit` (RFC 4733: start, update, three ends).
    func press(_ digit: UInt8, ssrc: UInt32, firstSequence: UInt16, timestamp: UInt32) -> [RTPPacket] {
        [(false, 160), (false, 320), (true, 480), (true, 480), (true, 480)].enumerated().map { index, step in
            RTPPacket(
                marker: index == 0, payloadType: 101, sequenceNumber: firstSequence &+ UInt16(index),
                timestamp: timestamp, ssrc: ssrc,
                payload: [digit, step.0 ? 0x8A : 0x0A, UInt8(step.1 >> 8), UInt8(step.1 & 0xFF)])
        }
    }

    func audio(ssrc: UInt32, sequence: UInt16) -> RTPPacket {
        RTPPacket(
            marker: false, payloadType: 0, sequenceNumber: sequence, timestamp: UInt32(sequence) * 160, ssrc: ssrc,
            payload: [UInt8](repeating: 0xFF, count: 160))
    }

    func settle() async throws { try await Task.sleep(for: .milliseconds(300)) }

    @Test func packetsFromAnotherAddressCanNeitherPressKeysNorDivertTheBotsAudio() async throws {
        let caller = try await Peer()
        let intruder = try await Peer(host: "127.0.0.2")
        let (session, keys) = try await session(sdpPort: caller.port)
        let sender = Task { await session.runSender() }
        // The intruder sends first: an early packet, then a key press.
        try await intruder.send(audio(ssrc: 666, sequence: 1), to: session.localPort)
        for packet in press(1, ssrc: 666, firstSequence: 2, timestamp: 800) {
            try await intruder.send(packet, to: session.localPort)
        }
        try await settle()
        #expect(keys.withLockedValue { $0 }.isEmpty, "no key from the intruder")
        #expect(intruder.received.withLockedValue { $0 }.isEmpty, "the bot's audio is not diverted")
        #expect(!caller.received.withLockedValue { $0 }.isEmpty, "it goes where the SDP says")
        #expect(session.refusedPackets.source == 6)
        // The caller's own press counts.
        for packet in press(5, ssrc: 42, firstSequence: 100, timestamp: 1600) {
            try await caller.send(packet, to: session.localPort)
        }
        try await settle()
        #expect(keys.withLockedValue { $0 } == ["5"])
        await session.stop()
        await sender.value
        await caller.close()
        await intruder.close()
    }

    @Test func aCallerBehindNATIsLatchedToAndAFloodCannotStealIt() async throws {
        let named = try await Peer()  // the port the SDP names, where nobody sends from
        let natted = try await Peer()  // the caller's real port, on the same address
        let intruder = try await Peer(host: "127.0.0.2")
        let (session, _) = try await session(sdpPort: named.port)
        let sender = Task { await session.runSender() }
        for sequence in 1...40 {
            try await intruder.send(audio(ssrc: 9, sequence: UInt16(sequence)), to: session.localPort)
        }
        for sequence in 1...5 {
            try await natted.send(audio(ssrc: 7, sequence: UInt16(sequence)), to: session.localPort)
        }
        try await settle()
        let before = natted.received.withLockedValue { $0.count }
        try await settle()
        #expect(natted.received.withLockedValue { $0.count } > before, "latched: the bot answers the caller's port")
        #expect(intruder.received.withLockedValue { $0 }.isEmpty)
        // Once latched, another port of the same address cannot take over either.
        let other = try await Peer()
        for sequence in 1...10 {
            try await other.send(audio(ssrc: 8, sequence: UInt16(sequence)), to: session.localPort)
        }
        try await settle()
        #expect(other.received.withLockedValue { $0 }.isEmpty)
        #expect(session.refusedPackets.source >= 40 + 2 + 10)
        await session.stop()
        await sender.value
        for peer in [named, natted, intruder, other] { await peer.close() }
    }

    @Test func aNewSSRCTakesOverOnlyWhenItsPacketsComeInSequence() async throws {
        let caller = try await Peer()
        let (session, keys) = try await session(sdpPort: caller.port)
        let sender = Task { await session.runSender() }
        for sequence in 1...3 {
            try await caller.send(audio(ssrc: 1, sequence: UInt16(sequence)), to: session.localPort)
        }
        // A stray packet of another SSRC (and a key press that is not in sequence) is refused.
        try await caller.send(audio(ssrc: 2, sequence: 500), to: session.localPort)
        try await caller.send(audio(ssrc: 1, sequence: 4), to: session.localPort)
        try await settle()
        #expect(session.refusedPackets.ssrc == 1)
        // A new stream (RFC 3550 §8.2): its key press is heard once it is followed.
        for packet in press(3, ssrc: 2, firstSequence: 600, timestamp: 3200) {
            try await caller.send(packet, to: session.localPort)
        }
        try await settle()
        #expect(keys.withLockedValue { $0 } == ["3"])
        #expect(session.receiveStatistics.resyncs >= 1)
        await session.stop()
        await sender.value
        await caller.close()
    }

    @Test func aCallerWhoStopsSendingIsReportedOnce() async throws {
        let caller = try await Peer()
        let reports = NIOLockedValueBox(0)
        let (session, _) = try await session(sdpPort: caller.port, timeout: 0.3) {
            reports.withLockedValue { $0 += 1 }
        }
        let sender = Task { await session.runSender() }
        for sequence in 1...3 {
            try await caller.send(audio(ssrc: 1, sequence: UInt16(sequence)), to: session.localPort)
        }
        var waited = 0
        while reports.withLockedValue({ $0 }) == 0, waited < 50 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        try await settle()
        #expect(reports.withLockedValue { $0 } == 1)
        await session.stop()
        await sender.value
        await caller.close()
    }
}
