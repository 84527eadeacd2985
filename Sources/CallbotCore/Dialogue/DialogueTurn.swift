/// What every flow of a call reads: the deployment, the caller, the time.
struct DialogueContext: Sendable {
    let deployment: Deployment
    let format: SpokenFormat
    let callID: String
    /// The caller ID (E.164) when there is one.
    let callerNumber: String?
    var now: LocalDateTime

    var config: ServiceConfig { deployment.config }
    var today: LocalDate { now.date }

    func prompt(_ key: MessageKey, _ values: [String: String] = [:], interruptible: Bool = true) -> Prompt {
        Prompt(
            key: key.rawValue, text: deployment.messages.render(key.rawValue, values),
            interruptible: interruptible && !config.dialogue.uninterruptible.contains(key.rawValue))
    }

    func date(_ date: LocalDate) -> String { format.date(date, today: today) }

    func motifLabel(_ id: String) -> String {
        config.appointments.motifs.first { $0.id == id }?.label ?? id
    }

    /// Whether agents can take a transfer now.
    var agentsOpen: Bool { config.agentCalendar.isOpen(at: now) && config.agents.capacity > 0 }

    /// Why `calendar` is closed all day on `date`, as said after "fermée : ", or nil when it opens.
    func closedReason(_ calendar: OpeningCalendar, on date: LocalDate) -> ClosedDay? {
        if calendar.closedOnPublicHolidays, let name = FrenchHolidays.holidays(in: date.year)[date] {
            return .holiday(name)
        }
        if let closure = calendar.closures.first(where: { $0.from <= date && date <= $0.to }) {
            return .closure(closure.reason)
        }
        return calendar.hours.ranges(on: date.weekday).isEmpty ? .weekday(date.weekday) : nil
    }
}

extension DialogueContext {
    /// "elle n'ouvre pas le dimanche", "c'est un jour férié, Noël", a closure's reason.
    func why(_ closed: ClosedDay) -> String {
        switch closed {
        case .weekday(let weekday):
            prompt(.closedWeekday, ["weekday": SpokenFormat.weekdayNames[weekday.rawValue - 1]]).text
        case .holiday(let name): prompt(.closedHoliday, ["holiday": name]).text
        case .closure(let reason?): prompt(.closedClosure, ["reason": reason]).text
        case .closure(nil): prompt(.closedClosure, ["reason": "fermeture exceptionnelle"]).text
        }
    }
}

/// Why a day is closed.
enum ClosedDay: Equatable {
    case weekday(Weekday)
    case holiday(String)
    case closure(String?)
}

/// The actions of one step, and the question it leaves the caller with.
struct DialogueTurn {
    var context: DialogueContext
    var actions: [DialogueAction] = []
    /// Set by ``ask(_:expecting:)``: what the caller is now answering.
    var asked: (prompts: [Prompt], expectation: Expectation)?
    /// Everything said in this step.
    var said: [Prompt] = []

    init(context: DialogueContext) { self.context = context }

    var now: LocalDateTime { context.now }

    mutating func say(_ prompt: Prompt) {
        actions.append(.say(prompt))
        said.append(prompt)
    }

    mutating func say(_ key: MessageKey, _ values: [String: String] = [:]) { say(context.prompt(key, values)) }

    /// Says `prompts` and waits for the caller's answer to them.
    mutating func ask(_ prompts: [Prompt], expecting expectation: Expectation) {
        for p in prompts { say(p) }
        asked = (prompts, expectation)
    }

    mutating func ask(_ key: MessageKey, _ values: [String: String] = [:], expecting expectation: Expectation) {
        ask([context.prompt(key, values)], expecting: expectation)
    }

    /// Listens again for an answer to the pending question, without asking it again.
    mutating func listenAgain(expecting expectation: Expectation, saying prompts: [Prompt] = []) {
        for p in prompts { say(p) }
        asked = ([], expectation)
    }

    mutating func record(_ kind: EventKind, _ fields: [String: JSONValue] = [:]) {
        actions.append(.record(CallEvent(kind: kind, at: now, fields: fields)))
    }

    mutating func request(_ action: DialogueAction) { actions.append(action) }
}

/// How a flow's step left it.
enum FlowStep: Equatable {
    /// It asked the caller something, or waits for a result.
    case waiting
    /// The reply does not answer the flow's question.
    case notUnderstood
    case ended(FlowEnd)
}

/// How a flow ended, for the conversation to go on.
enum FlowEnd: Equatable {
    /// Something was done for the caller (booked, moved, cancelled, scheduled).
    case served
    /// The caller did not want it after all.
    case declined
    /// Nothing could be found: agent or callback are offered.
    case nothingFound
    case startCallback(Preference)
    case startBooking(Preference)
    /// An agent took the call.
    case transferred
    /// The caller is leaving: the survey if it is due, then goodbye.
    case leave
    /// The call ends now, with goodbye.
    case goodbye
    /// A request failed (storage down…).
    case failed
}
