/// A value known by its name, with constants for the names the code uses: an open vocabulary
/// (a config or an older record may bring other names) that is still typed.
package protocol NamedValue: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
where RawValue == String {
    init(rawValue: String)
}

extension NamedValue {
    package init(stringLiteral value: String) { self.init(rawValue: value) }
    package var description: String { rawValue }
}

/// The kind of a call event (`utterance`, `appointment.booked`…), as stored and printed.
///
/// A struct over its raw name rather than a closed enum, so that a record written by another
/// version still reads back; the dialogue only writes the kinds declared here.
package struct EventKind: NamedValue {
    package var rawValue: String

    package init(rawValue: String) { self.rawValue = rawValue }

    package static let utterance: EventKind = "utterance"
    package static let digits: EventKind = "digits"
    package static let say: EventKind = "say"
    package static let noInput: EventKind = "no_input"
    package static let noMatch: EventKind = "no_match"
    package static let speechCheck: EventKind = "speech.check"
    package static let speechUnavailable: EventKind = "speech_unavailable"
    package static let handoff: EventKind = "handoff"
    package static let transferResult: EventKind = "transfer.result"
    package static let appointmentBooked: EventKind = "appointment.booked"
    package static let appointmentMoved: EventKind = "appointment.moved"
    package static let appointmentCancelled: EventKind = "appointment.cancelled"
    package static let callbackOffered: EventKind = "callback.offered"
    package static let callbackScheduled: EventKind = "callback.scheduled"
    package static let assistantAnswer: EventKind = "assistant.answer"
    package static let survey: EventKind = "survey"
    package static let callEnded: EventKind = "call.ended"
    package static let error: EventKind = "error"

    /// The kinds a `callbotctl chat` session prints as `event:` lines (DESIGN.md).
    package static let reported: Set<EventKind> = [
        .handoff, .appointmentBooked, .appointmentMoved, .appointmentCancelled, .callbackScheduled,
        .assistantAnswer, .survey, .callEnded,
    ]
}

/// How a call ended for the telephone-plan indicators.
package enum CallOutcome: String, Sendable, CaseIterable {
    /// An agent took the call.
    case transferred
    /// The bot settled everything the caller asked, and nobody asked for an agent in vain.
    case selfService = "self_service"
    /// A callback was scheduled (whatever else happened).
    case callback
    /// The caller asked for an agent (or accepted one) and got none, nor a callback.
    case handoffUnanswered = "handoff_unanswered"
    /// The caller hung up while waiting for an agent.
    case abandonedInQueue = "abandoned_in_queue"
    /// The caller hung up before anything was settled.
    case abandoned
    /// The line stayed silent: nobody spoke nor typed.
    case noResponse = "no_response"
    /// The caller left without an answer (not understood, nothing to offer).
    case unresolved
    /// The daemon stopped during the call (a crash, a power cut): closed at its next start.
    case interrupted
}

/// Why the caller is handed to an agent.
package enum HandoffReason: String, Sendable, CaseIterable {
    /// The caller asked for a person.
    case callerRequest = "caller_request"
    /// The caller accepted the bot's offer of an agent.
    case callerAccepted = "caller_accepted"
    /// The request is about a personal case only an agent can see (`etat_demande`).
    case personalCase = "personal_case"
    /// The bot did not understand the caller after the reprompts.
    case notUnderstood = "not_understood"
    /// Storage or another part failed.
    case technicalProblem = "technical_problem"
}

