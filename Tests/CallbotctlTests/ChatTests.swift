import Foundation
import Testing

/// `callbotctl chat` end to end: the real dialogue engine, scheduling and SQLite storage.
@Suite(.serialized) struct ChatTests {
    @Test func answersAQuestionAndRecordsTheCall() throws {
        let db = ScratchDatabase()
        let run = try db.chat(["vous ouvrez à quelle heure samedi", "non merci", "dtmf 4"], now: mondayMorning)
        // A day asked is answered for that day.
        #expect(run.bot.contains { $0.contains("Samedi 28 novembre, la mairie est ouverte de 9 heures à midi") })
        #expect(run.events("survey").first?["score"] as? Int == 4)
        #expect(run.events("call.ended").first?["outcome"] as? String == "self_service")
        let record = try #require(try db.ctl(["calls", "show", "--last", "--json"]).json as? [String: Any])
        #expect(record["outcome"] as? String == "self_service")
        #expect(record["survey_score"] as? Int == 4)
        #expect((record["intents"] as? [String])?.contains("horaires") == true)
        let events = try #require(record["events"] as? [[String: Any]])
        #expect(
            events.contains {
                $0["type"] as? String == "utterance" && $0["text"] as? String == "vous ouvrez à quelle heure samedi"
            })
        #expect(events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "hours.day_open" })
        // The caller's number is stored as a keyed hash only.
        let caller = try #require(record["caller"] as? String)
        #expect(caller.hasPrefix("h:") && !caller.contains("611223344"))
    }

    @Test func booksAnAppointmentThatNobodyElseCanTake() throws {
        let db = ScratchDatabase()
        let first = try db.chat(
            ["je voudrais un rendez-vous pour une carte d'identité jeudi à 9h30", "oui", "oui", "non", "dtmf 5"],
            now: mondayMorning)
        let booked = try #require(first.events("appointment.booked").first)
        #expect(booked["slot"] as? String == "2026-11-26T09:30:00+01:00")
        #expect(booked["motif"] as? String == "titres")
        let reference = try #require(booked["reference"] as? String)
        #expect(reference.count == 6)
        #expect(
            first.bot.contains { $0.contains(reference.map(String.init).joined(separator: " ")) },
            "reference read digit by digit")

        // The motif has two desks: a second caller gets the other one, a third is offered another time.
        let second = try db.chat(
            ["un rendez-vous pour un passeport jeudi à 9h30", "oui", "oui", "hangup"], now: mondayMorning,
            caller: "+33622334455")
        #expect(second.events("appointment.booked").first?["slot"] as? String == "2026-11-26T09:30:00+01:00")
        let third = try db.chat(
            ["un rendez-vous pour un passeport jeudi à 9h30", "dtmf 1", "oui", "hangup"], now: mondayMorning,
            caller: "+33633445566")
        let thirdSlot = try #require(third.events("appointment.booked").first?["slot"] as? String)
        #expect(thirdSlot != "2026-11-26T09:30:00+01:00")

        let list = try #require(try db.ctl(["appointments", "list", "--json"]).json as? [[String: Any]])
        #expect(list.count == 3)
        let atNineThirty = list.filter { $0["start"] as? String == "2026-11-26T09:30:00+01:00" }
        #expect(Set(atNineThirty.compactMap { $0["seat"] as? Int }) == [0, 1])
    }

    @Test func movesAndCancelsByCallerNumberAndByReference() throws {
        let db = ScratchDatabase()
        let booking = try db.chat(
            ["dtmf 4", "dtmf 3", "mardi de la semaine prochaine", "dtmf 1", "dtmf 1", "hangup"], now: mondayMorning)
        let booked = try #require(booking.events("appointment.booked").first)
        let reference = try #require(booked["reference"] as? String)
        #expect((booked["slot"] as? String)?.hasPrefix("2026-12-01T") == true, "urbanism receives on Tuesday mornings")

        // Same caller: found by number, moved to Thursday afternoon.
        let move = try db.chat(
            ["je voudrais déplacer mon rendez-vous", "jeudi après-midi", "dtmf 1", "oui", "hangup"], now: mondayMorning)
        let moved = try #require(move.events("appointment.moved").first)
        #expect(moved["reference"] as? String == reference)
        #expect((moved["slot"] as? String)?.hasPrefix("2026-11-26T14:") == true)

        // Another phone: found by reference, then cancelled.
        let cancel = try db.chat(
            ["annuler un rendez-vous", "dtmf \(reference)", "dtmf 1", "oui", "hangup"], now: mondayMorning, caller: nil)
        #expect(cancel.events("appointment.cancelled").first?["reference"] as? String == reference)
        let list = try #require(try db.ctl(["appointments", "list", "--json"]).json as? [[String: Any]])
        #expect(list.first?["status"] as? String == "cancelled")

        // A wrong reference is said so; after repeated failures an agent or a callback is offered,
        // and key 0 reaches the agent.
        let wrong = try db.chat(
            ["dtmf 5", "dtmf 999999", "dtmf 888888", "dtmf 777777", "dtmf 0"], now: mondayMorning, caller: nil)
        #expect(wrong.bot.filter { $0.contains("Je ne trouve pas de rendez-vous") }.count >= 2)
        #expect(wrong.bot.contains { $0.contains("un conseiller peut retrouver votre rendez-vous") })
        #expect(wrong.events("handoff").first?["reason"] as? String == "caller_request")
    }

    @Test func schedulesACallbackOnAnotherNumber() throws {
        let db = ScratchDatabase()
        let run = try db.chat(
            [
                "pouvez-vous me rappeler demain après-midi", "oui", "dtmf 2",
                "zéro six douze trente-quatre cinquante-six soixante-dix-huit", "oui", "non", "dtmf 5",
            ],
            now: mondayMorning)
        let callback = try #require(run.events("callback.scheduled").first)
        #expect(callback["date"] as? String == "2026-11-24")
        #expect(callback["window"] as? String == "14:00-15:30")
        #expect(run.bot.contains { $0.contains("06 12 34 56 78") }, "number read back")
        #expect(run.events("call.ended").first?["outcome"] as? String == "callback")
        let list = try #require(try db.ctl(["callbacks", "list", "--json"]).json as? [[String: Any]])
        #expect(list.first?["phone"] as? String == "+33612345678")
        // The number never reaches the call record.
        let record = try db.ctl(["calls", "show", "--last", "--json"]).stdout
        #expect(!record.contains("612345678") && !record.contains("12 34 56 78"))
    }

    @Test func handsOffByVoiceAndByZero() throws {
        let db = ScratchDatabase()
        let voice = try db.chat(
            ["bonjour je voudrais un rendez-vous", "je veux parler à un conseiller"], now: mondayMorning)
        let handoff = try #require(voice.events("handoff").first)
        #expect(handoff["status"] as? String == "requested")
        let context = try #require(handoff["context"] as? [String: Any])
        #expect((context["intents"] as? [String]) == ["prendre_rdv", "conseiller"])
        #expect((context["summary"] as? String)?.contains("je voudrais un rendez-vous") == true)
        #expect(voice.events("call.ended").first?["outcome"] as? String == "transferred")

        let zero = try db.chat(["dtmf 0"], now: mondayMorning)
        #expect(zero.events("handoff").first?["status"] as? String == "requested")
        #expect(zero.events("call.ended").first?["outcome"] as? String == "transferred")
    }

    @Test func offersACallbackWhenAgentsAreClosedOrBusy() throws {
        let db = ScratchDatabase()
        let closed = try db.chat(["dtmf 0", "dtmf 1", "oui", "dtmf 1", "hangup"], now: sunday)
        #expect(closed.events("handoff").first?["status"] as? String == "unavailable")
        #expect(closed.bot.contains { $0.contains("ils répondent du lundi au mercredi") })
        #expect(closed.events("callback.scheduled").first?["date"] as? String == "2026-11-23")

        let busy = try db.chat(
            ["un conseiller s'il vous plaît", "dtmf 2", "dtmf 2", "dtmf 1", "dtmf 1", "hangup"], now: mondayMorning,
            transfer: "busy")
        #expect(busy.bot.contains("Tous nos conseillers sont occupés."))
        #expect(busy.events("appointment.booked").count == 1, "\(busy.stdout)")
    }

    @Test func outOfScopeQuestionOffersAnAgent() throws {
        let db = ScratchDatabase()
        let run = try db.chat(["racontez-moi une blague", "oui"], now: mondayMorning)
        // No fiche of config/knowledge/ answers it: the fallback refuses rather than invent.
        #expect(run.events("assistant.answer").first?["mode"] as? String == "refused")
        #expect(run.events("assistant.answer").first?["reason"] as? String == "no_source")
        #expect(run.bot.contains("Je ne sais pas répondre à cette question."))
        #expect(run.events("handoff").first?["reason"] as? String == "caller_accepted")
    }

    @Test func theFallbacksAnswersAreKeptForReview() throws {
        let db = ScratchDatabase()
        for _ in 0..<2 {
            let run = try db.chat(
                ["la salle des fêtes ça coûte combien pour un week-end", "non merci"], now: mondayMorning)
            let answer = try #require(run.events("assistant.answer").first)
            #expect(answer["mode"] as? String == "extractive")
            #expect(run.bot.contains { $0.hasPrefix("D'après la fiche « Location de la salle des fêtes »") })
        }
        _ = try db.chat(["je voudrais savoir l'âge du capitaine de la piscine", "non merci"], now: mondayMorning)
        let review = try #require(try db.ctl(["assistant", "review", "--json"]).json as? [[String: Any]])
        #expect(review.first?["count"] as? Int == 2)
        #expect((review.first?["sources"] as? [String]) == ["salle-des-fetes.md"])
        #expect(review.contains { ($0["modes"] as? [String: Int])?["refused"] == 1 }, "\(review)")
    }

    @Test func aSilentLineGetsTheMenuThenAGoodbyeAndNoAgent() throws {
        let db = ScratchDatabase()
        let run = try db.chat(["silence", "silence", "silence"], now: mondayMorning)
        #expect(run.bot.filter { $0 == "Je n'entends rien." }.count == 2)
        #expect(run.bot.contains { $0.contains("Parler à un conseiller, tapez 0") }, "the keypad menu is offered")
        #expect(run.bot.contains { $0.contains("Je ne vous entends toujours pas") })
        #expect(run.events("handoff").isEmpty, "an agent is never handed an empty call")
        #expect(run.events("call.ended").first?["outcome"] as? String == "no_response")
    }

    @Test func hangingUpMidBookingWritesNothing() throws {
        let db = ScratchDatabase()
        let run = try db.chat(["je voudrais un rendez-vous pour un passeport", "dtmf 1", "hangup"], now: mondayMorning)
        #expect(run.bot.last?.contains("Je récapitule") == true)
        #expect(run.events("call.ended").first?["outcome"] as? String == "abandoned")
        let list = try #require(try db.ctl(["appointments", "list", "--json"]).json as? [Any])
        #expect(list.isEmpty)
        let record = try #require(try db.ctl(["calls", "show", "--last", "--json"]).json as? [String: Any])
        #expect(record["ended_at"] as? String != nil)
    }

    @Test func endOfInputHangsUpCleanly() throws {
        let db = ScratchDatabase()
        let run = try db.chat(["bonjour"], now: mondayMorning)
        #expect(run.events("call.ended").count == 1)
    }
}

