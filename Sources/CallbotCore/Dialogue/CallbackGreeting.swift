/// What the bot says when it calls someone back: who calls and why, before an agent takes over.
package enum CallbackGreeting {
    /// The greeting for `callback`; `appointment` is the one a notice is about.
    package static func prompt(
        for callback: Callback, appointment: Appointment?, deployment: Deployment, today: LocalDate
    ) -> Prompt {
        let messages = deployment.messages
        let service = deployment.config.service.name
        let key: String
        var values = ["service": service]
        if callback.purpose == .notice, let appointment {
            key = "dialer.notice_cancelled"
            let slot = Slot(
                motifID: appointment.motifID, start: appointment.start, durationMinutes: appointment.durationMinutes)
            values["slot"] = SpokenFormat(messages: messages).slot(slot, today: today)
        } else if callback.purpose == .queue {
            key = "dialer.queue"
        } else if let topic = callback.topic.flatMap(deployment.intents.intent(named:))?.label {
            key = "dialer.intro"
            values["topic"] = topic.prefix(1).lowercased() + topic.dropFirst()
        } else {
            key = "dialer.intro_no_topic"
        }
        // Said whole: the callee must hear who calls before anything else.
        return Prompt(key: key, text: messages.render(key, values), interruptible: false)
    }
}
