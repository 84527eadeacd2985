/// French public holidays (jours fériés), metropolitan calendar.
package enum FrenchHolidays {
    /// The holidays of `year` with their French names.
    package static func holidays(in year: Int) -> [LocalDate: String] {
        let easter = easterSunday(year)
        var days: [LocalDate: String] = [:]
        func fixed(_ month: Int, _ day: Int, _ name: String) {
            if let date = LocalDate(year: year, month: month, day: day) { days[date] = name }
        }
        fixed(1, 1, "jour de l'An")
        fixed(5, 1, "fête du Travail")
        fixed(5, 8, "victoire 1945")
        fixed(7, 14, "fête nationale")
        fixed(8, 15, "Assomption")
        fixed(11, 1, "Toussaint")
        fixed(11, 11, "armistice 1918")
        fixed(12, 25, "Noël")
        days[easter.adding(days: 1)] = "lundi de Pâques"
        days[easter.adding(days: 39)] = "Ascension"
        days[easter.adding(days: 50)] = "lundi de Pentecôte"
        return days
    }

    /// Whether `date` is a public holiday.
    package static func isHoliday(_ date: LocalDate) -> Bool { holidays(in: date.year)[date] != nil }

    /// Easter Sunday of `year` (anonymous Gregorian algorithm).
    package static func easterSunday(_ year: Int) -> LocalDate {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return LocalDate(year: year, month: month, day: day)!
    }
}
