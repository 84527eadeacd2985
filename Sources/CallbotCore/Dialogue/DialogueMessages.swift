/// The message keys the dialogue engine says and the placeholders it fills.
package enum DialogueMessages {
    package static let required: Set<String> = [
        "greeting", "listening", "anything_else", "no_input", "no_input_goodbye", "no_match", "repeat_unavailable",
        "give_up", "give_up_goodbye", "technical_problem", "goodbye", "menu.intro", "menu.item", "menu.topics",
        "smalltalk.hello", "smalltalk.welcome", "smalltalk.ok", "smalltalk.call_again", "hours.day_open",
        "hours.day_closed", "closed.weekday", "closed.holiday", "closed.closure", "hours.past", "hours.impossible",
        "booking.ask_motif", "booking.motif_option", "booking.offer_two", "booking.offer_one",
        "booking.nothing_that_day", "booking.closed_day", "booking.motif_not_that_day", "booking.too_far",
        "booking.too_soon", "booking.past", "booking.no_time_that_day", "booking.no_slot", "booking.no_more",
        "booking.confirm", "booking.booked", "booking.slot_taken", "booking.abandoned",
        "booking.offer", "manage.found", "manage.moving", "manage.ask_reference", "manage.no_reference",
        "manage.not_found", "manage.none_for_caller", "manage.confirm_cancel", "manage.cancelled", "manage.moved",
        "manage.kept", "callback.offer_window", "callback.no_window", "callback.nothing_that_day",
        "callback.closed_day",
        "callback.no_more", "callback.full", "callback.confirm_caller_id", "callback.ask_number",
        "callback.read_back", "callback.invalid_number", "callback.scheduled", "callback.abandoned",
        "handoff.transferring", "handoff.closed", "handoff.busy", "handoff.busy_wait", "handoff.keep_place",
        "handoff.place_kept", "handoff.failed", "handoff.alternatives",
        "handoff.offer", "handoff.offer_or_callback", "handoff.offer_callback", "dialer.intro", "dialer.intro_no_topic",
        "dialer.queue",
        "dialer.notice_cancelled", "dialer.agents_busy", "speech.check", "speech.rephrase",
        "speech.unavailable",
        "fallback.unknown", "assistant.extractive", "assistant.generative", "assistant.holding", "assistant.late",
        "survey.ask", "survey.invalid", "survey.thanks", "format.slot",
        "format.window",
        "format.today", "format.tomorrow", "format.day_range", "format.single_day", "format.time_range",
        "format.and", "format.hour", "format.hour_minute", "format.noon",
    ]

    /// Messages that repeat what the caller said or typed (their words, their phone number):
    /// never cached.
    package static let personal: Set<String> = ["speech.check", "callback.read_back", "callback.confirm_caller_id"]

    package static let placeholders: Set<String> = [
        "service", "address", "website", "opening_hours", "agent_hours", "motifs", "label", "digit", "option1",
        "option2", "date", "motif", "slot", "reference", "digits", "window", "phone_end", "phone", "first", "last",
        "day", "start", "end", "hour", "minute", "time", "text", "hours", "weekday", "holiday", "reason", "items",
        "why", "title", "topic", "wait",
    ]
}
