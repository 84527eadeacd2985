import Testing

@testable import CallbotCore

/// The dialogue engine alone: events in, actions out, no I/O.
@Suite struct DialogueEngineTests {
    let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!
    let understander = Understander(deployment: demo)

    func engine(caller: String? = "+33611223344") -> DialogueEngine {
        DialogueEngine(deployment: demo, understander: understander, callID: "c-test", callerNumber: caller)
    }

    func said(_ actions: [DialogueAction]) -> [String] {
        actions.compactMap { if case .say(let p) = $0 { return p.key } else { return nil } }
    }

    func recorded(_ actions: [DialogueAction], _ type: String) -> CallEvent? {
        actions.lazy.compactMap { if case .record(let e) = $0, e.type == type { return e } else { return nil } }.first
    }

    @Test func greetsAndListens() {
        var e = engine()
        let actions = e.handle(.started, now: monday)
        #expect(said(actions) == ["greeting"])
        #expect(actions.last == .listen(ListenSpec(timeoutSeconds: 6, maxDigits: 1)))
    }

    @Test func everythingSaidIsRendered() {
        var e = engine()
        var actions = e.handle(.started, now: monday)
        actions += e.handle(.utterance("je veux une carte d'identité", confidence: 0.9), now: monday)
        actions += e.handle(.utterance("oui", confidence: 0.9), now: monday)
        for case .say(let prompt) in actions {
            #expect(!prompt.text.contains("{") && prompt.text != prompt.key, "\(prompt.key): \(prompt.text)")
        }
    }

