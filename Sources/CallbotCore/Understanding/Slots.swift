/// Parts of the day a caller names instead of a time.
package enum PartOfDay: String, Sendable, Codable, CaseIterable {
    case morning, afternoon, evening
}

/// What an utterance says besides its intent.
package struct Slots: Sendable, Equatable {
    package var date: LocalDate?
    package var time: TimeOfDay?
    package var partOfDay: PartOfDay?
    /// A French phone number in E.164: `+33612345678`.
    package var phone: String?
    /// `true` for yes, `false` for no.
    package var yesNo: Bool?
    /// The digits of an utterance made only of numbers (a reference, a keypad choice said aloud).
    package var digits: String?
    /// An option chosen by rank: `le premier` → 1, `le deuxième` → 2.
    package var choice: Int?
    /// A day of a month that has no such day ("le 31 février"), said back as impossible.
    package var impossibleDate = false

    package init() {}

    package var isEmpty: Bool { self == Slots() }
}

/// Extracts dates, times, parts of day, phone numbers, yes/no and digit strings from French text.
package enum SlotExtractor {
    /// The slots of normalised `tokens` (see ``FrenchText``), dates relative to `today`.
    package static func extract(from tokens: [String], today: LocalDate) -> Slots {
        var slots = Slots()
        slots.partOfDay = partOfDay(in: tokens)
        slots.date = date(in: tokens, today: today)
        slots.time = time(in: tokens, partOfDay: slots.partOfDay)
        if slots.date == nil, slots.partOfDay != nil,
            tokens.contains(where: { $0 == "ce" || $0 == "cet" || $0 == "cette" })
        {
            slots.date = today  // "ce soir", "cet après-midi"
        }
        slots.phone = phone(in: tokens)
        slots.yesNo = yesNo(in: tokens)
        slots.digits = digits(in: tokens)
        slots.choice = choice(in: tokens)
        slots.impossibleDate = namesImpossibleDate(tokens, year: today.year)
        if slots.impossibleDate { slots.date = nil }  // not "le 30" of this month either
        return slots
    }

    /// Public holidays callers name ("le lundi de Pâques", "à Noël"), as the names of ``FrenchHolidays``.
    static let holidayNames: [(phrase: [String], name: String)] = [
        (["lundi", "de", "paques"], "lundi de Pâques"), (["paques"], "lundi de Pâques"),
        (["lundi", "de", "pentecote"], "lundi de Pentecôte"), (["pentecote"], "lundi de Pentecôte"),
        (["ascension"], "Ascension"), (["toussaint"], "Toussaint"), (["noel"], "Noël"),
        (["jour", "de", "le", "an"], "jour de l'An"), (["nouvel", "an"], "jour de l'An"),
        (["armistice"], "armistice 1918"), (["fete", "du", "travail"], "fête du Travail"),
        (["fete", "nationale"], "fête nationale"), (["assomption"], "Assomption"),
    ]

    /// The next day (from `today`) of a public holiday named in `tokens`.
    static func holiday(in tokens: [String], today: LocalDate) -> LocalDate? {
        guard let name = holidayNames.first(where: { IntentClassifier.contains(tokens, $0.phrase) })?.name else {
            return nil
        }
        for year in [today.year, today.year + 1] {
            if let day = FrenchHolidays.holidays(in: year).first(where: { $0.value == name })?.key, day >= today {
                return day
            }
        }
        return nil
    }

    /// Whether `tokens` name a day and a month that do not go together ("le 30 février").
    static func namesImpossibleDate(_ tokens: [String], year: Int) -> Bool {
        for (i, word) in tokens.enumerated() where i > 0 {
            guard let month = months[word], let day = Int(tokens[i - 1]), (1...31).contains(day) else { continue }
            if LocalDate(year: year, month: month, day: day) == nil, month != 2 || day != 29 { return true }
        }
        return false
    }

    static let weekdays: [String: Weekday] = [
        "lundi": .monday, "mardi": .tuesday, "mercredi": .wednesday, "jeudi": .thursday, "vendredi": .friday,
        "samedi": .saturday, "dimanche": .sunday,
    ]
    static let months: [String: Int] = [
        "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
        "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    ]

    // MARK: Dates

    static func date(in tokens: [String], today: LocalDate) -> LocalDate? {
        if let holiday = holiday(in: tokens, today: today) { return holiday }
        // "pas aujourd'hui, plutôt demain": the day after "plutôt" is the one wanted.
        if let rather = tokens.lastIndex(where: { $0 == "plutot" || $0 == "prefere" || $0 == "preferais" }),
            rather + 1 < tokens.count, let wanted = date(in: Array(tokens[(rather + 1)...]), today: today)
        {
            return wanted
        }
        let n = tokens.count
        func at(_ i: Int) -> String { i >= 0 && i < n ? tokens[i] : "" }
        // "pas aujourd'hui", "pas demain": a day refused is not the day wanted.
        for i in 0..<n where !(at(i - 1) == "pas" && at(i - 2) != "pourquoi") {
            let word = tokens[i]
            if word == "aujourdhui" { return today }
            if word == "demain" { return today.adding(days: at(i - 1) == "apres" ? 2 : 1) }
            if word == "surlendemain" { return today.adding(days: 2) }
            if word == "dans", let count = Int(at(i + 1)) ?? (["un", "une"].contains(at(i + 1)) ? 1 : nil) {
                let unit = at(i + 2)
                if unit.hasPrefix("jour") { return today.adding(days: count == 15 ? 14 : count) }
                if unit.hasPrefix("semaine") { return today.adding(days: 7 * count) }
            }
            if let month = months[word] {
                // "le 3 décembre", "le 1 er décembre", "le premier décembre", "3 décembre 2027".
                var j = i - 1
                if at(j) == "er" { j -= 1 }
                let dayNumber = at(j) == "premier" ? 1 : Int(at(j))
                guard let day = dayNumber else { continue }
                var year = today.year
                if let y = Int(at(i + 1)), (2000...2100).contains(y) { year = y }
                guard var date = LocalDate(year: year, month: month, day: day) else { continue }
                // A day of the past month or so is the past ("le 20 novembre" on the 23rd, "le 11
                // novembre dernier"), said as such; an earlier one is next year's.
                let recent = today.daysSinceEpoch - date.daysSinceEpoch <= 31 || at(i + 1).hasPrefix("dernier")
                if date < today, Int(at(i + 1)) == nil, !recent {
                    date = LocalDate(year: year + 1, month: month, day: day) ?? date
                }
                return date
            }
        }
        // "semaine prochaine" anywhere: "mardi de la semaine prochaine", "la semaine prochaine, jeudi".
        let saysNextWeek = zip(tokens, tokens.dropFirst()).contains { $0 == "semaine" && $1 == "prochaine" }
        for i in 0..<n where !(at(i - 1) == "pas" && at(i - 2) != "pourquoi") {
            guard let weekday = weekdays[tokens[i]] else { continue }
            if saysNextWeek {
                return today.next(.monday).adding(days: weekday.rawValue - 1)
            }
            // "jeudi en huit": a week after the coming Thursday; "en quinze": two weeks.
            if at(i + 1) == "en", let span = Int(at(i + 2)), span == 8 || span == 15 {
                return today.next(weekday).adding(days: span == 8 ? 7 : 14)
            }
            // "mardi prochain" said on a Monday is not tomorrow (that would be "demain").
            if at(i + 1) == "prochain" {
                let candidate = today.next(weekday)
                return candidate == today.adding(days: 1) ? candidate.adding(days: 7) : candidate
            }
            // "le 15 mars" handled above; "lundi 3" is the 3rd.
            if let day = Int(at(i + 1)), day >= 1, day <= 31, !isTimeUnit(at(i + 2)) {
                if let date = dayOfMonth(day, today: today) { return date }
            }
            return today.next(weekday)
        }
        if let i = tokens.firstIndex(of: "semaine"), at(i + 1) == "prochaine" {
            return today.next(.monday)
        }
        // Numeric dates: "le 24/11", "le 24/11/2026" (the slash is gone after normalisation).
        for i in 0..<n where tokens[i] == "le" || weekdays[tokens[i]] != nil {
            guard let day = Int(at(i + 1)), let month = Int(at(i + 2)), (1...31).contains(day),
                (1...12).contains(month),
                !isTimeUnit(at(i + 3))
            else { continue }
            var year = today.year
            if let y = Int(at(i + 3)) {
                // "le 06 12 30 40 50" is a phone number, not the 6th of December.
                guard (2000...2100).contains(y), Int(at(i + 4)) == nil else { continue }
                year = y
            }
            guard var date = LocalDate(year: year, month: month, day: day) else { continue }
            if date < today, Int(at(i + 3)) == nil { date = LocalDate(year: year + 1, month: month, day: day) ?? date }
            return date
        }
        // "le 15" alone (not "le 15 heures").
        for i in 0..<n where tokens[i] == "le" {
            if let day = Int(at(i + 1)), (1...31).contains(day), at(i + 1).count <= 2, !isTimeUnit(at(i + 2)),
                Int(at(i + 2)) == nil
            {
                return dayOfMonth(day, today: today)
            }
        }
        return nil
    }

    static func isTimeUnit(_ word: String) -> Bool {
        word == "h" || word.hasPrefix("heure") || word == "minutes" || word == "min"
    }

    /// The next date that is the `day`th of a month, today included.
    static func dayOfMonth(_ day: Int, today: LocalDate) -> LocalDate? {
        var year = today.year
        var month = today.month
        for _ in 0..<3 {
            if let date = LocalDate(year: year, month: month, day: day), date >= today { return date }
            month += 1
            if month > 12 {
                month = 1
                year += 1
            }
        }
        return nil
    }

    // MARK: Times

    static func time(in tokens: [String], partOfDay: PartOfDay?) -> TimeOfDay? {
        let n = tokens.count
        func at(_ i: Int) -> String { i >= 0 && i < n ? tokens[i] : "" }
        for i in 0..<n {
            let word = tokens[i]
            if word == "midi" || word == "minuit" {
                // "midi" alone is noon; "apres midi" and "avant midi" are parts of day.
                if word == "midi", at(i - 1) == "apres" || at(i - 1) == "avant" { continue }
                var minutes = word == "midi" ? 12 * 60 : 0
                minutes += fraction(after: i + 1, in: tokens)
                if at(i + 1) == "moins", at(i + 2) == "le", at(i + 3) == "quart" { minutes -= 15 }
                return TimeOfDay(minutes: minutes)
            }
            guard let hour = Int(word), hour <= 23, at(i).count <= 2, isTimeUnit(at(i + 1)), at(i + 1) != "minutes",
                at(i + 1) != "min"
            else { continue }
            if at(i - 1) == "dans" || at(i - 1) == "pendant" { continue }
            var minute = 0
            if let m = Int(at(i + 2)), m < 60, !isTimeUnit(at(i + 3)) || at(i + 3) == "minutes" {
                minute = m
            } else {
                minute = fraction(after: i + 2, in: tokens)
                if at(i + 2) == "moins", at(i + 3) == "le", at(i + 4) == "quart" { minute = -15 }
                if at(i + 2) == "moins", let m = Int(at(i + 3)), m < 60 { minute = -m }
            }
            var h = hour
            let context = tokens[min(i + 2, n)...].prefix(5)
            let saysAfternoon =
                context.contains("soir") || (context.contains("apres") && context.contains("midi"))
                || partOfDay == .afternoon || partOfDay == .evening
            if saysAfternoon && h < 12 { h += 12 }
            return TimeOfDay(minutes: h * 60 + minute)
        }
        return nil
    }

    /// "et demie" → 30, "et quart" → 15, otherwise 0.
    static func fraction(after i: Int, in tokens: [String]) -> Int {
        guard i + 1 < tokens.count, tokens[i] == "et" else { return 0 }
        switch tokens[i + 1] {
        case "demie", "demi": return 30
        case "quart": return 15
        default: return 0
        }
    }

    // MARK: Parts of day

    static func partOfDay(in tokens: [String]) -> PartOfDay? {
        for (i, word) in tokens.enumerated() {
            switch word {
            case "matin", "matinee", "matins": return .morning
            case "soir", "soiree", "soirs": return .evening
            case "aprem": return .afternoon
            case "midi" where i > 0 && (tokens[i - 1] == "apres" || tokens[i - 1] == "apresmidi"): return .afternoon
            case "midi" where i > 0 && tokens[i - 1] == "avant": return .morning
            // "en fin de journée": the late afternoon, which the evening slots and windows cover.
            case "journee" where i > 1 && tokens[i - 1] == "de" && tokens[i - 2] == "fin": return .evening
            case "apresmidi": return .afternoon
            default: continue
            }
        }
        return nil
    }

    // MARK: Phone numbers

    /// A French number: ten digits starting with 0, or +33 / 0033 and nine digits.
    static func phone(in tokens: [String]) -> String? {
        var runs: [String] = []
        var current = ""
        var sawPlus = false
        for word in tokens {
            if word.allSatisfy(\.isNumber) {
                current += word
            } else {
                if !current.isEmpty { runs.append(current) }
                current = ""
                if word == "plus" { sawPlus = true }
            }
        }
        if !current.isEmpty { runs.append(current) }
        for run in runs {
            if let number = frenchNumber(in: Array(run), international: sawPlus) { return number }
        }
        return nil
    }

    /// The first French phone number inside a run of digits.
    package static func frenchNumber(in digits: [Character], international: Bool = false) -> String? {
        let count = digits.count
        var start = 0
        while start < count {
            let rest = digits[start...]
            if rest.starts(with: "0033"), count - start >= 13, digits[start + 4] != "0" {
                return "+33" + String(digits[(start + 4)..<(start + 13)])
            }
            if rest.starts(with: "33"), count - start >= 11, digits[start + 2] != "0",
                international || count - start == 11
            {
                return "+33" + String(digits[(start + 2)..<(start + 11)])
            }
            if digits[start] == "0", count - start >= 10, digits[start + 1] != "0" {
                return "+33" + String(digits[(start + 1)..<(start + 10)])
            }
            start += 1
        }
        return nil
    }

    // MARK: Yes, no, digits, choices

    static let yesWords: Set<String> = [
        "oui", "ouais", "ouai", "exactement", "absolument", "parfait", "ok", "okay", "volontiers", "voila", "correct",
        "confirme", "confirmer", "affirmatif", "bien", "entendu", "exact", "certainement", "evidemment", "si",
    ]
    static let noWords: Set<String> = ["non", "negatif", "jamais", "nan", "aucunement", "pas"]
    /// Words that open an answer to a yes/no question.
    package static let yesNoWords = yesWords.union(noWords).union(["daccord", "accord"])

    /// Phrases of assent that contain no yes word: "c'est bon", "ça me va", "ça marche".
    static let yesPhrases: [[String]] = [
        ["ce", "est", "bon"], ["ca", "me", "va"], ["ca", "marche"], ["ca", "me", "convient"], ["me", "convient"],
        ["ca", "ira"], ["allez", "y"], ["ca", "me", "arrange"], ["tres", "bien"], ["cest", "bon"],
    ]

    static func yesNo(in tokens: [String]) -> Bool? {
        if !tokens.contains(where: noWords.contains),
            yesPhrases.contains(where: { IntentClassifier.contains(tokens, $0) })
        {
            return true
        }
        // The first yes or no decides, unless the caller corrects themselves: "ah d'accord… non non".
        var decisions: [Bool] = []
        for (i, word) in tokens.enumerated() {
            if noWords.contains(word) {
                // "pas" alone in a sentence is not a refusal ("je n'ai pas reçu"); "pas du tout" is.
                if word == "pas" {
                    if i + 2 < tokens.count, tokens[i + 1] == "du", tokens[i + 2] == "tout" { decisions.append(false) }
                    if i + 1 < tokens.count, tokens[i + 1] == "ca" || tokens[i + 1] == "ce" { decisions.append(false) }
                    continue
                }
                decisions.append(false)
            } else if word == "accord" || word == "daccord" {
                decisions.append(true)
            } else if word == "bien", i + 1 < tokens.count, tokens[i + 1] == "sur" {
                decisions.append(true)
            } else if word == "tout", i + 2 < tokens.count, tokens[i + 1] == "a", tokens[i + 2] == "fait" {
                decisions.append(true)
            } else if word == "ca", i > 0, tokens[i - 1] == "est", tokens.count <= 4 {
                decisions.append(true)  // "c'est ça"
            } else if yesWords.contains(word) && word != "bien" && word != "entendu" && (word != "si" || i == 0) {
                decisions.append(true)
            }
        }
        guard let first = decisions.first else { return nil }
        // A yes followed by two noes ("d'accord, non non") is a correction.
        if first, decisions.dropFirst().filter({ !$0 }).count >= 2 { return false }
        return first
        return nil
    }

    /// Digits of an utterance that is only numbers (and "et", "tiret"); nil otherwise.
    static func digits(in tokens: [String]) -> String? {
        var out = ""
        for word in tokens {
            if word.allSatisfy(\.isNumber) {
                out += word
            } else if !["et", "tiret", "le", "la", "cest", "ce", "est", "numero", "reference", "mon", "ma", "c"]
                .contains(word)
            {
                return nil
            }
        }
        return out.isEmpty ? nil : out
    }

    static let ordinals: [String: Int] = [
        "premier": 1, "premiere": 1, "deuxieme": 2, "second": 2, "seconde": 2, "troisieme": 3, "quatrieme": 4,
        "cinquieme": 5, "dernier": -1, "derniere": -1,
    ]

    static func choice(in tokens: [String]) -> Int? {
        for word in tokens {
            if let rank = ordinals[word] { return rank }
        }
        if tokens.count <= 3, let digit = tokens.first(where: { Int($0) != nil }).flatMap({ Int($0) }),
            (1...9).contains(digit)
        {
            return digit
        }
        return nil
    }
}
