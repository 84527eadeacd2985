/// French number words read as numbers: `soixante dix huit` → 78, `deux mille vingt six` → 2026.
///
/// Each spoken group stays one number, so a phone number dictated as `zéro six douze trente
/// quatre` gives `0 6 12 34`. `un`/`une` become 1 only next to another number or before `heure`.
package enum FrenchNumbers {
    static let units: [String: Int] = [
        "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
        "neuf": 9,
    ]
    static let teens: [String: Int] = [
        "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    ]
    static let tens: [String: Int] = [
        "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    ]

    /// Whether `word` is a number word.
    package static func isNumberWord(_ word: String) -> Bool {
        word == "zero" || units[word] != nil || teens[word] != nil || tens[word] != nil || word == "cent"
            || word == "cents" || word == "mille"
    }

    /// Replaces every run of number words by its value in digits.
    package static func replaceNumberWords(in words: [String]) -> [String] {
        var out: [String] = []
        out.reserveCapacity(words.count)
        var index = 0
        while index < words.count {
            let word = words[index]
            guard isNumberWord(word) else {
                out.append(word)
                index += 1
                continue
            }
            if word == "un" || word == "une" {
                let previousIsNumber = out.last.map { $0.first?.isNumber == true } ?? false
                let next = index + 1 < words.count ? words[index + 1] : ""
                let nextIsNumber = isNumberWord(next) && next != "un" && next != "une"
                let beforeHour = next == "heure" || next == "heures" || next == "h"
                if !(previousIsNumber || nextIsNumber || beforeHour) {
                    out.append(word)
                    index += 1
                    continue
                }
            }
            if let (value, next) = parseNumber(words, from: index) {
                out.append(String(value))
                index = next
            } else {
                out.append(word)
                index += 1
            }
        }
        return out
    }

    /// Parses the longest number starting at `start`: up to 999 999.
    static func parseNumber(_ words: [String], from start: Int) -> (Int, Int)? {
        if words[start] == "zero" { return (0, start + 1) }
        var index = start
        var total = 0
        if let (value, next) = parseBelow1000(words, from: index) {
            total = value
            index = next
        }
        if index < words.count, words[index] == "mille" {
            total = max(total, 1) * 1000
            index += 1
            if index < words.count, let (rest, next) = parseBelow1000(words, from: index) {
                total += rest
                index = next
            }
        }
        return index > start ? (total, index) : nil
    }

    static func parseBelow1000(_ words: [String], from start: Int) -> (Int, Int)? {
        var index = start
        var total = 0
        // "cent", "deux cents", "trois cent vingt".
        if index + 1 < words.count, let u = units[words[index]], u > 1,
            words[index + 1] == "cent" || words[index + 1] == "cents"
        {
            total = u * 100
            index += 2
        } else if words[index] == "cent" {
            total = 100
            index += 1
        }
        if index < words.count, let (value, next) = parseBelow100(words, from: index) {
            // "mille" after a number below 100 is handled by the caller; "cent" after one is not French.
            total += value
            index = next
        }
        return index > start ? (total, index) : nil
    }

    static func parseBelow100(_ words: [String], from start: Int) -> (Int, Int)? {
        let word = words[start]
        func at(_ i: Int) -> String? { i < words.count ? words[i] : nil }
        if word == "quatre", let next = at(start + 1), next == "vingt" || next == "vingts" {
            // 80–99: "quatre vingt", "quatre vingt un", "quatre vingt dix sept".
            if let (rest, after) = parseTeenOrUnit(words, from: start + 2, allowOne: true) {
                return (80 + rest, after)
            }
            return (80, start + 2)
        }
        if let ten = tens[word] {
            var index = start + 1
            if at(index) == "et", let next = at(index + 1) {
                if next == "un" || next == "une" { return (ten + 1, index + 2) }
                if ten == 60, next == "onze" { return (71, index + 2) }
            }
            if ten == 60, let (rest, after) = parseTeenOrUnit(words, from: index, allowOne: false), rest >= 10 {
                return (60 + rest, after)
            }
            if let next = at(index), let u = units[next], u > 1 {
                index += 1
                return (ten + u, index)
            }
            return (ten, start + 1)
        }
        return parseTeenOrUnit(words, from: start, allowOne: true)
    }

    /// 1–19: "sept", "douze", "dix sept".
    static func parseTeenOrUnit(_ words: [String], from start: Int, allowOne: Bool) -> (Int, Int)? {
        guard start < words.count else { return nil }
        let word = words[start]
        if word == "dix", start + 1 < words.count, let u = units[words[start + 1]], u >= 7 {
            return (10 + u, start + 2)
        }
        if let t = teens[word] { return (t, start + 1) }
        if let u = units[word], allowOne || u > 1 { return (u, start + 1) }
        return nil
    }
}