    @Test func aFailedTransferComesBackWithAlternatives() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        let transfer = e.handle(.digits("0"), now: monday)
        guard case .transfer(let context)? = transfer.last else {
            Issue.record("no transfer: \(transfer)")
            return
        }
        #expect(context.callID == "c-test" && context.intents == ["conseiller"])
        let back = e.handle(.transferResult(.noAnswer), now: monday)
        #expect(said(back) == ["handoff.failed", "handoff.alternatives"])
        #expect(recorded(back, "transfer.result")?.fields["result"] == "no_answer")
        // Hanging up while waiting for an agent is an abandonment.
        var waiting = engine()
        _ = waiting.handle(.started, now: monday)
        _ = waiting.handle(.digits("0"), now: monday)
        let ended = waiting.handle(.hangUp, now: monday)
        #expect(recorded(ended, "call.ended")?.fields["outcome"] == "abandoned_in_queue")
    }

    @Test func whenAllAgentsAreBusyTheCallerHearsTheWaitAndMayKeepTheirPlace() throws {
        var e = engine()
        _ = e.handle(.started, now: monday)
        _ = e.handle(.utterance("comment refaire mon passeport", confidence: 0.9), now: monday)
        _ = e.handle(.digits("0"), now: monday)
        let busy = e.handle(.agentsBusy(waitMinutes: 6), now: monday)
        #expect(said(busy) == ["handoff.busy_wait", "handoff.keep_place"])
        let wait = busy.compactMap { if case .say(let p) = $0, p.key == "handoff.busy_wait" { p.text } else { nil } }
        #expect(wait.first?.contains("environ 6 minutes") == true, "\(wait)")
        #expect(recorded(busy, "transfer.result")?.fields["result"] == "busy")
        #expect(recorded(busy, "callback.offered") != nil)
        let keep = e.handle(.digits("1"), now: monday)
        let request = try #require(
            keep.compactMap { if case .scheduleCallback(let r) = $0 { r } else { nil } }.first, "\(keep)")
        #expect(request.purpose == .queue && request.phone == "+33611223344" && request.topic == "passeport")
        // From now to the end of the agents' morning (09:00-12:00 on Mondays).
        #expect(request.window.date == monday.date && request.window.range.description == "10:00-12:00")
        let callback = Callback(
            id: "cb-q", window: request.window, phone: request.phone, context: request.context, purpose: .queue)
        let kept = e.handle(.callbackScheduled(callback), now: monday)
        #expect(said(kept).first == "handoff.place_kept")
        #expect(recorded(kept, "callback.scheduled")?.fields["purpose"] == "queue")
        let end = e.handle(.hangUp, now: monday)
        #expect(recorded(end, "call.ended")?.fields["outcome"] == "callback")
        // Without a number on display, the usual alternatives (the callback flow asks for one).
        var anonymous = engine(caller: nil)
        _ = anonymous.handle(.started, now: monday)
        _ = anonymous.handle(.digits("0"), now: monday)
        #expect(
            said(anonymous.handle(.agentsBusy(waitMinutes: 1), now: monday)) == [
                "handoff.busy_wait", "handoff.alternatives",
            ])
    }

    @Test func theHandoffCarriesWhatTheBotAlreadyAnswered() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        let answered = e.handle(.utterance("quels sont vos horaires d'ouverture", confidence: 0.9), now: monday)
        let answer = answered.compactMap { if case .say(let p) = $0, p.key.hasPrefix("answer") { p.text } else { nil } }
        let transfer = e.handle(.utterance("je voudrais parler à un conseiller", confidence: 0.9), now: monday)
        guard case .transfer(let context)? = transfer.last else {
            Issue.record("no transfer: \(transfer)")
            return
        }
        #expect(!answer.isEmpty && context.answers == answer, "\(answered)")
        guard case .object(let fields) = context.json else { return }
        #expect(fields["answers"] == .array(answer.map(JSONValue.string)))
    }

    @Test func aTakenSlotIsReplacedBeforeAnythingIsConfirmed() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        let search = e.handle(.utterance("un rendez-vous pour un passeport", confidence: 1), now: monday)
        guard case .findSlots(let motif, _, _, let limit)? = search.last else {
            Issue.record("no slot search: \(search)")
            return
        }
        #expect(motif == "titres" && limit == 2)
        let slot = Slot(motifID: "titres", start: LocalDateTime(iso: "2026-11-24T10:10:00+01:00")!, durationMinutes: 20)
        let offer = e.handle(.slotsFound([slot]), now: monday)
        #expect(said(offer) == ["booking.offer_one"])
        #expect(
            e.handle(.digits("1"), now: monday).contains {
                if case .say(let p) = $0 { p.key == "booking.confirm" } else { false }
            })
        #expect(e.handle(.digits("1"), now: monday).last == .book(slot))
        let taken = e.handle(.bookingFailed(.slotTaken), now: monday)
        #expect(said(taken) == ["booking.slot_taken"])
        #expect(recorded(taken, "appointment.booked") == nil)
        if case .findSlots? = taken.last {} else { Issue.record("no new search after a taken slot") }
    }

    @Test func aStorageFailureApologisesAndHandsOff() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        _ = e.handle(.utterance("je veux prendre rendez-vous pour l'urbanisme", confidence: 1), now: monday)
        let failed = e.handle(.serviceFailed, now: monday)
        #expect(said(failed).first == "technical_problem")
        if case .transfer? = failed.last {} else { Issue.record("no transfer after a failure: \(failed)") }
    }

    @Test func zeroIsADigitWhileDictatingANumber() {
        var e = engine(caller: nil)
        _ = e.handle(.started, now: monday)
        _ = e.handle(.utterance("rappelez-moi", confidence: 1), now: monday)
        let window = CallbackWindow(
            date: LocalDate(year: 2026, month: 11, day: 23)!,
            range: TimeRange(start: TimeOfDay(hour: 10, minute: 30)!, end: TimeOfDay(hour: 12, minute: 0)!))
        _ = e.handle(.callbackWindowsFound([window]), now: monday)
        let ask = e.handle(.digits("1"), now: monday)
        #expect(said(ask) == ["callback.ask_number"], "no caller ID: the number is asked")
        #expect(ask.last == .listen(ListenSpec(timeoutSeconds: 6, maxDigits: 10)))
        let readBack = e.handle(.digits("0612345678"), now: monday)
        #expect(said(readBack) == ["callback.read_back"])
        #expect(!readBack.contains { if case .transfer = $0 { true } else { false } })
        let digitsEvent = recorded(readBack, "digits")
        #expect(digitsEvent?.fields["digits"] == "***", "typed numbers are not logged")
    }

    @Test func repeatsTheLastQuestion() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        // Key 5: the appointment's choices are read (asked in words, "annuler" goes to its confirmation).
        _ = e.handle(.digits("5"), now: monday)
        let appointment = Appointment(
            reference: "123456", motifID: "titres", start: LocalDateTime(iso: "2026-11-25T09:30:00+01:00")!,
            durationMinutes: 20, seat: 0)
        let found = e.handle(.appointmentsFound([appointment]), now: monday)
        #expect(said(found) == ["manage.found"])
        #expect(said(e.handle(.utterance("pouvez-vous répéter", confidence: 1), now: monday)) == ["manage.found"])
        #expect(said(e.handle(.digits("9"), now: monday)) == ["manage.found"])
    }

    @Test func redactsWhatItRecords() {
        var e = engine()
        _ = e.handle(.started, now: monday)
        let actions = e.handle(
            .utterance("je m'appelle Jeanne Martin, rappelez-moi au 06 12 34 56 78", confidence: 0.8), now: monday)
        let text = recorded(actions, "utterance")?.fields["text"]?.stringValue ?? ""
        #expect(!text.contains("Martin") && !text.contains("56 78"), "\(text)")
    }
}

/// Speech on the line: poorly heard requests are checked, a lost recogniser falls back to keys.
@Suite struct SpeechDialogueTests {
    let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!
    let understander = Understander(deployment: demo)

    func started() -> DialogueEngine {
        var e = DialogueEngine(deployment: demo, understander: understander, callID: "c-test", callerNumber: nil)
        _ = e.handle(.started, now: monday)
        return e
    }

    func said(_ actions: [DialogueAction]) -> [String] {
        actions.compactMap { if case .say(let p) = $0 { return p.key } else { return nil } }
    }

