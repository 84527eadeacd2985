/// Normalises French text as a speech recogniser or a keyboard produces it, for understanding.
///
/// Lower case without accents, elisions expanded (`l'heure` → `le heure`), hyphens and
/// punctuation as spaces, letters and digits split (`14h30` → `14 h 30`), number words as
/// digits (`quatorze heures trente` → `14 heures 30`), filler words removed.
package enum FrenchText {
    /// The normalised tokens of `text`.
    /// What a caller said, fit to be quoted back to them: one line, no trailing punctuation,
    /// at most `limit` characters cut at a word.
    package static func spokenQuote(_ text: String, limit: Int = 140) -> String {
        var quote = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while let last = quote.last, last.isPunctuation { quote.removeLast() }
        guard quote.count > limit else { return quote }
        let cut = quote.prefix(limit)
        return String(cut[..<(cut.lastIndex(of: " ") ?? cut.endIndex)]) + "…"
    }

    package static func tokens(_ text: String) -> [String] {
        var words = splitWords(text)
        words = expandElisions(words)
        words.removeAll { fillers.contains($0) }
        return FrenchNumbers.replaceNumberWords(in: words)
    }

    /// The normalised text of `text`: its tokens joined by single spaces.
    package static func normalize(_ text: String) -> String {
        tokens(text).joined(separator: " ")
    }

    /// Lower-cases and removes the accents of one scalar; `nil` for a separator.
    @inline(__always)
    static func fold(_ scalar: Unicode.Scalar) -> Character? {
        let v = scalar.value
        switch v {
        case 0x61...0x7A, 0x30...0x39: return Character(scalar)
        case 0x41...0x5A: return Character(Unicode.Scalar(v + 32)!)
        case 0xE0...0xE5, 0xC0...0xC5: return "a"
        case 0xE7, 0xC7: return "c"
        case 0xE8...0xEB, 0xC8...0xCB: return "e"
        case 0xEC...0xEF, 0xCC...0xCF: return "i"
        case 0xF2...0xF6, 0xD2...0xD6: return "o"
        case 0xF9...0xFC, 0xD9...0xDC: return "u"
        case 0xFD, 0xFF, 0xDD, 0x178: return "y"
        case 0xF1, 0xD1: return "n"
        default:
            return nil
        }
    }

    /// Splits on anything that is not a letter or a digit, and between letters and digits.
    /// Apostrophes end a word and keep it marked as elided (`l'` → `l'`).
    static func splitWords(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var currentIsDigit = false
        func flush() {
            if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x27, 0x2019, 0x2BC, 0x60, 0xB4:  // apostrophes
                if !current.isEmpty && !currentIsDigit { current.append("'") }
                flush()
                continue
            case 0x153, 0x152:  // œ
                if currentIsDigit { flush() }
                current += "oe"
                currentIsDigit = false
                continue
            case 0xE6, 0xC6:  // æ
                if currentIsDigit { flush() }
                current += "ae"
                currentIsDigit = false
                continue
            default:
                break
            }
            guard let folded = fold(scalar) else {
                flush()
                continue
            }
            let isDigit = folded.isASCII && folded.isNumber
            if !current.isEmpty && isDigit != currentIsDigit { flush() }
            current.append(folded)
            currentIsDigit = isDigit
        }
        flush()
        return words
    }

    /// Elided words back to their full form: `j'` → `je`, `qu'` → `que`; `aujourd'hui` kept whole.
    static func expandElisions(_ words: [String]) -> [String] {
        var out: [String] = []
        out.reserveCapacity(words.count)
        var index = 0
        while index < words.count {
            let word = words[index]
            if let full = spokenElisions[word] {
                // Recognisers often write "j ai" for "j'ai".
                out.append(full)
            } else if word.hasSuffix("'") {
                let stem = String(word.dropLast())
                if stem == "aujourd", index + 1 < words.count, words[index + 1] == "hui" {
                    out.append("aujourdhui")
                    index += 2
                    continue
                }
                out.append(elisions[stem] ?? stem)
            } else {
                out.append(word)
            }
            index += 1
        }
        return out
    }

    /// Elided letters standing alone, as speech recognisers write them ("j ai", "qu il").
    static let spokenElisions: [String: String] = [
        "j": "je", "l": "le", "d": "de", "qu": "que", "n": "ne", "s": "se", "c": "ce", "m": "me", "t": "te",
    ]

    static let elisions: [String: String] = [
        "l": "le", "j": "je", "d": "de", "qu": "que", "n": "ne", "s": "se", "c": "ce", "m": "me",
        "t": "te", "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque", "quoiqu": "quoique",
    ]

    /// Hesitations that speech recognisers transcribe and that carry no meaning.
    static let fillers: Set<String> = ["euh", "euuh", "heu", "hum", "hmm", "mmh", "mh", "ben", "bah", "beh", "bof"]
}
