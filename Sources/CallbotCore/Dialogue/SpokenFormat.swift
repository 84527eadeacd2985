/// Renders dates, times, hours, references and numbers as the caller should hear them,
/// through the `format.*` messages of the catalogue.
package struct SpokenFormat: Sendable {
    package let messages: MessageCatalog

    package init(messages: MessageCatalog) { self.messages = messages }

    static let weekdayNames = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    static let monthNames = [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre",
    ]

    /// "aujourd'hui", "demain" or "mardi 24 novembre".
    package func date(_ date: LocalDate, today: LocalDate) -> String {
        if date == today { return messages.render("format.today") }
        if date == today.adding(days: 1) { return messages.render("format.tomorrow") }
        return
            "\(Self.weekdayNames[date.weekday.rawValue - 1]) \(date.day == 1 ? "1er" : String(date.day)) \(Self.monthNames[date.month - 1])"
    }

    /// "9 heures", "14 heures 30", "midi".
    package func time(_ time: TimeOfDay) -> String {
        if time.minutes == 12 * 60 { return messages.render("format.noon") }
        if time.minute == 0 { return messages.render("format.hour", ["hour": String(time.hour)]) }
        return messages.render(
            "format.hour_minute",
            ["hour": String(time.hour), "minute": time.minute < 10 ? "0\(time.minute)" : String(time.minute)])
    }

    package func slot(_ slot: Slot, today: LocalDate) -> String {
        messages.render("format.slot", ["date": date(slot.start.date, today: today), "time": time(slot.start.time)])
    }

    package func window(_ window: CallbackWindow, today: LocalDate) -> String {
        messages.render(
            "format.window",
            ["date": date(window.date, today: today), "start": time(window.range.start), "end": time(window.range.end)])
    }

    /// "du lundi au mercredi de 8 heures 30 à 12 heures et de 13 heures 30 à 17 heures 30, le samedi de 9 heures à midi".
    package func weeklyHours(_ hours: WeeklyHours) -> String {
        var groups: [(first: Weekday, last: Weekday, ranges: [TimeRange])] = []
        for day in Weekday.allCases {
            let ranges = hours.ranges(on: day)
            guard !ranges.isEmpty else { continue }
            if let last = groups.last, last.ranges == ranges, last.last.rawValue + 1 == day.rawValue {
                groups[groups.count - 1].last = day
            } else {
                groups.append((day, day, ranges))
            }
        }
        let and = " " + messages.render("format.and") + " "
        let parts = groups.map { group -> String in
            let days =
                group.first == group.last
                ? messages.render("format.single_day", ["day": Self.weekdayNames[group.first.rawValue - 1]])
                : messages.render(
                    "format.day_range",
                    [
                        "first": Self.weekdayNames[group.first.rawValue - 1],
                        "last": Self.weekdayNames[group.last.rawValue - 1],
                    ])
            let ranges = group.ranges.map {
                messages.render("format.time_range", ["start": time($0.start), "end": time($0.end)])
            }
            return days + " " + ranges.joined(separator: and)
        }
        guard parts.count > 1 else { return parts.first ?? "" }
        return parts.dropLast().joined(separator: ", ") + and + parts.last!
    }

    /// Digits one by one: "4 8 2 7 1 5".
    package static func digitByDigit(_ digits: String) -> String { digits.map(String.init).joined(separator: " ") }

    /// A French number in pairs: "06 12 34 56 78".
    package static func phonePairs(_ e164: String) -> String {
        let national = e164.hasPrefix("+33") ? "0" + e164.dropFirst(3) : e164
        var pairs: [String] = []
        var current = ""
        for c in national {
            current.append(c)
            if current.count == 2 {
                pairs.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pairs.append(current) }
        return pairs.joined(separator: " ")
    }
}