    @Test func aPoorlyHeardRequestIsReadBackAndDoneOnYes() {
        var e = started()
        let check = e.handle(.utterance("quels sont vos horaires", confidence: 0.3), now: monday)
        #expect(said(check) == ["speech.check"])
        let prompt = check.compactMap { if case .say(let p) = $0 { p } else { nil } }.first
        #expect(prompt?.text.contains("« quels sont vos horaires »") == true)
        #expect(check.last == .listen(ListenSpec(timeoutSeconds: 6, maxDigits: 1)))
        let answer = e.handle(.utterance("oui", confidence: 0.4), now: monday)
        #expect(said(answer).first == "answer.horaires")
    }

    @Test func aWrongReadingIsDroppedAndTheCallerAskedAgain() {
        var e = started()
        _ = e.handle(.utterance("je voudrais un passeport", confidence: 0.2), now: monday)
        let no = e.handle(.digits("2"), now: monday)
        #expect(said(no) == ["speech.rephrase"])
        // The next request is handled where the caller was (the main menu).
        let next = e.handle(.utterance("vos horaires d'ouverture", confidence: 0.9), now: monday)
        #expect(said(next).first == "answer.horaires")
    }

    @Test func aNewRequestInsteadOfYesOrNoIsTakenAsItIs() {
        var e = started()
        _ = e.handle(.utterance("horaires", confidence: 0.2), now: monday)
        let next = e.handle(.utterance("je veux parler à un conseiller", confidence: 0.9), now: monday)
        #expect(next.contains { if case .transfer = $0 { true } else { false } })
    }

    @Test func confidentSpeechAndShortAnswersAreNotChecked() {
        var e = started()
        #expect(
            said(e.handle(.utterance("quels sont vos horaires", confidence: 0.8), now: monday)).first
                == "answer.horaires")
        // A low-confidence "non" to "autre chose ?" is not read back.
        let no = e.handle(.utterance("non merci", confidence: 0.3), now: monday)
        #expect(!said(no).contains("speech.check"))
    }

    @Test func aLostRecogniserSwitchesToTheKeypadMenu() {
        var e = started()
        let actions = e.handle(.speechUnavailable, now: monday)
        #expect(said(actions) == ["speech.unavailable", "menu"])
        #expect(
            actions.contains {
                if case .say(let p) = $0 { p.text.contains("Prendre rendez-vous, tapez 4") } else { false }
            })
        #expect(actions.last == .listen(ListenSpec(timeoutSeconds: 6, maxDigits: 1)))
        // Mid-booking, the pending question is asked again.
        var booking = started()
        _ = booking.handle(.digits("4"), now: monday)
        let again = booking.handle(.speechUnavailable, now: monday)
        #expect(said(again) == ["speech.unavailable", "booking.ask_motif"])
    }

    /// The caller's day is always said back: in the offer when it has room that day,
    /// or in "nothing left that day" before another day is offered.
    @Test func aSpokenDayIsSaidBack() {
        func texts(_ actions: [DialogueAction]) -> String {
            actions.compactMap { if case .say(let p) = $0 { p.text } else { nil } }.joined(separator: " ")
        }
        let thursday = LocalDateTime(iso: "2026-11-26T09:00:00+01:00")!
        let friday = LocalDateTime(iso: "2026-11-27T09:00:00+01:00")!
        let asked = "je voudrais un rendez-vous pour un passeport jeudi matin"
        for (start, expected) in [(thursday, "booking.offer_one"), (friday, "booking.nothing_that_day")] {
            var e = started()
            let search = e.handle(.utterance(asked, confidence: 0.9), now: monday)
            guard case .findSlots(_, let preference, _, _)? = search.last else {
                Issue.record("no slot search: \(search)")
                continue
            }
            #expect(preference.date == thursday.date && preference.partOfDay == .morning)
            let offer = e.handle(
                .slotsFound([Slot(motifID: "titres", start: start, durationMinutes: 20)]), now: monday)
            #expect(said(offer).first == expected)
            #expect(texts(offer).contains("jeudi 26 novembre"), "\(texts(offer))")
        }
        var callback = started()
        _ = callback.handle(.utterance("rappelez-moi jeudi s'il vous plaît", confidence: 0.9), now: monday)
        let window = CallbackWindow(
            date: friday.date,
            range: TimeRange(start: TimeOfDay(hour: 9, minute: 0)!, end: TimeOfDay(hour: 12, minute: 0)!))
        let offer = callback.handle(.callbackWindowsFound([window]), now: monday)
        #expect(said(offer) == ["callback.nothing_that_day", "callback.offer_window"])
        #expect(
            texts(offer).contains("jeudi 26 novembre") && texts(offer).contains("vendredi 27 novembre"),
            "\(texts(offer))")
    }

    @Test func uninterruptibleMessagesComeFromTheConfig() {
        var e = started()
        let actions = e.handle(.digits("0"), now: monday)
        let transferring = actions.compactMap {
            if case .say(let p) = $0, p.key == "handoff.transferring" { p } else { nil }
        }
        #expect(transferring.first?.interruptible == false)
        #expect(demo.config.dialogue.uninterruptible == ["handoff.transferring"])
    }
}
