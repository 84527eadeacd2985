import Testing

@testable import CallbotCore

/// `callbotctl intents import-rasa`: a Rasa NLU file as a fragment of `intents.yaml`.
@Suite struct RasaImportTests {
    /// A Rasa 3 training file as a town hall's team might have written it.
    static let rasaFile = #"""
        version: "3.1"

        nlu:
        - intent: Demander-Horaires
          examples: |
            - à quelle heure ouvre la mairie ?
            - la mairie est ouverte [samedi]{"entity": "jour"} ?
            - À quelle heure ouvre la mairie ?
            - c'est ouvert le [lundi](jour) matin
            -
            - horaires : mairie de [Villebois](ville)

        - intent: carte_d'identité
          examples: |
            - je voudrais refaire ma carte d'identité
            - il faut quoi pour une [CNI]{"entity":"document","value":"carte d'identité"}
            - "carte d'identité" perdue : que faire ?
            - mon fils a besoin d'une carte d'identité

        - intent: horaires
          examples: |
            - vous fermez à quelle heure
            - c'est ouvert entre midi et deux ?
            - horaires d'ouverture

        - intent: saluer
          examples: |
            - bonjour
            - bonjour à vous

        - intent: vide
          examples: |

        - synonym: carte d'identité
          examples: |
            - CNI
            - carte nationale d'identité

        - regex: code_postal
          examples: |
            - \d{5}

        - lookup: ville
          examples: |
            - Villebois
            - Plaisir

        - intent: demander_horaires
          examples: |
            - quels sont vos horaires
            - à  quelle heure ouvre la   mairie ?

        responses:
          utter_horaires:
          - text: "La mairie est ouverte de 9 h à 17 h."

        stories:
        - story: horaires
          steps:
          - intent: demander_horaires
          - action: utter_horaires

