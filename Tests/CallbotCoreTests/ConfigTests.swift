import Testing

@testable import CallbotCore

@Suite struct ConfigTests {
    let callbot: String
    let intents: String
    let messages: String

    init() throws {
        callbot = try text("config/callbot.yaml")
        intents = try text("config/intents.yaml")
        messages = try text("prompts/messages.fr.yaml")
    }

    func parse(callbot: String? = nil, intents: String? = nil, messages: String? = nil) throws(ConfigError)
        -> Deployment
    {
        try Deployment.parse(
            callbot: callbot ?? self.callbot, intents: intents ?? self.intents, messages: messages ?? self.messages)
    }

    func error(callbot: String? = nil, intents: String? = nil, messages: String? = nil) -> ConfigError? {
        do {
            _ = try parse(callbot: callbot, intents: intents, messages: messages)
            return nil
        } catch {
            return error
        }
    }

    func line(of needle: String, in text: String) -> Int {
        (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) } ?? -1) + 1
    }

    @Test func demoLoads() throws {
        let deployment = try parse()
        #expect(deployment.config.service.name == "Mairie de Villebois")
        #expect(deployment.config.appointments.motifs.map(\.id) == ["titres", "etat_civil", "urbanisme"])
        let names = Set(deployment.intents.intents.map(\.name))
        for contract in [
            "horaires", "adresse_acces", "carte_identite", "passeport", "acte_etat_civil", "listes_electorales",
            "dechets",
            "urbanisme", "ecole_cantine", "prendre_rdv", "annuler_rdv", "rappel", "conseiller", "etat_demande",
        ] {
            #expect(names.contains(contract), "missing demo intent \(contract)")
        }
        #expect(deployment.config.opening.isClosed(on: LocalDate(year: 2026, month: 12, day: 25)!))
        #expect(deployment.config.opening.isClosed(on: LocalDate(year: 2026, month: 12, day: 24)!))  // closure
        #expect(!deployment.config.opening.isClosed(on: LocalDate(year: 2026, month: 12, day: 23)!))
    }

    @Test func unknownKeyNamesFileAndLine() throws {
        let broken = callbot.replacing("  capacity: 3  ", with: "  capacity: 3\n  capacitee: 4  ")
        let e = try #require(error(callbot: broken))
        #expect(e.file == "callbot.yaml")
        #expect(e.line == line(of: "capacitee", in: broken))
        #expect(e.reason.contains("unknown key \"capacitee\""))
    }

    @Test func trustedPeersTakeAddressesAndBlocksOnly() throws {
        // "127.0.0.1/-8" used to pass and trust everyone; "localhost" passed and dropped every call.
        for bad in ["\"127.0.0.1/-8\"", "\"localhost\"", "\"10.0.0.0/33\"", "\"192.168.1\"", "\"::1/200\""] {
            let broken = callbot.replacing(
                "  trusted_peers: [\"127.0.0.0/8\", \"::1\"]", with: "  trusted_peers: [\"::1\", \(bad)]")
            let e = try #require(error(callbot: broken), "\(bad) accepted")
            #expect(e.file == "callbot.yaml" && e.line == line(of: "trusted_peers", in: broken))
            #expect(e.reason.contains("IP address or a CIDR block"), "\(e.reason)")
        }
        #expect(demo.config.line.trustedPeers.map(\.description) == ["127.0.0.0/8", "::1"])
    }

    @Test func theDialerTakesAnAddressAndDialsOnlyOrdinaryNumbers() throws {
        #expect(demo.config.dialer == nil, "the demo places no calls")
        let section = """

            dialer:
              trunk: "192.0.2.10:5060"
              target: "sip:{national}@192.0.2.10"
              from: "sip:accueil@villebois.fr"

            """
        let dialer = try #require(try parse(callbot: callbot + section).config.dialer)
        #expect(dialer.target(for: "+33612345678") == "sip:0612345678@192.0.2.10")
        #expect(dialer.allows("+33612345678") && dialer.allows("+33145678901"))
        #expect(!dialer.allows("+33899123456") && !dialer.allows("+3336") && !dialer.allows("+442071234567"))
        let named = callbot + section.replacing("\"192.0.2.10:5060\"", with: "\"trunk.example.org:5060\"")
        let e = try #require(error(callbot: named))
        #expect(e.line == line(of: "trunk.example.org", in: named) && e.reason.contains("an IP address"))
        let noPassword = callbot + section + "  username: mairie\n"
        #expect(try #require(error(callbot: noPassword)).reason.contains("password_env or password_file"))
        let badTarget = callbot + section.replacing("sip:{national}@192.0.2.10", with: "sip:0612345678@192.0.2.10")
        #expect(try #require(error(callbot: badTarget)).reason.contains("{number} or {national}"))
    }

    @Test func speechSettingsAreCheckedWhereTheyAreWritten() throws {
        #expect(demo.config.speech.engine == .local && demo.config.speech.trailingSilenceMilliseconds == 600)
        #expect(demo.config.lineKind == .sip)
        let unknownEngine = callbot.replacing("  engine: local\n", with: "  engine: vosk\n")
        let e = try #require(error(callbot: unknownEngine))
        #expect(e.line == line(of: "engine: vosk", in: unknownEngine) && e.reason.contains("local, openai, none"))
        let noURL = callbot.replacing("  engine: local\n", with: "  engine: openai\n")
        #expect(try #require(error(callbot: noURL)).reason.contains("needs base_url"))
        let badSilence = callbot.replacing("trailing_silence_ms: 600", with: "trailing_silence_ms: 50")
        #expect(try #require(error(callbot: badSilence)).reason.contains("200…3000"))
        let badLine = callbot.replacing("line: sip", with: "line: isdn")
        #expect(try #require(error(callbot: badLine)).reason.contains("\"sip\" or \"local\""))
    }

    @Test func impossibleHoursAreRefused() throws {
        let reversed = callbot.replacing(
            "friday: [\"08:30-12:00\", \"13:30-16:30\"]", with: "friday: [\"12:00-08:30\"]")
        #expect(try #require(error(callbot: reversed)).reason.contains("ends before it starts"))
        let invalid = callbot.replacing("saturday: [\"09:00-12:00\"]", with: "saturday: [\"09:00-25:00\"]")
        let e = try #require(error(callbot: invalid))
        #expect(e.line == line(of: "09:00-25:00", in: invalid))
        let overlapping = callbot.replacing(
            "monday: [\"08:30-12:00\", \"13:30-17:30\"]", with: "monday: [\"08:30-14:00\", \"13:30-17:30\"]")
        #expect(try #require(error(callbot: overlapping)).reason.contains("overlaps"))
    }

    @Test func motifHoursMustFallInTheOpeningHours() throws {
        let sunday = callbot.replacing(
            "        tuesday: [\"09:00-12:00\"]\n        thursday: [\"14:00-18:00\"]",
            with: "        tuesday: [\"09:00-12:00\"]\n        sunday: [\"09:00-12:00\"]")
        let e = try #require(error(callbot: sunday))
        #expect(e.reason.contains("closed on sunday") && e.line == line(of: "sunday: [\"09:00-12:00\"]", in: sunday))
        let late = callbot.replacing("thursday: [\"14:00-18:00\"]", with: "thursday: [\"14:00-20:00\"]")
        let l = try #require(error(callbot: late))
        #expect(l.reason.contains("outside the opening hours") && l.line == line(of: "14:00-20:00", in: late))
    }

    @Test func anUnknownTimeZoneIsRefusedOnItsLine() throws {
        let zone = callbot.replacing("time_zone: \"Europe/Paris\"", with: "time_zone: \"Europe/Pariss\"")
        let e = try #require(error(callbot: zone))
        #expect(e.reason.contains("unknown time zone") && e.line == line(of: "Europe/Pariss", in: zone))
    }

    @Test func keypadDigitsMustNotCollideWithTheMenu() throws {
        let topics = intents.replacing("keypad_topics:\n  keypad: \"2\"", with: "keypad_topics:\n  keypad: \"4\"")
        #expect(try #require(error(intents: topics)).reason.contains("already the keypad of \"prendre_rdv\""))
        let twice = intents.replacing("keypad: \"6\"", with: "keypad: \"4\"")
        let e = try #require(error(intents: twice))
        #expect(e.reason.contains("keypad \"4\" is used by") && e.line > 0)
    }

    @Test func unknownReferencesAreRefused() throws {
        let badAnswer = intents.replacing("answer: answer.horaires", with: "answer: answer.horaire")
        #expect(try #require(error(intents: badAnswer)).reason.contains("answer.horaire"))
        let badAction = intents.replacing("action: callback", with: "action: call_back")
        let e = try #require(error(intents: badAction))
        #expect(e.reason.contains("unknown action \"call_back\""))
        #expect(e.line == line(of: "action: call_back", in: badAction))
        let badMotif = callbot.replacing("intents: [urbanisme]", with: "intents: [urbanism]")
        let motifError = try #require(error(callbot: badMotif))
        #expect(motifError.reason.contains("unknown intent \"urbanism\""))
        #expect(motifError.line == line(of: "intents: [urbanism]", in: badMotif))
        let typo = messages.replacing("goodbye:", with: "goodby:")
        let m = try #require(error(messages: typo))
        #expect(m.reason.contains("goodby") || m.reason.contains("goodbye"))
        // Something missing is placed where it belongs: its section, or the setting that names it.
        let missing = messages.replacing(
            try #require(messages.split(separator: "\n").first { $0.hasPrefix("  offer_one:") }).description + "\n",
            with: "")
        let gone = try #require(error(messages: missing))
        #expect(gone.reason.contains("booking.offer_one") && gone.line == line(of: "booking:", in: missing))
        let silent = callbot.replacing(
            "uninterruptible: [\"handoff.transferring\"]", with: "uninterruptible: [\"handoff.transfering\"]")
        let s = try #require(error(callbot: silent))
        #expect(s.reason.contains("handoff.transfering") && s.line == line(of: "uninterruptible:", in: silent))
        let placeholder = messages.replacing("{reference}. Je répète", with: "{ref}. Je répète")
        #expect(try #require(error(messages: placeholder)).reason.contains("{ref}"))
    }

    @Test func invalidYAMLIsLocated() throws {
        let broken = intents.replacing("  horaires:\n", with: "  horaires:\n   - [\n")
        let e = try #require(error(intents: broken))
        #expect(e.reason.contains("YAML") || e.reason.contains("expected"))
        #expect(e.line > 0)
    }

    @Test func duplicateKeypadIsRefused() throws {
        let duplicate = intents.replacing("keypad: \"4\"", with: "keypad: \"1\"")
        #expect(try #require(error(intents: duplicate)).reason.contains("keypad \"1\""))
    }

    @Test func rendersHoursForSpeech() {
        let format = SpokenFormat(messages: demo.messages)
        let hours = format.weeklyHours(demo.config.opening.hours)
        #expect(hours.hasPrefix("du lundi au mercredi de 8 heures 30 à midi et de 13 heures 30 à 17 heures 30"))
        #expect(hours.hasSuffix("et le samedi de 9 heures à midi"))
        #expect(SpokenFormat.phonePairs("+33612345678") == "06 12 34 56 78")
        #expect(SpokenFormat.digitByDigit("482715") == "4 8 2 7 1 5")
    }
}
