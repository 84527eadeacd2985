import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Telephony

/// A real RTP session on loopback, fed by a UDP socket of the test.
@Suite struct RTPSessionTests {
    /// Levels below 4096, one μ-law code each.
    static func level(_ index: Int) -> Int16 { Int16(index * 130 + 50) }

    @Test func theCallersAudioComesOutInOrderThroughTheJitterBuffer() async throws {
        let peer = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let peerPort = try #require(peer.localAddress?.port)
        let offer = try SDPAudio.parse(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                + "m=audio \(peerPort) RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
        let agreement = try #require(MediaAgreement(offer: offer))
        let session = try await RTPSession.open(
            host: "127.0.0.1", localPort: 0, agreement: agreement, group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test")
        ) { _ in }
        let sender = Task { await session.runSender() }
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: session.localPort)
        // 30 packets of 20 ms sent in real time, each a constant level (its index), every other pair swapped.
        var swapped = Array(0..<30)
        for pair in stride(from: 4, to: 28, by: 4) { swapped.swapAt(pair, pair + 1) }
        let order = swapped
        // A thread of its own paces the packets, so that a busy test runner cannot delay them.
        let packets = order.map { index in
            RTPPacket(
                marker: index == 0, payloadType: 0, sequenceNumber: UInt16(index), timestamp: UInt32(160 * index),
                ssrc: 99, payload: G711.encode([Int16](repeating: Self.level(index), count: 160), .muLaw)
            ).serialized()
        }
        let feeder = Thread {
            let start = DispatchTime.now().uptimeNanoseconds
            for (slot, bytes) in packets.enumerated() {
                try? peer.writeAndFlush(
                    AddressedEnvelope(remoteAddress: target, data: peer.allocator.buffer(bytes: bytes))
                ).wait()
                let due = start + UInt64(slot + 1) * 20_000_000
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1000)) }
            }
        }
        feeder.start()
        // Read what comes out for up to 10 s (the stream ends when the session stops).
        let stopper = Task {
            try? await Task.sleep(for: .seconds(10))
            await session.stop()
        }
        var heard: [Int] = []
        for await frame in session.callerAudio where frame.concealed == 0 {
            heard.append(Int(frame.samples[80]))
            if heard.count == 30 { break }
        }
        stopper.cancel()
        await session.stop()
        await sender.value
        try await peer.close()
        // G.711 is lossy: compare with each level through the codec. On a loaded machine a packet
        // may come too late, or be dropped to bring a buffer that stayed too deep back to its
        // delay, but nothing comes out of order or twice, and every frame left out is counted.
        let expected = (0..<30).map { Int(G711.decode(G711.encode([Self.level($0)], .muLaw), .muLaw)[0]) }
        let positions = heard.compactMap { expected.firstIndex(of: $0) }
        #expect(positions.count == heard.count && heard.count >= 27, "\(heard)")
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 }, "in order, once: \(heard)")
        let statistics = session.receiveStatistics
        #expect(
            statistics.received == 30 && statistics.late + statistics.droppedFrames == 30 - heard.count,
            "\(statistics)")
    }
}
