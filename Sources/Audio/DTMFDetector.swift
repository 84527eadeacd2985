import Foundation

/// In-band touch-tone detection (Goertzel) on 8 kHz audio, for lines that carry keys as sound
/// (the local line; SIP calls get them as RFC 4733 events).
///
/// A key counts once per press: its two tones must dominate the frame, stand above the other
/// DTMF frequencies, keep a sane twist, and last at least 40 ms; the next press needs a gap.
package struct DTMFDetector: Sendable {
    static let rows: [Double] = [697, 770, 852, 941]
    static let columns: [Double] = [1209, 1336, 1477, 1633]
    static let keys: [[Character]] = [
        ["1", "2", "3", "A"], ["4", "5", "6", "B"], ["7", "8", "9", "C"], ["*", "0", "#", "D"],
    ]
    /// 20 ms blocks of 160 samples: ±25 Hz bins, enough to tell the DTMF tones apart.
    static let blockSamples = 160

    private let coefficients: [Double]
    private var pending: [Int16] = []
    /// The key heard in the previous block, and for how many blocks in a row.
    private var candidate: (key: Character?, blocks: Int) = (nil, 0)
    private var reported = false

    package init() {
        coefficients = (Self.rows + Self.columns).map { 2 * cos(2 * Double.pi * $0 / 8000) }
    }

    /// Feeds audio (any length); returns the keys whose press started in it.
    package mutating func process(_ samples: [Int16]) -> [Character] {
        pending += samples
        var keys: [Character] = []
        while pending.count >= Self.blockSamples {
            let block = Array(pending.prefix(Self.blockSamples))
            pending.removeFirst(Self.blockSamples)
            let key = detect(block)
            if key == candidate.key {
                candidate.blocks += 1
            } else {
                candidate = (key, 1)
                reported = false
            }
            // Two blocks (40 ms) of the same key make a press.
            if let key, candidate.blocks >= 2, !reported {
                reported = true
                keys.append(key)
            }
        }
        return keys
    }

    /// The key of one block, or nil.
    private func detect(_ block: [Int16]) -> Character? {
        var energy = 0.0
        for sample in block { energy += Double(sample) * Double(sample) }
        // Below about -45 dBFS there is no key to hear.
        guard energy / Double(block.count) > 32768 * 32768 * 3e-5 else { return nil }
        let powers = coefficients.map { goertzel(block, $0) }
        let rowPowers = Array(powers[0..<4])
        let columnPowers = Array(powers[4..<8])
        let row = rowPowers.indices.max { rowPowers[$0] < rowPowers[$1] }!
        let column = columnPowers.indices.max { columnPowers[$0] < columnPowers[$1] }!
        let rowPower = rowPowers[row]
        let columnPower = columnPowers[column]
        // Each tone well above the others of its group (6 dB)...
        for (i, p) in rowPowers.enumerated() where i != row && p * 4 > rowPower { return nil }
        for (i, p) in columnPowers.enumerated() where i != column && p * 4 > columnPower { return nil }
        // ...a twist within 8 dB either way...
        guard columnPower < rowPower * 6.3, rowPower < columnPower * 6.3 else { return nil }
        // ...and the two tones most of the block's energy (speech spreads it wider).
        let toneEnergy = (rowPower + columnPower) * 2
        guard toneEnergy > energy * 0.5 else { return nil }
        return Self.keys[row][column]
    }

    /// The power of one frequency over the block (Goertzel's algorithm).
    private func goertzel(_ block: [Int16], _ coefficient: Double) -> Double {
        var s1 = 0.0
        var s2 = 0.0
        for sample in block {
            let s0 = Double(sample) + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / Double(block.count)
    }
}