        rules:
        - rule: dire bonjour
          steps:
          - intent: saluer
          - action: utter_saluer
        """#

    let result: RasaImport.Result

    init() throws {
        result = try RasaImport.convert(Self.rasaFile, existing: ["horaires", "passeport"], file: "nlu.yml")
    }

    func intent(_ name: String) -> RasaImport.Intent? { result.intents.first { $0.name == name } }

    func skipped(_ prefix: String) -> RasaImport.Skipped? { result.skipped.first { $0.what.hasPrefix(prefix) } }

    @Test func intentsAreNamedForIntentsYAMLInFileOrder() {
        #expect(result.intents.map(\.name) == ["demander_horaires", "carte_d_identite", "saluer"])
        #expect(intent("carte_d_identite")?.rasaName == "carte_d'identité")
    }

    @Test func entityMarkupIsStrippedAndDuplicatesMerged() throws {
        let horaires = try #require(intent("demander_horaires"))
        #expect(
            horaires.examples == [
                "à quelle heure ouvre la mairie ?", "la mairie est ouverte samedi ?", "c'est ouvert le lundi matin",
                "horaires : mairie de Villebois", "quels sont vos horaires",
            ])
        // "À quelle heure…" (case) and "à  quelle heure…   mairie ?" (spaces) are the first one again.
        #expect(horaires.duplicates == 2)
        #expect(
            intent("carte_d_identite")?.examples == [
                "je voudrais refaire ma carte d'identité", "il faut quoi pour une CNI",
                "\"carte d'identité\" perdue : que faire ?", "mon fils a besoin d'une carte d'identité",
            ])
        let everything = result.intents.flatMap(\.examples)
        #expect(!everything.contains { $0.contains("[") || $0.contains("{") || $0.contains("entity") })
        #expect(!everything.contains(""))
    }

    @Test func whatCannotBeConvertedIsReported() throws {
        #expect(skipped("synonym carte d'identité") != nil)
        #expect(skipped("regex code_postal") != nil)
        #expect(skipped("lookup ville") != nil)
        for key in ["responses", "stories", "rules"] {
            #expect(skipped("\(key):")?.reason.hasPrefix("ignored") == true, "\(key)")
        }
        #expect(skipped("intent vide")?.reason == "no examples")
        // The second spelling of an intent's name is merged into the first and said so.
        #expect(skipped("intent demander_horaires")?.reason.contains("Demander-Horaires") == true)
        // Line numbers point into the Rasa file.
        let synonym = try #require(skipped("synonym"))
        #expect(synonym.what.hasSuffix("(line 34)"), "\(synonym.what)")
        #expect(!result.skipped.contains { $0.what.hasPrefix("version") })
        #expect(result.summary.contains("synonym carte d'identité"))
    }

    @Test func intentsTheDeploymentHasAreReportedNotEmitted() throws {
        #expect(intent("horaires") == nil)
        #expect(result.existing.map(\.name) == ["horaires"])
        let reason = try #require(skipped("intent horaires")).reason
        #expect(reason.contains("already exists") && reason.contains("examples merged?"))
        let fragment = try YAMLNode.parse(result.yaml, file: "fragment.yaml")
        #expect(fragment.value(at: ["horaires"]) == nil)
        #expect(result.yaml.contains("# horaires is already in intents.yaml"))
    }

    @Test func theFragmentReadsBackWithTheExamplesExactly() throws {
        let fragment = try YAMLNode.parse(result.yaml, file: "fragment.yaml")
        for intent in result.intents {
            let examples = try #require(fragment.value(at: [intent.name, "examples"]), "\(intent.name)")
            #expect(try examples.strings() == intent.examples)
            #expect(try fragment.value(at: [intent.name, "action"])?.string() == "answer")
            #expect(try fragment.value(at: [intent.name, "answer"])?.string() == "answer.\(intent.name)")
        }
        // An intent short of examples says what to add.
        #expect(result.yaml.contains("add 1 more"))
    }

    @Test func aFragmentPastedIntoTheDemoIntentsParses() throws {
        let rasa = #"""
            version: "3.1"
            nlu:
            - intent: stationnement
              examples: |
                - où se garer près de la mairie : c'est payant ?
                - il y a un "parking" gratuit ? # pas un commentaire
                - stationnement rue [Victor Hugo](rue) le samedi
                - carte de stationnement résident\e : 50 % moins cher ?
            """#
        let converted = try RasaImport.convert(rasa, existing: Set(demo.intents.intents.map(\.name)))
        let catalog = try ConfigParser.intentCatalog(
            try YAMLNode.parse(try text("config/intents.yaml") + converted.yaml, file: "intents.yaml"))
        let imported = try #require(catalog.intent(named: "stationnement"))
        #expect(
            imported.examples == [
                "où se garer près de la mairie : c'est payant ?",
                "il y a un \"parking\" gratuit ? # pas un commentaire",
                "stationnement rue Victor Hugo le samedi", #"carte de stationnement résident\e : 50 % moins cher ?"#,
            ])
        #expect(imported.action == .answer && imported.answer == "answer.stationnement")
        #expect(catalog.intents.count == demo.intents.intents.count + 1)
    }

    @Test(arguments: [
        "c'est ouvert : le samedi ?", "l'accueil « État civil »", #"un "guillemet" et un \ oblique"#,
        "- tiret en tête", "# dièse en tête", "yes", "null", "123", "", "tab\there", "@arobase & *étoile | >",
    ])
    func quotedTextReadsBack(_ text: String) throws {
        let node = try YAMLNode.parse("k: " + RasaImport.quoted(text), file: "t.yaml")
        #expect(try node.value(at: ["k"])?.string() == text)
    }

    @Test(arguments: [
        ("je veux aller à [Paris](city)", "je veux aller à Paris"),
        (#"rendez-vous [demain]{"entity": "date"} matin"#, "rendez-vous demain matin"),
        (#"une [CNI]{"entity":"document","value":"carte d'identité"}"#, "une CNI"),
        ("[lundi](jour:monday) ou [mardi](jour)", "lundi ou mardi"),
        (#"[a]{"entity": "x", "value": "}"} fin"#, "a fin"),
        ("tarif [x] sans annotation", "tarif [x] sans annotation"),
        ("crochet [ouvert", "crochet [ouvert"),
        ("  espaces   multiples  ", "espaces multiples"),
    ])
    func entityMarkupBecomesText(_ example: String, _ plain: String) {
        #expect(RasaImport.plainText(example) == plain)
    }

    @Test(arguments: [
        ("Demander-Horaires", "demander_horaires"), ("carte_d'identité", "carte_d_identite"),
        ("faq/état civil", "faq_etat_civil"), ("__greet__", "greet"), ("Sœur", "soeur"), ("CamelCase2", "camelcase2"),
    ])
    func namesAreNormalised(_ rasaName: String, _ name: String) {
        #expect(RasaImport.intentName(rasaName) == name)
    }

    @Test func aFileWithoutNLUIsRefused() {
        #expect(throws: ConfigError.self) {
            try RasaImport.convert("version: \"3.1\"\nstories: []\n", existing: [])
        }
        #expect(throws: ConfigError.self) { try RasaImport.convert("nlu: [unclosed\n", existing: []) }
    }
}
