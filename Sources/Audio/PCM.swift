/// Mono 16-bit audio at a sample rate.
package struct PCM: Sendable, Equatable {
    package var samples: [Int16]
    package var sampleRate: Int

    package init(samples: [Int16], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    package var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// The telephone rate.
    package static let telephoneRate = 8000

    /// This audio at `rate`: low-pass filtered below the new Nyquist frequency, then interpolated.
    package func resampled(to rate: Int) -> PCM {
        guard rate != sampleRate, !samples.isEmpty else { return self }
        let source =
            rate < sampleRate
            ? Self.lowPass(samples, cutoff: 0.45 * Double(rate) / Double(sampleRate)) : samples.map(Float.init)
        let step = Double(sampleRate) / Double(rate)
        let count = Int(Double(samples.count) / step)
        var out = [Int16](repeating: 0, count: count)
        for i in 0..<count {
            let position = Double(i) * step
            let index = Int(position)
            let fraction = Float(position - Double(index))
            let a = source[index]
            let b = index + 1 < source.count ? source[index + 1] : a
            out[i] = Self.clip(a + (b - a) * fraction)
        }
        return PCM(samples: out, sampleRate: rate)
    }

    /// A windowed-sinc low-pass FIR; `cutoff` is a fraction of the sample rate (0…0.5).
    static func lowPass(_ samples: [Int16], cutoff: Double, taps: Int = 63) -> [Float] {
        let half = taps / 2
        var kernel = [Float](repeating: 0, count: taps)
        for i in 0..<taps {
            let n = Double(i - half)
            let sinc = n == 0 ? 2 * cutoff : sin(2 * .pi * cutoff * n) / (.pi * n)
            let window = 0.54 - 0.46 * cos(2 * .pi * Double(i) / Double(taps - 1))  // Hamming
            kernel[i] = Float(sinc * window)
        }
        let sum = kernel.reduce(0, +)
        kernel = kernel.map { $0 / sum }
        let input = samples.map(Float.init)
        var out = [Float](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { x in
            for i in 0..<x.count {
                var acc: Float = 0
                let lower = max(0, i - half)
                let upper = min(x.count - 1, i + half)
                for j in lower...upper { acc += x[j] * kernel[j - i + half] }
                out[i] = acc
            }
        }
        return out
    }

    static func clip(_ value: Float) -> Int16 { Int16(max(-32768, min(32767, value.rounded()))) }

    /// Root mean square level in dBFS; -inf for silence.
    package var level: Double {
        guard !samples.isEmpty else { return -.infinity }
        let energy = samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)
        return energy == 0 ? -.infinity : 10 * log10(energy / (32768.0 * 32768.0))
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
