import Testing

@testable import CallbotCore

@Suite struct RedactorTests {
    @Test(arguments: [
        ("rappelez-moi au 06 12 34 56 78 merci", "06 12 34 56 78", "rappelez-moi au"),
        ("mon numéro est le +33 6 12 34 56 78", "6 12 34 56 78", "mon numéro"),
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "douze trente", ""),
        ("écrivez à jean.dupont@exemple.fr svp", "jean.dupont@exemple.fr", "écrivez à"),
        ("mon mail c'est jean point dupont arobase gmail point com", "dupont", "mon mail"),
        ("numéro de sécurité sociale 1 84 12 76 451 089 46", "1 84 12 76 451 089 46", "sécurité sociale"),
        ("mon IBAN est FR76 3000 6000 0112 3456 7890 189", "3000 6000", "mon IBAN est"),
        ("ma carte 4970 1012 3456 7899", "4970 1012 3456 7899", "ma carte"),
        ("dossier numéro AB123456", "AB123456", "dossier numéro"),
        ("je m'appelle Marie Curie et je voudrais un rendez-vous", "Curie", "je voudrais un rendez-vous"),
        ("bonjour madame Lefèvre", "Lefèvre", "bonjour madame"),
        ("je m'appelle jean dupont je voudrais un passeport", "dupont", "je voudrais un passeport"),
        ("j'habite 12 bis rue de la Paix à Villebois", "rue de la Paix", "habite"),
        ("je suis né le 12 mars 1980", "1980", "je suis né"),
        ("mon nom de famille est Martin", "Martin", "mon nom de famille"),
        ("rappelez moi au +33781223344", "781223344", "rappelez moi au"),
        ("zéro sept quatre-vingt-un vingt-deux trente-trois quarante-quatre", "quatre-vingt-un", ""),
        ("mon numéro de dossier est 2024-URB-0042", "0042", "mon numéro de dossier"),
        ("je suis Paul Martin", "Martin", "je suis"),
        ("ici Sophie Bernard, je vous appelle", "Bernard", "je vous appelle"),
        ("je voudrais parler à Martine Leroy", "Leroy", "je voudrais parler"),
        ("mon fils Lucas est né le 12/05/2015", "Lucas", "mon fils"),
        ("vingt et un rue Victor Hugo", "Victor Hugo", ""),
    ])
    func removesPersonalData(_ text: String, _ secret: String, _ kept: String) {
        let redacted = Redactor.redact(text)
        #expect(!redacted.lowercased().contains(secret.lowercased()), "\(redacted)")
        #expect(redacted.contains(kept), "\(redacted)")
    }

    @Test(arguments: [
        "je voudrais savoir les horaires du samedi", "un rendez-vous le 3 décembre à 14 heures",
        "bonjour madame je voudrais un passeport", "quelle est l'adresse de la mairie", "passeport pour 2 enfants",
        "Je suis à la Mairie de Villebois", "je suis perdu", "un rendez-vous rue de la mairie",
    ])
    func keepsOrdinarySentences(_ text: String) {
        #expect(Redactor.redact(text) == text)
    }
}
