/// A day of the civil (proleptic Gregorian) calendar, in the service's time zone.
package struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let year: Int
    package let month: Int
    package let day: Int

    /// A valid date, or `nil` (`February 30` is not one).
    package init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01.
    package init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    /// Parses `YYYY-MM-DD`.
    package init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]),
            let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01.
    package var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    package var weekday: Weekday {
        // 1970-01-01 was a Thursday.
        let index = ((daysSinceEpoch % 7) + 7 + 3) % 7  // 0 = Monday
        return Weekday(rawValue: index + 1)!
    }

    package func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// The next date (today included when `includingToday`) that falls on `weekday`.
    package func next(_ weekday: Weekday, includingToday: Bool = false) -> LocalDate {
        var delta = (weekday.rawValue - self.weekday.rawValue + 7) % 7
        if delta == 0 && !includingToday { delta = 7 }
        return adding(days: delta)
    }

    /// `YYYY-MM-DD`.
    package var iso: String {
        "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    package var description: String { iso }

    package static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Days of the week, Monday first as in France.
package enum Weekday: Int, CaseIterable, Sendable, Comparable {
    case monday = 1
    case tuesday, wednesday, thursday, friday, saturday, sunday

    /// The configuration's English key: `monday`.
    package var key: String { String(describing: self) }

    package static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A time of day to the minute.
package struct TimeOfDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Minutes since midnight, 0..<1440.
    package let minutes: Int

    package init?(hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        minutes = hour * 60 + minute
    }

    package init(minutes: Int) { self.minutes = min(max(minutes, 0), 24 * 60 - 1) }

    /// 24:00, the end of a day in a range.
    private init(endOfDay: Void) { minutes = 24 * 60 }

    /// Parses `HH:MM` (also `H:MM` and `24:00` as the end of a day).
    package init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), parts[1].count == 2 else { return nil }
        if h == 24 && m == 0 {
            self.init(endOfDay: ())
            return
        }
        self.init(hour: h, minute: m)
    }

    package var hour: Int { minutes / 60 }
    package var minute: Int { minutes % 60 }

    /// `HH:MM`.
    package var description: String {
        "\(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
    }

    package static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { lhs.minutes < rhs.minutes }
}

/// A wall-clock moment in the service's time zone, with its offset from UTC.
package struct LocalDateTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var date: LocalDate
    package var time: TimeOfDay
    /// Offset from UTC in seconds (`+01:00` is 3600).
    package var utcOffset: Int

    package init(date: LocalDate, time: TimeOfDay, utcOffset: Int = 0) {
        self.date = date
        self.time = time
        self.utcOffset = utcOffset
    }

    /// Parses ISO 8601 `2026-11-23T09:15:00+01:00` (also `Z`, no seconds, or no offset).
    package init?(iso text: String) {
        let parts = text.split(separator: "T", maxSplits: 1)
        guard parts.count == 2, let date = LocalDate(iso: parts[0]) else { return nil }
        var rest = parts[1]
        var offset = 0
        if rest.hasSuffix("Z") {
            rest = rest.dropLast()
        } else if let signIndex = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let sign = rest[signIndex] == "-" ? -1 : 1
            let zone = rest[rest.index(after: signIndex)...].split(separator: ":")
            guard let zh = zone.first.flatMap({ Int($0) }) else { return nil }
            let zm = zone.count > 1 ? Int(zone[1]) ?? 0 : 0
            offset = sign * (zh * 3600 + zm * 60)
            rest = rest[..<signIndex]
        }
        let clock = rest.split(separator: ":")
        guard clock.count >= 2, let h = Int(clock[0]), let m = Int(clock[1]),
            let time = TimeOfDay(hour: h, minute: m)
        else { return nil }
        self.init(date: date, time: time, utcOffset: offset)
    }

    /// Seconds since the Unix epoch.
    package var epochSeconds: Int { date.daysSinceEpoch * 86400 + time.minutes * 60 - utcOffset }

    /// ISO 8601 with its offset: `2026-11-23T09:15:00+01:00`.
    package var iso: String {
        let sign = utcOffset < 0 ? "-" : "+"
        let h = abs(utcOffset) / 3600
        let m = abs(utcOffset) % 3600 / 60
        return "\(date.iso)T\(time):00\(sign)\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }

    package var description: String { iso }

    package func adding(minutes: Int) -> LocalDateTime {
        let total = date.daysSinceEpoch * 1440 + time.minutes + minutes
        let days = total >= 0 ? total / 1440 : (total - 1439) / 1440
        return LocalDateTime(
            date: LocalDate(daysSinceEpoch: days), time: TimeOfDay(minutes: total - days * 1440), utcOffset: utcOffset)
    }

    package static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool { lhs.epochSeconds < rhs.epochSeconds }
}
