/// An IPv4 or IPv6 address, or a CIDR block of them (`192.0.2.10`, `10.0.0.0/8`, `2001:db8::/32`).
///
/// Parsing is strict: a host name, a prefix outside 0–32 (0–128 for IPv6) or anything after the
/// address is refused, so that a typo cannot widen who is trusted.
package struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    package let bytes: [UInt8]
    package let prefix: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parts.first, let bytes = Self.parse(String(address)) else { return nil }
        let width = bytes.count * 8
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit), parts[1].count <= 3,
                let prefix = Int(parts[1]), prefix <= width
            else { return nil }
            self.prefix = prefix
        } else {
            prefix = width
        }
        self.bytes = bytes
    }

    package var description: String {
        let address = bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : Self.ipv6Text(bytes)
        return prefix == bytes.count * 8 ? address : "\(address)/\(prefix)"
    }

    /// RFC 5952 text: lower-case groups, the longest run of two or more zero groups as "::".
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = end == index ? index + 1 : end
        }
        func text(_ slice: ArraySlice<UInt16>) -> String { slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return text(groups[...]) }
        return text(groups[..<best.start]) + "::" + text(groups[(best.start + best.length)...])
    }

    /// Whether `host`, an address literal, is inside the block (host names never are).
    package func contains(_ host: String) -> Bool {
        // An IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) is the IPv4 address.
        if bytes.count == 4, host.lowercased().hasPrefix("::ffff:"), host.contains(".") {
            return contains(String(host.dropFirst(7)))
        }
        guard let other = Self.parse(host), other.count == bytes.count else { return false }
        var bits = prefix
        for (a, b) in zip(bytes, other) {
            guard bits > 0 else { return true }
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if a & mask != b & mask { return false }
            bits -= 8
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address literal, or nil.
    package static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseIPv6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCIIDigit), let byte = UInt8(part) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.splitAtDoubleColon()
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var values: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit),
                    let value = UInt16(group, radix: 16)
                else { return nil }
                values.append(value)
            }
            return values
        }
        guard let head = groups(halves.0), let tail = groups(halves.1 ?? "") else { return nil }
        let missing = 8 - head.count - tail.count
        guard missing >= 0, halves.1 != nil ? missing >= 1 : missing == 0 else { return nil }
        let all = head + [UInt16](repeating: 0, count: missing) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    /// Splits around the first "::" of an IPv6 address.
    fileprivate func splitAtDoubleColon() -> (Substring, Substring?) {
        guard let range = firstRange(of: "::") else { return (self[...], nil) }
        return (self[..<range.lowerBound], self[range.upperBound...])
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
