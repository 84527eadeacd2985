/// A light French stemmer for intent features: plural, common suffixes, then seven letters.
///
/// Crude on purpose: `rappeler`, `rappelez`, `rappelé` and `rappel` meet at `rappel`, which is
/// what matching a caller's words against an administrator's examples needs.
package enum FrenchStemmer {
    /// Suffixes, longest first, as ASCII bytes (normalised words are ASCII).
    static let suffixes: [[UInt8]] = [
        "issements", "issement", "ements", "ement", "ations", "ation", "itions", "ition", "ateurs", "ateur",
        "atrices", "atrice", "euses", "euse", "eurs", "eur", "ables", "able", "iques", "ique", "ments", "ment",
        "ances", "ance", "ences", "ence", "ites", "ite", "ives", "ive", "erons", "erez", "eront", "erai", "era",
        "aient", "ait", "antes", "ante", "ants", "ant", "ions", "ion", "ees", "ee", "er", "ez", "es", "e", "ons",
        "ent", "is", "it", "ir", "ie",
    ].map { Array($0.utf8) }

    /// The stem of a normalised word.
    package static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        // Four letters keep their s: "plus" is not the PLU, "tous" not "tou".
        if bytes.count > 4, bytes.last == UInt8(ascii: "s") || bytes.last == UInt8(ascii: "x") { bytes.removeLast() }
        for suffix in suffixes where bytes.count - suffix.count >= 4 && bytes.ends(with: suffix) {
            bytes.removeLast(suffix.count)
            break
        }
        if bytes.count > 7 { bytes.removeLast(bytes.count - 7) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        guard suffix.count <= count else { return false }
        var i = count - suffix.count
        for byte in suffix {
            if self[i] != byte { return false }
            i += 1
        }
        return true
    }
}
