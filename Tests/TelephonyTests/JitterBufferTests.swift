import Testing

@testable import Telephony

/// The inbound jitter buffer, fed with packets as a network would deliver them.
@Suite struct JitterBufferTests {
    /// A packet of 20 ms whose samples all carry its index, so order can be read back.
    func packet(_ index: Int) -> (timestamp: UInt32, samples: [Int16]) {
        (UInt32(1000 + 160 * index), [Int16](repeating: Int16(index + 1), count: 160))
    }

    /// Feeds packets at the given arrival times, ticking every 20 ms; returns each tick's frame.
    func run(_ buffer: inout JitterBuffer, arrivals: [(index: Int, at: Double)], ticks: Int) -> [JitterBuffer.Frame?] {
        var frames: [JitterBuffer.Frame?] = []
        var pending = arrivals.sorted { $0.at < $1.at }
        for tick in 0..<ticks {
            let now = Double(tick) * 0.020
            while let next = pending.first, next.at <= now {
                pending.removeFirst()
                let p = packet(next.index)
                buffer.insert(timestamp: p.timestamp, samples: p.samples, arrival: next.at)
            }
            frames.append(buffer.pop())
        }
        return frames
    }

    func order(_ frames: [JitterBuffer.Frame?]) -> [Int] {
        frames.compactMap { $0.map { Int($0.samples[80]) - 1 } }
    }

    @Test func inOrderPacketsComeOutAfterTheMinimumDelay() {
        var buffer = JitterBuffer(minDelay: 2)
        let frames = run(&buffer, arrivals: (0..<20).map { ($0, Double($0) * 0.020) }, ticks: 22)
        #expect(frames.prefix(2).allSatisfy { $0 == nil })
        #expect(order(frames) == Array(0..<20))
        #expect(frames.compactMap { $0?.concealed }.allSatisfy { $0 == 0 })
    }

    @Test func reorderedAndDuplicatedPacketsComeOutOnceInOrder() {
        var buffer = JitterBuffer(minDelay: 3)
        var arrivals = (0..<30).map { ($0, Double($0) * 0.020) }
        arrivals.swapAt(5, 6)
        arrivals[5].1 = 0.125
        arrivals[6].1 = 0.121
        arrivals.append((9, 0.185))  // a duplicate
        let frames = run(&buffer, arrivals: arrivals, ticks: 34)
        #expect(order(frames) == Array(0..<30))
        #expect(buffer.statistics.duplicates == 1)
    }

    @Test func aLostPacketIsConcealedAndALatePacketDropped() {
        var buffer = JitterBuffer(minDelay: 2)
        var arrivals = (0..<20).filter { $0 != 7 && $0 != 12 }.map { ($0, Double($0) * 0.020) }
        arrivals.append((12, 0.5))  // far too late
        let frames = run(&buffer, arrivals: arrivals, ticks: 30).compactMap { $0 }
        #expect(frames.count == 20)
        #expect(frames[7].concealed == 160 && frames[7].samples.allSatisfy { $0 == 0 })
        #expect(frames[12].concealed == 160)
        #expect(buffer.statistics.late == 1 && buffer.statistics.concealedFrames == 2)
    }

    @Test func theDelayFollowsTheJitter() {
        var steady = JitterBuffer(minDelay: 1, maxDelay: 10)
        _ = run(&steady, arrivals: (0..<100).map { ($0, Double($0) * 0.020) }, ticks: 105)
        #expect(steady.targetDelay == 1)
        var jittery = JitterBuffer(minDelay: 1, maxDelay: 10)
        var generator = SplitMix(seed: 7)
        let arrivals = (0..<200).map { ($0, Double($0) * 0.020 + Double(generator.next() % 40) / 1000) }
        let frames = run(&jittery, arrivals: arrivals, ticks: 240)
        #expect(jittery.targetDelay >= 3, "jitter \(jittery.jitter)")
        // Once adapted, nothing is lost to lateness.
        #expect(order(frames).suffix(100) == Array(100..<200), "\(jittery.statistics)")
    }

    @Test func aPauseThenAudioAgainPlaysFromTheNewAudio() {
        var buffer = JitterBuffer(minDelay: 2)
        // Ten packets, 3 s of nothing (timestamps keep counting), ten more.
        let arrivals = (0..<10).map { ($0, Double($0) * 0.020) } + (160..<170).map { ($0, Double($0) * 0.020) }
        let frames = run(&buffer, arrivals: arrivals, ticks: 175)
        #expect(order(frames) == Array(0..<10) + Array(160..<170))
        #expect(frames.compactMap { $0 }.allSatisfy { $0.concealed == 0 })
    }

    @Test func timestampsWrapAround() {
        var buffer = JitterBuffer(minDelay: 2)
        let base = UInt32.max - 160 * 5 + 1
        for index in 0..<12 {
            buffer.insert(
                timestamp: base &+ UInt32(160 * index), samples: [Int16](repeating: Int16(index + 1), count: 160),
                arrival: Double(index) * 0.02)
        }
        let frames = (0..<14).compactMap { _ in buffer.pop() }
        #expect(frames.map { Int($0.samples[0]) - 1 } == Array(0..<12))
    }
}

/// A small deterministic generator for simulated network delays.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
