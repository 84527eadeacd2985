import Testing

@testable import CallbotCore

@Suite struct SlotExtractorTests {
    /// Monday 23 November 2026.
    let monday = LocalDate(year: 2026, month: 11, day: 23)!

    func slots(_ text: String, today: LocalDate? = nil) -> Slots {
        SlotExtractor.extract(from: FrenchText.tokens(text), today: today ?? monday)
    }

    @Test(arguments: [
        ("demain", "2026-11-24"), ("après-demain", "2026-11-25"), ("aujourd'hui", "2026-11-23"),
        ("jeudi", "2026-11-26"), ("lundi", "2026-11-30"), ("mardi de la semaine prochaine", "2026-12-01"),
        ("jeudi prochain", "2026-11-26"), ("le 3 décembre", "2026-12-03"), ("le premier décembre", "2026-12-01"),
        ("le 1er décembre", "2026-12-01"), ("le 15", "2026-12-15"), ("le 2 janvier", "2027-01-02"),
        ("dans trois jours", "2026-11-26"), ("dans une semaine", "2026-11-30"), ("la semaine prochaine", "2026-11-30"),
        ("le 12 mars 2027", "2027-03-12"), ("mardi prochain", "2026-12-01"), ("le 24/11", "2026-11-24"),
        ("la semaine prochaine jeudi", "2026-12-03"), ("jeudi en huit", "2026-12-03"),
        ("le vingt-cinq novembre", "2026-11-25"),
    ])
    func dates(_ text: String, _ expected: String) {
        #expect(slots(text).date?.iso == expected)
    }

    @Test(arguments: [
        ("à 14h", "14:00"), ("vers 16 heures", "16:00"), ("à 9 h 30", "09:30"), ("quatorze heures trente", "14:30"),
        ("à midi", "12:00"), ("à midi et demi", "12:30"), ("dix heures et quart", "10:15"),
        ("onze heures moins le quart", "10:45"), ("à 3 heures de l'après-midi", "15:00"),
        ("à 8 heures du soir", "20:00"),
    ])
    func times(_ text: String, _ expected: String) {
        #expect(slots(text).time?.description == expected)
    }

    /// Days callers name in other ways: holidays, the recent past, a day refused, an impossible day.
    @Test(arguments: [
        ("le lundi de Pâques", "2027-03-29"), ("à Noël", "2026-12-25"), ("le jour de l'an", "2027-01-01"),
        ("le 20 novembre", "2026-11-20"), ("le 11 novembre dernier", "2026-11-11"), ("le 2 octobre", "2027-10-02"),
        ("pas aujourd'hui plutôt demain", "2026-11-24"), ("pas lundi, jeudi", "2026-11-26"),
    ])
    func daysSaidOtherwise(_ text: String, _ expected: String) {
        #expect(slots(text).date?.iso == expected, "\(text)")
    }

    @Test func anImpossibleDayIsNoDay() {
        let said = slots("le 30 février")
        #expect(said.impossibleDate && said.date == nil)
        #expect(!slots("le 28 février").impossibleDate)
    }

    @Test func partsOfDay() {
        #expect(slots("jeudi après-midi").partOfDay == .afternoon)
        #expect(slots("en fin de matinée").partOfDay == .morning)
        #expect(slots("ce soir").partOfDay == .evening)
        #expect(slots("ce soir").date == monday)
        #expect(slots("à midi").partOfDay == nil)
        #expect(slots("avant midi").partOfDay == .morning && slots("avant midi").time == nil)
        #expect(slots("demain en fin de journée").partOfDay == .evening)
    }

    @Test(arguments: [
        ("06 12 34 56 78", "+33612345678"), ("0612345678", "+33612345678"), ("+33 6 12 34 56 78", "+33612345678"),
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "+33612345678"),
        ("0033 1 44 55 66 77", "+33144556677"), ("mon numéro c'est le 01.23.45.67.89", "+33123456789"),
    ])
    func phones(_ text: String, _ expected: String) {
        #expect(slots(text).phone == expected)
    }

    @Test func noDateInAPhoneNumber() {
        #expect(slots("mon numéro c'est le 06.12.30.40.50").date == nil)
        #expect(slots("c'est le 06 12 30 40 50").date == nil)
        #expect(slots("le 24/11/2026").date?.iso == "2026-11-24")
    }

    @Test func noPhoneInShortNumbers() {
        #expect(slots("le 3 décembre à 14 heures").phone == nil)
        #expect(slots("12 34").phone == nil)
    }

    @Test(arguments: [
        ("oui", true), ("oui c'est ça", true), ("d'accord", true), ("tout à fait", true), ("non", false),
        ("non merci", false), ("pas du tout", false), ("ouais", true),
    ])
    func yesNo(_ text: String, _ expected: Bool) {
        #expect(slots(text).yesNo == expected)
    }

    @Test func digitsAndChoices() {
        #expect(slots("quatre huit deux sept un cinq").digits == "482715")
        #expect(slots("c'est le 4 8 2 7 1 5").digits == "482715")
        #expect(slots("je veux un rendez-vous").digits == nil)
        #expect(slots("le deuxième").choice == 2)
        #expect(slots("le premier").choice == 1)
        #expect(slots("2").choice == 2)
    }
}
