/// Everything kept about one call: the telephone-plan indicators come from these.
package struct CallRecord: Sendable, Equatable {
    package var id: String
    /// `chat`, `sip` or `local`.
    package var channel: String
    package var startedAt: LocalDateTime
    package var endedAt: LocalDateTime?
    /// Keyed hash of the caller's number; never the number.
    package var callerHash: String?
    package var outcome: String?
    package var intents: [String]
    package var surveyScore: Int?
    /// The hand-off context given to the agent, if any.
    package var handoff: JSONValue?
    package var events: [CallEvent]

    package init(id: String, channel: String, startedAt: LocalDateTime, callerHash: String?) {
        self.id = id
        self.channel = channel
        self.startedAt = startedAt
        self.callerHash = callerHash
        self.intents = []
        self.events = []
    }

    /// Folds an event into the record's summary fields.
    package mutating func append(_ event: CallEvent) {
        events.append(event)
        switch event.type {
        case "survey": surveyScore = event.fields["score"]?.intValue
        case "handoff": handoff = event.fields["context"]
        case "call.ended":
            endedAt = event.at
            outcome = event.fields["outcome"]?.stringValue
            if case .array(let names)? = event.fields["intents"] { intents = names.compactMap(\.stringValue) }
        default: break
        }
    }
}
