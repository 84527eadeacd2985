import Testing

@testable import CallbotCore

@Suite struct FrenchTextTests {
    @Test(arguments: [
        ("Quelle est l'adresse ?", "quelle est le adresse"),
        ("J'habite à Évry-Courcouronnes", "je habite a evry courcouronnes"),
        ("euh... rendez-vous demain à 14h30", "rendez vous demain a 14 h 30"),
        ("quatorze heures trente", "14 heures 30"),
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "0 6 12 34 56 78"),
        ("quatre-vingt-dix-sept", "97"),
        ("soixante et onze", "71"),
        ("deux mille vingt-six", "2026"),
        ("vingt et un", "21"),
        ("un rendez-vous à une heure", "un rendez vous a 1 heure"),
        ("aujourd'hui", "aujourdhui"),
        ("j ai perdu mes papiers qu il m a donnés", "je ai perdu mes papiers que il me a donnes"),
        ("Œuvre Cœur", "oeuvre coeur"),
    ])
    func normalizes(_ input: String, _ expected: String) {
        #expect(FrenchText.normalize(input) == expected)
    }

    @Test func stemsMeetAcrossForms() {
        let forms = ["rappeler", "rappelez", "rappelé", "rappel"].map { FrenchStemmer.stem(FrenchText.normalize($0)) }
        #expect(Set(forms).count == 1)
        #expect(FrenchStemmer.stem("passeport") != FrenchStemmer.stem("passez"))
    }
}

@Suite struct CalendarTests {
    @Test func civilDatesRoundTrip() {
        for days in stride(from: -1000, to: 40000, by: 37) {
            let date = LocalDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
        }
        #expect(LocalDate(year: 2026, month: 11, day: 23)!.weekday == .monday)
        #expect(LocalDate(year: 2024, month: 2, day: 30) == nil)
        #expect(LocalDate(year: 2024, month: 2, day: 29) != nil)
    }

    @Test func easterAndHolidays() {
        #expect(FrenchHolidays.easterSunday(2026) == LocalDate(year: 2026, month: 4, day: 5))
        #expect(FrenchHolidays.easterSunday(2027) == LocalDate(year: 2027, month: 3, day: 28))
        #expect(FrenchHolidays.isHoliday(LocalDate(year: 2026, month: 5, day: 14)!))  // Ascension
        #expect(FrenchHolidays.isHoliday(LocalDate(year: 2026, month: 5, day: 25)!))  // Whit Monday
        #expect(FrenchHolidays.isHoliday(LocalDate(year: 2026, month: 11, day: 11)!))
        #expect(!FrenchHolidays.isHoliday(LocalDate(year: 2026, month: 11, day: 12)!))
    }

    @Test func parsesAndPrintsISOTimes() throws {
        let t = try #require(LocalDateTime(iso: "2026-11-23T09:15:00+01:00"))
        #expect(t.iso == "2026-11-23T09:15:00+01:00")
        #expect(t.epochSeconds == 1_795_421_700)
        #expect(t.adding(minutes: 15 * 60).iso == "2026-11-24T00:15:00+01:00")
        #expect(LocalDateTime(iso: "2026-13-01T00:00:00Z") == nil)
    }
}
