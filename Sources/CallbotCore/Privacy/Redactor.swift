/// Removes personal data from French text before it reaches a prompt, a log line or a record.
///
/// Phone numbers, e-mail addresses, social security numbers (NIR), IBANs, card numbers, long
/// identifiers, names after `je m'appelle`, `madame`, `monsieur`…, street addresses and dates of
/// birth become bracketed labels (`[téléphone]`); the rest of the sentence stays as it was.
package enum Redactor {
    /// `text` with its personal data replaced by labels.
    package static func redact(_ text: String) -> String {
        let chars = Array(text)
        let tokens = tokenize(chars)
        var spans: [(range: Range<Int>, label: String)] = []
        spans += emails(tokens, chars)
        spans += ibans(tokens)
        spans += numberRuns(tokens, chars)
        spans += identifiers(tokens)
        spans += separatedIdentifiers(chars)
        spans += addresses(tokens)
        spans += names(tokens)
        spans += birthDates(tokens)
        return apply(spans, to: chars)
    }

    /// A word or number of the original text with its position and folded form.
    struct Token {
        var range: Range<Int>
        var text: String
        /// Lower case, no accents, elisions expanded, number words as digits.
        var folded: String
        /// Lower case, no accents, words as written.
        var plain: String
        var isDigits: Bool { !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber } }
        var isCapitalized: Bool { text.first?.isUppercase == true }
    }

    static func tokenize(_ chars: [Character]) -> [Token] {
        var tokens: [Token] = []
        var start = -1
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber }
        for (i, c) in chars.enumerated() {
            if isWordChar(c) {
                if start < 0 { start = i }
                // Split letters from digits: "14h30".
                if start < i, chars[i - 1].isNumber != c.isNumber,
                    !(chars[i - 1].isLetter && c.isNumber && isAlnumIdentifier(chars, from: start))
                {
                    tokens.append(makeToken(chars, start..<i))
                    start = i
                }
            } else if start >= 0 {
                tokens.append(makeToken(chars, start..<i))
                start = -1
            }
        }
        if start >= 0 { tokens.append(makeToken(chars, start..<chars.count)) }
        return tokens
    }

    /// Keeps mixed identifiers ("AB123456", "FR76") in one token.
    static func isAlnumIdentifier(_ chars: [Character], from start: Int) -> Bool {
        var end = start
        while end < chars.count, chars[end].isLetter || chars[end].isNumber { end += 1 }
        let word = chars[start..<end]
        return word.contains(where: \.isNumber) && word.contains(where: \.isUppercase) && word.count >= 4
    }

    static func makeToken(_ chars: [Character], _ range: Range<Int>) -> Token {
        let text = String(chars[range])
        return Token(
            range: range, text: text, folded: FrenchText.tokens(text).joined(separator: " "),
            plain: FrenchText.splitWords(text).joined(separator: " "))
    }

    // MARK: Detectors

    static func emails(_ tokens: [Token], _ chars: [Character]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        // Written: a run of non-space characters around "@".
        for (i, c) in chars.enumerated() where c == "@" {
            var start = i
            while start > 0, !chars[start - 1].isWhitespace { start -= 1 }
            var end = i + 1
            while end < chars.count, !chars[end].isWhitespace { end += 1 }
            while end > i + 1, ".,;:!?)".contains(chars[end - 1]) { end -= 1 }
            spans.append((start..<end, "[e-mail]"))
        }
        // Spoken: "marie point curie arobase example point org".
        for (i, token) in tokens.enumerated() where token.folded == "arobase" {
            var first = i - 1
            while first - 2 >= 0, tokens[first - 1].folded == "point" || tokens[first - 1].folded == "tiret" {
                first -= 2
            }
            var last = i + 1
            while last + 2 < tokens.count, tokens[last + 1].folded == "point" || tokens[last + 1].folded == "tiret" {
                last += 2
            }
            guard first >= 0, last < tokens.count else { continue }
            spans.append((tokens[first].range.lowerBound..<tokens[last].range.upperBound, "[e-mail]"))
        }
        return spans
    }

    static func ibans(_ tokens: [Token]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        for (i, token) in tokens.enumerated() {
            let t = Array(token.text.uppercased())
            guard t.count >= 4, t[0].isLetter, t[1].isLetter, t[2].isNumber, t[3].isNumber,
                token.text.first!.isUppercase
                    || token.folded.hasPrefix("fr")
            else { continue }
            var length = t.count
            var last = i
            while last + 1 < tokens.count, length < 34,
                tokens[last + 1].text.allSatisfy({ $0.isNumber || $0.isUppercase }),
                tokens[last + 1].range.lowerBound - tokens[last].range.upperBound <= 1
            {
                last += 1
                length += tokens[last].text.count
            }
            if length >= 14 { spans.append((token.range.lowerBound..<tokens[last].range.upperBound, "[IBAN]")) }
        }
        return spans
    }

    /// Runs of digits and number words: phone numbers, NIR, card numbers, long numbers.
    static func numberRuns(_ tokens: [Token], _ chars: [Character]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        var i = 0
        while i < tokens.count {
            guard isNumeric(tokens[i]) else {
                i += 1
                continue
            }
            var j = i
            // Continue through more numbers; "un" and "et" only inside a run ("quatre-vingt-un", "vingt et un").
            while j + 1 < tokens.count {
                let next = tokens[j + 1]
                if isNumeric(next) || next.plain == "un" || next.plain == "une" {
                    j += 1
                } else if next.plain == "et", j + 2 < tokens.count,
                    isNumeric(tokens[j + 2]) || tokens[j + 2].plain == "un"
                {
                    j += 1
                } else {
                    break
                }
            }
            while j > i, tokens[j].plain == "une" || tokens[j].plain == "et" { j -= 1 }  // "… 34 une fois"
            let words = tokens[i...j].flatMap { $0.plain.split(separator: " ").map(String.init) }
            let digits = FrenchNumbers.replaceNumberWords(in: words).filter { $0.allSatisfy(\.isNumber) }.joined()
            var first = i
            if first > 0, tokens[first - 1].plain == "plus" { first -= 1 }
            var lower = tokens[first].range.lowerBound
            if lower > 0, chars[lower - 1] == "+" { lower -= 1 }
            let range = lower..<tokens[j].range.upperBound
            if let label = numberLabel(digits) {
                spans.append((range, label))
            }
            i = j + 1
        }
        return spans
    }

    static func isNumeric(_ token: Token) -> Bool {
        token.isDigits || (FrenchNumbers.isNumberWord(token.plain) && token.plain != "un" && token.plain != "une")
    }

    static func numberLabel(_ digits: String) -> String? {
        let d = Array(digits)
        if SlotExtractor.frenchNumber(in: d, international: true) != nil, d.count >= 10, d.count <= 13 {
            return "[téléphone]"
        }
        if d.count == 13 || d.count == 15, d[0] == "1" || d[0] == "2" { return "[numéro de sécurité sociale]" }
        if (13...19).contains(d.count), luhn(d) { return "[numéro de carte]" }
        if d.count >= 6 { return "[numéro]" }
        return nil
    }

    static func luhn(_ digits: [Character]) -> Bool {
        var sum = 0
        for (index, c) in digits.reversed().enumerated() {
            guard var v = c.wholeNumberValue else { return false }
            if index % 2 == 1 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return sum % 10 == 0
    }

    /// Mixed letters and digits, six characters or more: file numbers, passport numbers.
    static func identifiers(_ tokens: [Token]) -> [(range: Range<Int>, label: String)] {
        tokens.compactMap { token in
            let digitCount = token.text.filter(\.isNumber).count
            let letterCount = token.text.filter(\.isLetter).count
            guard token.text.count >= 6, digitCount >= 2, letterCount >= 1 else { return nil }
            return (token.range, "[identifiant]")
        }
    }

    /// "2024-URB-0042", "AB-123-CD": a chunk between spaces mixing letters and at least four digits.
    static func separatedIdentifiers(_ chars: [Character]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        var start = 0
        while start < chars.count {
            guard !chars[start].isWhitespace else {
                start += 1
                continue
            }
            var end = start
            while end < chars.count, !chars[end].isWhitespace { end += 1 }
            var chunk = chars[start..<end]
            while let last = chunk.last, ".,;:!?)".contains(last) { chunk = chunk.dropLast() }
            let digits = chunk.filter(\.isNumber).count
            let letters = chunk.filter(\.isLetter).count
            if digits >= 4, letters >= 1, chunk.contains(where: { $0 == "-" || $0 == "/" || $0 == "_" }),
                !chunk.contains("@")
            {
                spans.append((start..<(start + chunk.count), "[identifiant]"))
            }
            start = end
        }
        return spans
    }

    static let streetTypes: Set<String> = [
        "rue", "avenue", "av", "boulevard", "bd", "place", "chemin", "allee", "impasse", "route", "quai", "cours",
        "square", "residence", "lotissement", "voie", "passage", "sentier", "faubourg", "hameau", "lieudit", "rond",
        "villa", "cite", "parvis", "esplanade", "promenade", "ruelle", "venelle",
    ]
    static let addressCues: Set<String> = ["habite", "habitons", "domicile", "demeure", "reside", "adresse", "vis"]

    /// "4 avenue Victor Hugo", "12 bis rue de la Paix", "j'habite chemin des Vignes".
    static func addresses(_ tokens: [Token]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        for (i, token) in tokens.enumerated() where streetTypes.contains(token.folded) {
            var first = i
            if i > 0, ["bis", "ter"].contains(tokens[i - 1].folded) { first -= 1 }
            func isHouseNumber(_ t: Token) -> Bool {
                (t.isDigits && t.text.count <= 4) || FrenchNumbers.isNumberWord(t.plain) || t.plain == "un"
            }
            let numbered = first > 0 && isHouseNumber(tokens[first - 1])
            if numbered {
                // "12", "vingt et un", "cent trois".
                first -= 1
                while first > 0, isHouseNumber(tokens[first - 1]) || (tokens[first - 1].plain == "et" && first > 1) {
                    first -= 1
                }
            }
            let cued = tokens[max(0, first - 4)..<first].contains { addressCues.contains($0.folded) }
            guard numbered || cued else { continue }
            // The street name: the next words, through particles, until a common word.
            var last = i
            var k = i + 1
            while k < tokens.count, k - i <= 5 {
                let word = tokens[k].folded
                if ["de", "du", "des", "la", "le", "les", "l", "d", "saint", "sainte"].contains(word) {
                    k += 1
                    continue
                }
                if CommonWords.all.contains(word) && !tokens[k].isCapitalized { break }
                last = k
                k += 1
            }
            if last == i { continue }
            // A postcode and town right after: "45120 Villebois".
            if last + 1 < tokens.count, tokens[last + 1].isDigits, tokens[last + 1].text.count == 5 {
                last += 1
                if last + 1 < tokens.count, tokens[last + 1].isCapitalized { last += 1 }
            }
            spans.append((tokens[first].range.lowerBound..<tokens[last].range.upperBound, "[adresse]"))
        }
        return spans
    }

    static let relatives: Set<String> = [
        "fils", "fille", "mari", "femme", "epouse", "epoux", "enfant", "pere", "mere", "frere", "soeur", "compagnon",
        "compagne", "conjoint", "conjointe", "voisin", "voisine",
    ]
    static let introductions: Set<String> = ["suis", "ici", "est", "moi"]
    /// Capitalised words that name institutions and places of the service, not people.
    static let institutions: Set<String> = [
        "mairie", "hotel", "ville", "france", "services", "service", "public", "publics", "caf", "cpam", "ants",
        "pole", "emploi", "prefecture", "saint", "sainte", "notre", "dame", "monsieur", "madame", "bonjour", "je",
        "merci", "oui", "non", "allo", "bonsoir", "urssaf", "impots", "poste", "paris", "villebois",
    ]

    static let titles: Set<String> = ["monsieur", "madame", "mademoiselle", "mme", "mlle", "mr", "m"]

    /// Names after "je m'appelle", "mon nom est", "madame", "monsieur"…
    static func names(_ tokens: [Token]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        let folded = tokens.map(\.folded)
        for i in tokens.indices {
            var start: Int?
            if folded[i] == "appelle" || folded[i] == "appelons", i > 0,
                ["me", "m", "je me"].contains(folded[i - 1])
                    || (i > 1 && folded[i - 2] == "je")
            {
                start = i + 1
            } else if titles.contains(folded[i]), folded[i] != "m" || tokens[i].isCapitalized {
                start = i + 1
            } else if relatives.contains(folded[i]) || introductions.contains(folded[i]), i + 1 < tokens.count,
                tokens[i + 1].isCapitalized, !institutions.contains(tokens[i + 1].plain)
            {
                // "mon fils Lucas", "je suis Paul Martin", "ici Sophie Bernard": written names only.
                start = i + 1
            } else if i > 0, tokens[i].isCapitalized, i + 1 < tokens.count, tokens[i + 1].isCapitalized,
                !institutions.contains(tokens[i].plain), !institutions.contains(tokens[i + 1].plain),
                !tokens[i - 1].isCapitalized, !streetTypes.contains(folded[max(0, i - 1)])
            {
                // Two capitalised words inside a sentence: a first name and a name.
                start = i
            } else if folded[i] == "nom" || folded[i] == "prenom" {
                // "mon nom est Durand", "mon nom de famille c'est Durand", "nom : Durand".
                var k = i + 1
                if k + 1 < tokens.count, folded[k] == "de", folded[k + 1] == "famille" { k += 2 }
                if k < tokens.count, folded[k] == "est" { k += 1 }
                if k + 1 < tokens.count, folded[k] == "ce", folded[k + 1] == "est" { k += 2 }  // "c'est"
                if k + 1 < tokens.count, folded[k] == "c", folded[k + 1] == "est" { k += 2 }
                if k > i + 1 || (k < tokens.count && tokens[k].isCapitalized) { start = k }
            }
            guard let first = start, first < tokens.count else { continue }
            var last = first - 1
            var k = first
            while k < tokens.count, k - first < 4 {
                let word = folded[k]
                if ["de", "du", "le", "la"].contains(word), k + 1 < tokens.count, tokens[k + 1].isCapitalized, k > first
                {
                    k += 1
                    continue
                }
                let common = CommonWords.all.contains(word) || titles.contains(word) || tokens[k].isDigits
                if common && !(tokens[k].isCapitalized && k > first) { break }
                if !tokens[k].text.first!.isLetter { break }
                last = k
                k += 1
            }
            if last >= first {
                spans.append((tokens[first].range.lowerBound..<tokens[last].range.upperBound, "[nom]"))
            }
        }
        return spans
    }

    /// "né le 12 mars 1980", "date de naissance : 12/03/1980".
    static func birthDates(_ tokens: [Token]) -> [(range: Range<Int>, label: String)] {
        var spans: [(range: Range<Int>, label: String)] = []
        for (i, token) in tokens.enumerated() {
            let cue = ["ne", "nee"].contains(token.folded) || (token.folded == "naissance")
            guard cue else { continue }
            var k = i + 1
            while k < tokens.count, ["le", "en", "est", "ma", "de", "la"].contains(tokens[k].folded) { k += 1 }
            var last = k - 1
            while k < tokens.count, k - i <= 8 {
                let word = tokens[k].folded
                let isDatePart =
                    tokens[k].isDigits || SlotExtractor.months[word] != nil || word == "er" || word == "premier"
                    || FrenchNumbers.isNumberWord(word)
                guard isDatePart else { break }
                last = k
                k += 1
            }
            if last >= i + 1,
                tokens[(i + 1)...last].contains(where: { $0.isDigits || FrenchNumbers.isNumberWord($0.folded) })
            {
                let first = tokens[(i + 1)...last].firstIndex {
                    !["le", "en", "est", "ma", "de", "la"].contains($0.folded)
                }!
                spans.append((tokens[first].range.lowerBound..<tokens[last].range.upperBound, "[date de naissance]"))
            }
        }
        return spans
    }

    // MARK: Output

    static func apply(_ spans: [(range: Range<Int>, label: String)], to chars: [Character]) -> String {
        let sorted = spans.sorted { ($0.range.lowerBound, -$0.range.count) < ($1.range.lowerBound, -$1.range.count) }
        var merged: [(range: Range<Int>, label: String)] = []
        for span in sorted {
            if let last = merged.last, span.range.lowerBound < last.range.upperBound {
                if span.range.upperBound > last.range.upperBound {
                    merged[merged.count - 1].range = last.range.lowerBound..<span.range.upperBound
                }
            } else {
                merged.append(span)
            }
        }
        var out = ""
        var position = 0
        for span in merged {
            out += String(chars[position..<span.range.lowerBound])
            out += span.label
            position = span.range.upperBound
        }
        out += String(chars[position...])
        return out
    }
}
