import Testing

@testable import CallbotCore

/// The dialogue engine alone: events in, actions out, no I/O.
@Suite struct DialogueEngineTests {
    let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!
    let understander = Understander(catalog: demo.intents)

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
        _ = e.handle(.utterance("je voudrais annuler mon rendez-vous", confidence: 1), now: monday)
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
