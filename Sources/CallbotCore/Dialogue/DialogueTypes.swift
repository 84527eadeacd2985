/// Something that happened on the call, fed to ``DialogueEngine/handle(_:now:)``.
package enum DialogueEvent: Sendable {
    /// The call is answered.
    case started
    /// The caller said something; `confidence` is the recogniser's (1 for typed text).
    case utterance(String, confidence: Double)
    /// Keys pressed.
    case digits(String)
    /// The caller said nothing before the listen timeout.
    case silence
    /// Speech cannot be recognised any more on this call (the engine is down or too slow).
    case speechUnavailable
    case hangUp
    /// The line lost the caller without a hang-up (no media, no answer to its probes): ended
    /// like a hang-up, and recorded as lost.
    case lineLost
    case transferResult(TransferOutcome)
    /// Every agent is taken: the hand-off did not start; the wait for one is estimated at
    /// `waitMinutes`.
    case agentsBusy(waitMinutes: Int)
    /// Answers to the engine's requests (``DialogueAction``s that need I/O).
    case slotsFound([Slot])
    case booked(Appointment)
    case bookingFailed(BookingFailure)
    case appointmentsFound([Appointment])
    case cancelled(Appointment)
    case callbackWindowsFound([CallbackWindow])
    case callbackScheduled(Callback)
    /// The fallback's reply, `milliseconds` after the question.
    case assistantReplied(AssistantReply, milliseconds: Int)
    /// A request failed (storage down…); the engine apologises and offers an agent.
    case serviceFailed
}

/// How a transfer to an agent ended.
package enum TransferOutcome: String, Sendable {
    case answered
    case busy
    case noAnswer = "no_answer"
    case failed
}

/// What the generative fallback made of a question.
package enum AssistantReply: Sendable, Equatable {
    case answer(AssistantAnswer)
    /// The guardrails refused to answer (`no_source`, `personal`, `instructions`, `check_failed`).
    case refused(reason: String)
    /// No assistant is configured or it did not respond.
    case unavailable
    /// No answer came before the deadline (`assistant.deadline_ms`).
    case late
}

/// An answer of the fallback, with the fiches it comes from.
package struct AssistantAnswer: Sendable, Equatable {
    package enum Mode: String, Sendable {
        /// The best passage, quoted.
        case extractive
        /// Written by a language model from the passages, and checked against them.
        case generative
    }

    package var text: String
    package var mode: Mode
    package var sources: [KnowledgeSource]
    /// The check of what is said against its passages.
    package var check: AnswerCheck?
    /// Why a model's answer was not said and the passage was quoted instead (its failed check,
    /// the model's error or its lateness).
    package var generationRejected: String?

    package init(
        text: String, mode: Mode, sources: [KnowledgeSource], check: AnswerCheck? = nil,
        generationRejected: String? = nil
    ) {
        self.text = text
        self.mode = mode
        self.sources = sources
        self.check = check
        self.generationRejected = generationRejected
    }
}

/// A fiche an answer comes from, and how well it matched the question.
package struct KnowledgeSource: Sendable, Equatable, Encodable {
    package var file: String
    package var title: String
    package var score: Double

    package init(file: String, title: String, score: Double) {
        self.file = file
        self.title = title
        self.score = score
    }
}

/// Something said to the caller: the message key and its rendered text.
package struct Prompt: Sendable, Equatable {
    package var key: String
    package var text: String
    /// Whether caller speech may interrupt it.
    package var interruptible: Bool

    package init(key: String, text: String, interruptible: Bool = true) {
        self.key = key
        self.text = text
        self.interruptible = interruptible
    }
}

/// How to wait for the caller's answer.
package struct ListenSpec: Sendable, Equatable {
    package var timeoutSeconds: Int
    /// Keys to collect before the turn ends (`#` ends it early).
    package var maxDigits: Int

    package init(timeoutSeconds: Int, maxDigits: Int) {
        self.timeoutSeconds = timeoutSeconds
        self.maxDigits = maxDigits
    }
}

/// What the agent receives with a transfer, so the caller does not repeat themselves.
package struct HandoffContext: Sendable, Equatable {
    package var callID: String
    package var reason: String
    package var intent: String?
    package var intents: [String]
    package var slots: [String: String]
    /// The caller's requests, redacted.
    package var summary: String
    /// What the bot already answered, in its words (answers from configuration or the
    /// knowledge base, never the caller's data), so that the agent does not say it again.
    package var answers: [String] = []

    package init(
        callID: String, reason: String, intent: String?, intents: [String], slots: [String: String], summary: String,
        answers: [String] = []
    ) {
        self.callID = callID
        self.reason = reason
        self.intent = intent
        self.intents = intents
        self.slots = slots
        self.summary = summary
        self.answers = answers
    }

    package var json: JSONValue {
        .object([
            "call_id": .string(callID), "reason": .string(reason), "intent": intent.map(JSONValue.string) ?? .null,
            "intents": .array(intents.map(JSONValue.string)), "slots": .object(slots.mapValues(JSONValue.string)),
            "summary": .string(summary), "answers": .array(answers.map(JSONValue.string)),
        ])
    }
}

/// A request for a callback, before it is stored.
package struct CallbackRequest: Sendable, Equatable {
    package var window: CallbackWindow
    package var phone: String
    package var context: String
    /// The intent it is about.
    package var topic: String?
    /// A callback the caller asked for, or a place kept in the agents' queue.
    package var purpose: Callback.Purpose = .request
}

/// A notable event of the call, kept in its record (`say`, `utterance`, `appointment.booked`…).
package struct CallEvent: Sendable, Equatable {
    package var kind: EventKind
    package var at: LocalDateTime
    package var fields: [String: JSONValue]

    package init(kind: EventKind, at: LocalDateTime, fields: [String: JSONValue] = [:]) {
        self.kind = kind
        self.at = at
        self.fields = fields
    }

    /// The kind's name, as stored and printed.
    package var type: String { kind.rawValue }
}

/// What the engine wants done; the session runner performs it and feeds back the result.
package enum DialogueAction: Sendable, Equatable {
    case say(Prompt)
    case listen(ListenSpec)
    case transfer(HandoffContext)
    case hangUp
    case record(CallEvent)
    /// → ``DialogueEvent/slotsFound(_:)``; `limit` slots nearest to the preference.
    case findSlots(motifID: String, preference: Preference, excluding: [Slot], limit: Int)
    /// → `booked` or `bookingFailed`.
    case book(Slot)
    /// → `appointmentsFound`.
    case findAppointments(AppointmentLookup)
    /// → `cancelled`.
    case cancel(Appointment)
    /// → `booked` (the same reference at its new time) or `bookingFailed`.
    case move(Appointment, to: Slot)
    /// → `callbackWindowsFound`, nearest to the preference first.
    case findCallbackWindows(Preference)
    /// → `callbackScheduled`.
    case scheduleCallback(CallbackRequest)
    /// → `assistantReplied`; the question is already redacted.
    case ask(String)
}