@Suite struct CommandTests {
    @Test func checkAcceptsTheDemoAndRefusesABrokenConfig() throws {
        #expect(try ctl(["check"]).status == 0)
        let folder = NSTemporaryDirectory() + "callbot-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/prompts", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for file in ["config/callbot.yaml", "config/intents.yaml", "prompts/messages.fr.yaml"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/" + file, toPath: folder + "/" + file)
        }
        let intents = try String(contentsOfFile: folder + "/config/intents.yaml", encoding: .utf8)
        try intents.replacingOccurrences(of: "action: book", with: "action: booking")
            .write(toFile: folder + "/config/intents.yaml", atomically: true, encoding: .utf8)
        let run = try ctl(["check", "--config", folder + "/config"])
        #expect(run.status != 0)
        #expect(
            run.stderr.contains("intents.yaml:") && run.stderr.contains("unknown action \"booking\""), "\(run.stderr)")
    }

    @Test func understandPrintsTheContract() throws {
        let run = try ctl([
            "understand", "je voudrais un rendez-vous demain à 14h, mon numéro est le 06 12 34 56 78", "--now",
            "2026-11-23T09:15:00+01:00", "--json",
        ])
        let object = try #require(run.json as? [String: Any])
        #expect(object["intent"] as? String == "prendre_rdv")
        let slots = try #require(object["slots"] as? [String: String])
        #expect(slots["date"] == "2026-11-24" && slots["time"] == "14:00" && slots["phone"] == "+33612345678")
        #expect((object["redacted"] as? String)?.contains("56 78") == false)
        #expect(object["alternatives"] is [Any])
    }

    @Test func intentsEvalPrintsTheContract() throws {
        let run = try ctl(["intents", "eval", "Tests/Fixtures/intents_holdout.jsonl", "--json"])
        let object = try #require(run.json as? [String: Any])
        for key in ["total", "accuracy", "none_precision", "none_recall", "per_intent", "confusions"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect((object["accuracy"] as? Double ?? 0) >= 0.9)
    }
}
