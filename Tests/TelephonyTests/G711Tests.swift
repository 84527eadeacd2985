import Testing

@testable import Telephony

@Suite struct G711Tests {
    @Test(arguments: [G711.Law.muLaw, .aLaw])
    func roundTripsWithinQuantisation(_ law: G711.Law) {
        for sample in stride(from: -32768, through: 32767, by: 97).map(Int16.init) {
            let decoded = G711.decode(G711.encode([sample], law), law)[0]
            let error = abs(Int(decoded) - Int(sample))
            // Logarithmic steps: the error grows with the amplitude, up to about 1/16 of it.
            #expect(error <= max(16, abs(Int(sample)) / 15), "\(law) \(sample) → \(decoded)")
        }
    }

    @Test func knownCodes() {
        #expect(G711.muLaw(0) == 0xFF)
        #expect(G711.decode([0xFF], .muLaw) == [0])
        #expect(G711.aLaw(0) == 0xD5)
        #expect(G711.decode([0xD5], .aLaw) == [8])
        #expect(G711.muLaw(Int16.max) == 0x80)
        #expect(G711.muLaw(Int16.min) == 0x00)
        #expect(G711.aLaw(Int16.max) == 0xAA)
        #expect(G711.aLaw(Int16.min) == 0x2A)
    }

    @Test(arguments: [G711.Law.muLaw, .aLaw])
    func decodingIsMonotonic(_ law: G711.Law) {
        let samples = stride(from: -32000, through: 32000, by: 250).map(Int16.init)
        let decoded = G711.decode(G711.encode(samples, law), law)
        #expect(zip(decoded, decoded.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
