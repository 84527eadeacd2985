import Testing

@testable import CallbotCore

/// What the bot says first when it calls someone back, and what a booked callback is about.
@Suite struct CallbackGreetingTests {
    let monday = LocalDateTime(iso: "2026-11-23T10:00:00+01:00")!
    var window: CallbackWindow {
        CallbackWindow(
            date: monday.date,
            range: TimeRange(start: TimeOfDay(hour: 14, minute: 0)!, end: TimeOfDay(hour: 15, minute: 30)!))
    }

    @Test func theGreetingSaysWhoCallsAndWhy() {
        let callback = Callback(id: "cb-1", window: window, phone: "+33612345678", topic: "passeport")
        let prompt = CallbackGreeting.prompt(for: callback, appointment: nil, deployment: demo, today: monday.date)
        #expect(prompt.key == "dialer.intro" && !prompt.interruptible)
        #expect(prompt.text.contains("ici la Mairie de Villebois") && prompt.text.contains("sujet suivant : passeport"))
        #expect(!prompt.text.contains("{"))
        var queued = callback
        queued.purpose = .queue
        let place = CallbackGreeting.prompt(for: queued, appointment: nil, deployment: demo, today: monday.date)
        #expect(place.key == "dialer.queue" && place.text.contains("gardé votre place"))
        var unknown = callback
        unknown.topic = nil
        #expect(
            CallbackGreeting.prompt(for: unknown, appointment: nil, deployment: demo, today: monday.date).key
                == "dialer.intro_no_topic")
    }

    @Test func aNoticeSaysWhichAppointmentWasCancelled() {
        let appointment = Appointment(
            reference: "123456", motifID: "titres", start: LocalDateTime(iso: "2026-11-24T09:00:00+01:00")!,
            durationMinutes: 20, seat: 0, status: .cancelled)
        let notice = Callback(
            id: "cb-2", window: window, phone: "+33612345678", purpose: .notice, appointmentReference: "123456")
        let prompt = CallbackGreeting.prompt(
            for: notice, appointment: appointment, deployment: demo, today: monday.date)
        #expect(prompt.key == "dialer.notice_cancelled" && prompt.text.contains("demain"), "\(prompt.text)")
        #expect(prompt.text.contains("9 heures") && !prompt.text.contains("{"), "\(prompt.text)")
    }

    @Test func aCallbackAfterAnAnswerIsAboutItsTopic() {
        var engine = DialogueEngine(
            deployment: demo, understander: Understander(deployment: demo), callID: "c-t", callerNumber: "+33612345678")
        var actions = engine.handle(.started, now: monday)
        actions += engine.handle(.utterance("comment faire un passeport", confidence: 0.9), now: monday)
        actions += engine.handle(.utterance("je voudrais être rappelé", confidence: 0.9), now: monday)
        // The windows asked for are found; every question after is answered yes (1).
        for _ in 0..<8 {
            if actions.contains(where: { if case .scheduleCallback = $0 { true } else { false } }) { break }
            let asked = actions.contains { if case .findCallbackWindows = $0 { true } else { false } }
            actions = engine.handle(asked ? .callbackWindowsFound([window]) : .digits("1"), now: monday)
        }
        let request = actions.compactMap { action -> CallbackRequest? in
            if case .scheduleCallback(let request) = action { request } else { nil }
        }.first
        #expect(request?.topic == "passeport", "\(actions)")
    }
}