/// A key of the message catalogue (`prompts/messages.fr.yaml`).
///
/// The dialogue names its messages through the constants below; intents name their answers in
/// `intents.yaml`, which is why this is not a closed enum.
package struct MessageKey: NamedValue {
    package var rawValue: String

    package init(rawValue: String) { self.rawValue = rawValue }

    package static let greeting: MessageKey = "greeting"
    package static let listening: MessageKey = "listening"
    package static let anythingElse: MessageKey = "anything_else"
    package static let noInput: MessageKey = "no_input"
    package static let noInputGoodbye: MessageKey = "no_input_goodbye"
    package static let noMatch: MessageKey = "no_match"
    package static let repeatUnavailable: MessageKey = "repeat_unavailable"
    package static let giveUp: MessageKey = "give_up"
    package static let giveUpGoodbye: MessageKey = "give_up_goodbye"
    package static let technicalProblem: MessageKey = "technical_problem"
    package static let goodbye: MessageKey = "goodbye"

    package static let menuIntro: MessageKey = "menu.intro"
    package static let menuItem: MessageKey = "menu.item"
    package static let menuTopics: MessageKey = "menu.topics"

    package static let hello: MessageKey = "smalltalk.hello"
    package static let welcome: MessageKey = "smalltalk.welcome"
    package static let ok: MessageKey = "smalltalk.ok"
    package static let callAgain: MessageKey = "smalltalk.call_again"

    package static let hoursDayOpen: MessageKey = "hours.day_open"
    package static let hoursDayClosed: MessageKey = "hours.day_closed"
    package static let closedWeekday: MessageKey = "closed.weekday"
    package static let closedHoliday: MessageKey = "closed.holiday"
    package static let closedClosure: MessageKey = "closed.closure"
    package static let hoursPast: MessageKey = "hours.past"
    package static let impossibleDate: MessageKey = "hours.impossible"

    package static let bookingAskMotif: MessageKey = "booking.ask_motif"
    package static let bookingMotifOption: MessageKey = "booking.motif_option"
    package static let bookingOfferTwo: MessageKey = "booking.offer_two"
    package static let bookingOfferOne: MessageKey = "booking.offer_one"
    package static let bookingNothingThatDay: MessageKey = "booking.nothing_that_day"
    package static let bookingClosedDay: MessageKey = "booking.closed_day"
    package static let bookingMotifNotThatDay: MessageKey = "booking.motif_not_that_day"
    package static let bookingTooFar: MessageKey = "booking.too_far"
    package static let bookingTooSoon: MessageKey = "booking.too_soon"
    package static let bookingPast: MessageKey = "booking.past"
    package static let bookingNoTimeThatDay: MessageKey = "booking.no_time_that_day"
    package static let bookingNoSlot: MessageKey = "booking.no_slot"
    package static let bookingNoMore: MessageKey = "booking.no_more"
    package static let bookingConfirm: MessageKey = "booking.confirm"
    package static let bookingBooked: MessageKey = "booking.booked"
    package static let bookingSlotTaken: MessageKey = "booking.slot_taken"
    package static let bookingAbandoned: MessageKey = "booking.abandoned"
    package static let bookingOffer: MessageKey = "booking.offer"

    package static let manageFound: MessageKey = "manage.found"
    package static let manageMoving: MessageKey = "manage.moving"
    package static let manageAskReference: MessageKey = "manage.ask_reference"
    package static let manageNoReference: MessageKey = "manage.no_reference"
    package static let manageNotFound: MessageKey = "manage.not_found"
    package static let manageNoneForCaller: MessageKey = "manage.none_for_caller"
    package static let manageConfirmCancel: MessageKey = "manage.confirm_cancel"
    package static let manageCancelled: MessageKey = "manage.cancelled"
    package static let manageMoved: MessageKey = "manage.moved"
    package static let manageKept: MessageKey = "manage.kept"

    package static let callbackOfferWindow: MessageKey = "callback.offer_window"
    package static let callbackNoWindow: MessageKey = "callback.no_window"
    package static let callbackNothingThatDay: MessageKey = "callback.nothing_that_day"
    package static let callbackClosedDay: MessageKey = "callback.closed_day"
    package static let callbackNoMore: MessageKey = "callback.no_more"
    package static let callbackFull: MessageKey = "callback.full"
    package static let callbackConfirmCallerID: MessageKey = "callback.confirm_caller_id"
    package static let callbackAskNumber: MessageKey = "callback.ask_number"
    package static let callbackReadBack: MessageKey = "callback.read_back"
    package static let callbackInvalidNumber: MessageKey = "callback.invalid_number"
    package static let callbackScheduled: MessageKey = "callback.scheduled"
    package static let callbackAbandoned: MessageKey = "callback.abandoned"

    package static let handoffTransferring: MessageKey = "handoff.transferring"
    package static let handoffClosed: MessageKey = "handoff.closed"
    package static let handoffBusy: MessageKey = "handoff.busy"
    package static let handoffBusyWait: MessageKey = "handoff.busy_wait"
    package static let handoffKeepPlace: MessageKey = "handoff.keep_place"
    package static let handoffPlaceKept: MessageKey = "handoff.place_kept"
    package static let handoffFailed: MessageKey = "handoff.failed"
    package static let handoffAlternatives: MessageKey = "handoff.alternatives"
    package static let handoffOffer: MessageKey = "handoff.offer"
    package static let handoffOfferOrCallback: MessageKey = "handoff.offer_or_callback"
    package static let handoffOfferCallback: MessageKey = "handoff.offer_callback"

    package static let speechCheck: MessageKey = "speech.check"
    package static let speechRephrase: MessageKey = "speech.rephrase"
    package static let speechUnavailable: MessageKey = "speech.unavailable"

    package static let fallbackUnknown: MessageKey = "fallback.unknown"
    package static let assistantAnswer: MessageKey = "assistant.answer"
    package static let assistantHolding: MessageKey = "assistant.holding"
    package static let assistantLate: MessageKey = "assistant.late"

    package static let surveyAsk: MessageKey = "survey.ask"
    package static let surveyInvalid: MessageKey = "survey.invalid"
    package static let surveyThanks: MessageKey = "survey.thanks"
}
