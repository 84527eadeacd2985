/// Puts a caller's audio back in order and releases it as steady 20 ms frames.
///
/// Packets are placed by RTP timestamp, so reordering, duplicates and any packet duration are
/// handled; a frame whose audio did not arrive in time is filled with silence and flagged. The
/// playout delay follows the measured interarrival jitter (RFC 3550 §6.4.1) between `minDelay`
/// and `maxDelay` frames, and a buffer grown too deep (the sender's clock runs fast) drops a frame.
package struct JitterBuffer: Sendable {
    /// One 20 ms frame of the caller's audio (8 kHz).
    package struct Frame: Sendable, Equatable {
        package var samples: [Int16]
        /// Samples that did not arrive in time and were replaced by silence.
        package var concealed: Int

        package init(samples: [Int16], concealed: Int = 0) {
            self.samples = samples
            self.concealed = concealed
        }
    }

    package struct Statistics: Sendable, Equatable {
        package var received = 0
        package var duplicates = 0
        /// Arrived after their time was played out.
        package var late = 0
        package var concealedFrames = 0
        package var droppedFrames = 0
        package var resyncs = 0
    }

    package static let frameSamples = 160
    package let minDelay: Int
    package let maxDelay: Int
    package private(set) var statistics = Statistics()
    /// The interarrival jitter, in seconds.
    package private(set) var jitter = 0.0

    /// RTP timestamp of the next sample to release; nil before the first packet.
    private var playhead: UInt32?

    /// Whether audio has arrived at all (frames are due from then on).
    package var hasStarted: Bool { playhead != nil }

    /// A frame of silence standing for audio that did not come.
    package static let missingFrame = Frame(
        samples: [Int16](repeating: 0, count: frameSamples), concealed: frameSamples)
    /// Frames still to wait before the first release (after the start or a resync).
    private var prebuffer = 0
    /// Packets not yet played out, by timestamp.
    private var pending: [(timestamp: UInt32, samples: [Int16])] = []
    private var lastTransit: Double?
    private var deepTicks = 0
    /// The buffer ran dry: the caller paused, or the network held packets back.
    private var starved = false

    package init(minDelay: Int = 2, maxDelay: Int = 10) {
        precondition(minDelay >= 1 && maxDelay >= minDelay)
        self.minDelay = minDelay
        self.maxDelay = maxDelay
    }

    /// The playout delay now wanted, in frames: four times the jitter, within bounds.
    package var targetDelay: Int {
        let frames = Int((4 * jitter / 0.020).rounded(.up))
        return min(maxDelay, max(minDelay, frames))
    }

    /// Another stream begins (the caller's SSRC changed, RFC 3550 §8.2): its timestamps start
    /// anew, so play from its first packet; the counts go on.
    package mutating func startNewStream() {
        statistics.resyncs += 1
        playhead = nil
        pending = []
        lastTransit = nil
        starved = false
    }

    /// Adds a packet's decoded samples; `arrival` is a monotonic time in seconds.
    package mutating func insert(timestamp: UInt32, samples: [Int16], arrival: Double) {
        guard !samples.isEmpty else { return }
        statistics.received += 1
        let transit = arrival - Double(timestamp) / 8000
        if let last = lastTransit {
            // Modulo 2^32/8000 s: a timestamp wrap shows as a huge step, ignored here.
            let step = abs(transit - last)
            if step < 1 { jitter += (step - jitter) / 16 }
        }
        lastTransit = transit
        guard let head = playhead else {
            playhead = timestamp
            prebuffer = targetDelay
            pending = [(timestamp, samples)]
            return
        }
        let offset = Int(Int32(bitPattern: timestamp &- head))
        if offset + samples.count <= 0 {
            statistics.late += 1
            return
        }
        if starved {
            // Audio again after running dry: play from here once the delay is built up again.
            starved = false
            playhead = timestamp
            prebuffer = targetDelay
            pending = [(timestamp, samples)]
            return
        }
        if offset > (maxDelay + 50) * Self.frameSamples || offset < -maxDelay * Self.frameSamples * 4 {
            // A jump (the caller resumed after a pause without timestamps in step): start again there.
            statistics.resyncs += 1
            playhead = timestamp
            prebuffer = targetDelay
            pending = [(timestamp, samples)]
            return
        }
        if pending.contains(where: { $0.timestamp == timestamp }) {
            statistics.duplicates += 1
            return
        }
        let index =
            pending.firstIndex { Int32(bitPattern: $0.timestamp &- timestamp) > 0 } ?? pending.endIndex
        pending.insert((timestamp, samples), at: index)
    }

    /// The frame due at this 20 ms tick; nil while waiting for audio (before the first packet,
    /// while prebuffering, or when the caller's stream has paused).
    package mutating func pop() -> Frame? {
        guard let head = playhead else { return nil }
        if prebuffer > 0 {
            prebuffer -= 1
            return nil
        }
        guard !pending.isEmpty else {
            starved = true
            return nil
        }
        var head32 = head
        if bufferedFrames(from: head) > targetDelay + 2 {
            deepTicks += 1
            if deepTicks >= 25 {
                // Half a second too deep: drop one frame to bring the delay back.
                head32 = head &+ UInt32(Self.frameSamples)
                statistics.droppedFrames += 1
                deepTicks = 0
            }
        } else {
            deepTicks = 0
        }
        var samples = [Int16](repeating: 0, count: Self.frameSamples)
        var filled = [Bool](repeating: false, count: Self.frameSamples)
        for packet in pending {
            let offset = Int(Int32(bitPattern: packet.timestamp &- head32))
            guard offset < Self.frameSamples else { break }
            for (i, sample) in packet.samples.enumerated() {
                let position = offset + i
                guard position >= 0 else { continue }
                guard position < Self.frameSamples else { break }
                samples[position] = sample
                filled[position] = true
            }
        }
        let end = head32 &+ UInt32(Self.frameSamples)
        pending.removeAll { Int(Int32(bitPattern: $0.timestamp &+ UInt32($0.samples.count) &- end)) <= 0 }
        playhead = end
        let concealed = filled.count { !$0 }
        if concealed > 0 { statistics.concealedFrames += 1 }
        return Frame(samples: samples, concealed: concealed)
    }

    /// Frames of audio held beyond the playhead (up to the end of the newest packet).
    private func bufferedFrames(from head: UInt32) -> Int {
        guard let last = pending.last else { return 0 }
        let end = Int(Int32(bitPattern: last.timestamp &+ UInt32(last.samples.count) &- head))
        return max(0, end) / Self.frameSamples
    }
}
