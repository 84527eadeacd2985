/// The conversation of one call, as a state machine: events in, actions out.
///
/// It never does I/O. Requests that need storage or the network (free slots, a booking, the
/// generative fallback…) are actions; their results come back as events. Speech and keys are
/// first read into one ``CallerReply`` for the question the caller is answering; the
/// conversation then hands it to the flow in progress (booking, managing an appointment,
/// callback, hand-off, survey), each a small machine of its own, or handles it itself
/// (requests, information answers, repeat, reprompts, the end of the call). A booking is only
/// announced once the `booked` event confirms it.
package struct DialogueEngine: Sendable {
    /// Where the conversation stands.
    enum Stage {
        case notStarted
        /// Waiting for a request; `afterAnswer` once something was done ("autre chose ?").
        case main(afterAnswer: Bool)
        /// The keypad topics menu.
        case topics
        /// A yes/no question of the conversation's own.
        case question(Question)
        /// Booking, managing an appointment, a callback, a hand-off or the survey.
        case flow(ActiveFlow)
        case waitingForAssistant
        case ended
    }

    enum Question: Equatable {
        case offerBooking(motif: String)
        case offerHandoff
    }

    private let deployment: Deployment
    private let understander: Understander
    private let reader: ReplyReader
    private var context: DialogueContext

    private(set) var stage: Stage = .notStarted
    /// What the caller is answering, and the prompts that asked it.
    private var expectation: Expectation = .request
    private var question: [Prompt] = []
    /// The last substantive things said (an answer, an offer, a recap), for "répétez".
    private var lastSaid: [Prompt] = []
    /// A poorly heard utterance read back to the caller, acted on if they say yes.
    private var heard: (understanding: Understanding, expectation: Expectation, question: [Prompt])?
    /// The read-back of the pending check, said again on "pardon ?".
    private var lastCheck: [Prompt] = []
    private var misunderstood = 0
    private var silences = 0

    // What happened, for the outcome and the hand-off summary.
    private var intents: [String] = []
    private var requests: [String] = []
    /// The answers the caller heard (intent answers, the knowledge base's), for the agent.
    private var answers: [String] = []
    /// Keys of the prompts that answer a question: the intents' answers and the knowledge base's.
    private let answerKeys: Set<String>
    private var lastSlots: [String: String] = [:]
    /// The last answered topic, to choose a motif without asking.
    private var lastTopic: String?
    private var served = false
    private var callbackScheduled = false
    private var handoffWanted = false
    private var callerSpoke = false
    private var surveyed = false
    /// The last question given to the fallback, redacted: kept with its answer for review.
    private var askedAssistant = ""

    /// A dialogue for call `callID`; `callerNumber` (E.164) is the caller ID when there is one.
    package init(deployment: Deployment, understander: Understander, callID: String, callerNumber: String?) {
        self.deployment = deployment
        self.understander = understander
        reader = ReplyReader(catalog: deployment.intents)
        answerKeys = Set(deployment.intents.intents.compactMap(\.answer)).union([MessageKey.assistantAnswer.rawValue])
        context = DialogueContext(
            deployment: deployment, format: SpokenFormat(messages: deployment.messages), callID: callID,
            callerNumber: callerNumber,
            now: LocalDateTime(date: LocalDate(daysSinceEpoch: 0), time: TimeOfDay(minutes: 0)))
    }

    /// Whether the call is over for the bot (hung up, transferred or said goodbye).
    package var isFinished: Bool {
        if case .ended = stage { return true }
        return false
    }

    private var config: ServiceConfig { deployment.config }

    // MARK: Events

    /// Advances the conversation; `now` is the wall-clock time in the service's zone.
    package mutating func handle(_ event: DialogueEvent, now: LocalDateTime) -> [DialogueAction] {
        context.now = now
        if case .ended = stage { return [] }
        var turn = DialogueTurn(context: context)
        switch event {
        case .started:
            turn.ask(.greeting, ["service": config.service.name], expecting: .request)
            stage = .main(afterAnswer: false)
        case .hangUp:
            end(outcomeOnHangUp, &turn, hangUp: false)
        case .lineLost:
            end(outcomeOnHangUp, &turn, hangUp: false, lineLost: true)
        case .utterance(let text, let confidence):
            callerSpoke = true
            silences = 0
            let understanding = understander.understand(text, today: now.date)
            turn.record(
                .utterance,
                [
                    "text": .string(understanding.redacted), "confidence": .double(confidence),
                    "intent": .string(understanding.intent), "intent_confidence": .double(understanding.confidence),
                ])
            if confidence < config.speech.confirmBelow, needsCheck(understanding) {
                checkHeard(understanding, text: text, &turn)
            } else {
                onSpeech(understanding, &turn)
            }
        case .digits(let digits):
            callerSpoke = true
            silences = 0
            turn.record(.digits, ["digits": .string(digits.count > 2 ? "***" : digits)])
            if heard != nil, digits != "9", let pending = dropCheck() {
                if digits == "1" {
                    onSpeech(pending, &turn)
                    break
                }
                if digits == "2" {
                    turn.say(.speechRephrase)
                    turn.listenAgain(expecting: expectation)
                    break
                }
            }
            if heard != nil, digits == "9" {
                turn.listenAgain(expecting: .yesNo, saying: lastCheck)
                break
            }
            onReply(reader.read(keys: digits, expecting: expectation), understanding: nil, &turn)
        case .silence:
            turn.record(.noInput)
            _ = dropCheck()
            onSilence(&turn)
        case .speechUnavailable:
            turn.record(.speechUnavailable)
            _ = dropCheck()
            turn.say(.speechUnavailable)
            reaskWithKeys(&turn)
        case .slotsFound, .booked, .bookingFailed, .appointmentsFound, .cancelled, .callbackWindowsFound,
            .callbackScheduled, .transferResult, .agentsBusy:
            guard case .flow(var flow) = stage, let step = flow.handle(result: event, &turn) else { break }
            stage = .flow(flow)
            if case .callbackScheduled = event, step == .ended(.served) { callbackScheduled = true }
            after(step, &turn)
        case .assistantReplied(let reply, let milliseconds):
            onAssistant(reply, milliseconds: milliseconds, &turn)
        case .serviceFailed:
            turn.say(.technicalProblem)
            handoff(.technicalProblem, &turn)
        }
        return close(turn)
    }

    /// Ends a step: remembers what was asked and said, and listens when a question is pending.
    private mutating func close(_ turn: DialogueTurn) -> [DialogueAction] {
        var actions = turn.actions
        if let asked = turn.asked {
            if !asked.prompts.isEmpty { question = asked.prompts }
            expectation = asked.expectation
        }
        let substantive = turn.said.filter { !Self.meta.contains(MessageKey(rawValue: $0.key)) }
        if !substantive.isEmpty { lastSaid = substantive }
        for prompt in turn.said where answerKeys.contains(prompt.key) && answers.last != prompt.text {
            answers.append(prompt.text)
        }
        answers = Array(answers.suffix(5))
        if turn.asked != nil, !isFinished, !isWaiting {
            actions.append(
                .listen(
                    ListenSpec(timeoutSeconds: config.dialogue.noInputTimeoutSeconds, maxDigits: expectation.maxDigits))
            )
        }
        return actions
    }

    /// Whether the engine waits for a result rather than for the caller.
    private var isWaiting: Bool {
        switch stage {
        case .waitingForAssistant: true
        case .flow(let flow): flow.isWaiting
        default: false
        }
    }

    /// Messages that are not worth repeating on "répétez": apologies, hints, acknowledgements.
    static let meta: Set<MessageKey> = [
        .noInput, .noMatch, .listening, .repeatUnavailable, .hello, .welcome, .ok, .speechRephrase, .speechUnavailable,
        .speechCheck,
    ]

    // MARK: Caller replies

    private mutating func onSpeech(_ u: Understanding, _ turn: inout DialogueTurn) {
        if !u.slots.isEmpty { lastSlots.merge(Self.slotStrings(u.slots)) { _, new in new } }
        // "le 31 février": said as impossible before the rest of the request is taken.
        if u.slots.impossibleDate { turn.say(.impossibleDate) }
        if heard != nil {
            let reply = reader.read(u, expecting: .yesNo)
            if case .repeatLast = reply {
                // "Pardon ?": the check is asked again, still pending.
                return turn.listenAgain(expecting: .yesNo, saying: lastCheck)
            }
            let pending = dropCheck()!
            switch reply {
            case .yes: return onSpeech(pending, &turn)
            case .no:
                turn.say(.speechRephrase)
                return turn.listenAgain(expecting: expectation)
            default: break  // a new request: taken as it is
            }
        }
        onReply(reader.read(u, expecting: expectation), understanding: u, &turn)
    }

    private mutating func onReply(_ reply: CallerReply, understanding u: Understanding?, _ turn: inout DialogueTurn) {
        switch reply {
        case .agent:
            if isTransferring { return }
            intents.append(
                deployment.intents.intents.first { $0.action == .handoff && $0.answer == nil }?.name ?? "agent")
            if let u { requests.append(u.redacted) }
            return handoff(.callerRequest, &turn)
        case .repeatLast:
            return repeatLast(&turn)
        default:
            break
        }
        switch stage {
        case .main(let afterAnswer):
            onMain(reply, afterAnswer: afterAnswer, typed: u == nil, &turn)
        case .topics:
            switch reply {
            case .request(let request): dispatch(request, &turn)
            case .stop:
                stage = .main(afterAnswer: false)
                askWithMenu(.listening, &turn)
            default: notUnderstood(&turn)
            }
        case .question(let question):
            switch reply {
            case .yes: answer(question, yes: true, preference: u.map { Preference($0.slots) } ?? Preference(), &turn)
            case .when(let preference) where question != .offerHandoff:
                answer(question, yes: true, preference: preference, &turn)
            case .no, .stop: answer(question, yes: false, &turn)
            case .smallTalk(.willCallAgain): leave(sayingFirst: .callAgain, &turn)
            default: topicChangeOrNotUnderstood(reply, &turn)
            }
        case .flow(var flow):
            let step = flow.handle(reply, &turn)
            stage = .flow(flow)
            after(step, reply: reply, &turn)
        case .notStarted, .ended, .waitingForAssistant:
            break  // speech while the bot is busy: the caller will be asked
        }
    }

    /// `typed`: the reply came from the keypad (such a caller is read the menu).
    private mutating func onMain(_ reply: CallerReply, afterAnswer: Bool, typed: Bool, _ turn: inout DialogueTurn) {
        switch reply {
        case .request(let request):
            dispatch(request, &turn)
        case .topicsMenu:
            showTopics(&turn)
        case .smallTalk(.hello):
            turn.ask(.hello, expecting: .request)
            stage = .main(afterAnswer: false)
        case .smallTalk(.thanks), .smallTalk(.acknowledgement):
            if afterAnswer {
                turn.say(reply.isThanks ? .welcome : .ok)
                anythingElse(&turn)
            } else {
                turn.ask(.listening, expecting: .request)
            }
        case .smallTalk(.willCallAgain):
            leave(sayingFirst: .callAgain, &turn)
        case .stop:
            leave(sayingFirst: nil, &turn)
        case .yes:
            misunderstood = 0
            if typed { askWithMenu(.listening, &turn) } else { turn.ask(.listening, expecting: .request) }
            stage = .main(afterAnswer: false)
        case .no where afterAnswer:
            leave(sayingFirst: nil, &turn)
        default:
            notUnderstood(&turn)
        }
    }

    /// A reply that does not answer the current step: a new request changes the subject, anything
    /// else is not understood.
    private mutating func topicChangeOrNotUnderstood(_ reply: CallerReply, _ turn: inout DialogueTurn) {
        if case .request(let request) = reply, !request.isNone,
            let intent = deployment.intents.intent(named: request.name), intent.action != .goodbye
        {
            return dispatch(request, &turn)
        }
        if case .smallTalk(.hello) = reply { return reask(&turn) }
        notUnderstood(&turn)
    }

    /// What the conversation does after a flow's step.
    private mutating func after(_ step: FlowStep, reply: CallerReply? = nil, _ turn: inout DialogueTurn) {
        switch step {
        case .waiting:
            misunderstood = 0
        case .notUnderstood:
            if let reply { topicChangeOrNotUnderstood(reply, &turn) } else { notUnderstood(&turn) }
        case .ended(let finished):
            misunderstood = 0
            switch finished {
            case .served:
                served = true
                anythingElse(&turn)
            case .declined:
                anythingElse(&turn)
            case .nothingFound:
                offerHandoffOrAnythingElse(&turn)
            case .startCallback(let preference):
                startCallback(preference, dictated: nil, &turn)
            case .startBooking(let preference):
                if case .flow(.managing(let flow)) = stage, let appointment = flow.appointment {
                    var booking = BookingFlow(purpose: .move(appointment), motif: appointment.motifID)
                    let step = booking.start(preference, &turn)
                    stage = .flow(.booking(booking))
                    after(step, &turn)
                } else {
                    startBooking(preference, motif: nil, &turn)
                }
            case .failed:
                turn.say(.technicalProblem)
                handoff(.technicalProblem, &turn)
            case .transferred:
                handoffWanted = false
                end(.transferred, &turn, hangUp: false)
            case .leave:
                leave(sayingFirst: nil, &turn)
            case .goodbye:
                turn.say(.goodbye)
                end(servedOutcome, &turn, hangUp: true)
            }
        }
    }

    // MARK: Requests

    private mutating func dispatch(_ request: IntentRequest, _ turn: inout DialogueTurn) {
        misunderstood = 0
        if request.isNone {
            if let u = request.understanding { requests.append(u.redacted) }
            stage = .waitingForAssistant
            askedAssistant = request.understanding?.redacted ?? ""
            turn.request(.ask(askedAssistant))
            return
        }
        guard let intent = deployment.intents.intent(named: request.name) else { return notUnderstood(&turn) }
        intents.append(intent.name)
        if let u = request.understanding { requests.append(u.redacted) }
        let preference = request.preference
        switch intent.action {
        case .answer:
            // "est-ce que je peux venir dimanche pour ma carte d'identité ?": a visit on a day, for
            // a topic received by appointment, is a booking for that day (closed days said so).
            if let motif = intent.offerMotif, preference.date != nil,
                let tokens = request.understanding?.tokens, Understander.mentions(tokens, anyOf: Self.visiting)
            {
                return startBooking(preference, motif: motif, &turn)
            }
            served = true
            lastTopic = intent.name
            turn.say(answerPrompt(intent, request.understanding))
            var offered = intent.offerMotif
            if let second = request.understanding?.also, let other = deployment.intents.intent(named: second) {
                intents.append(other.name)
                turn.say(answerPrompt(other, request.understanding))
                offered = offered ?? other.offerMotif
            }
            if let motif = offered, config.appointments.motifs.contains(where: { $0.id == motif }) {
                stage = .question(.offerBooking(motif: motif))
                turn.ask(.bookingOffer, ["motif": context.motifLabel(motif)], expecting: .offer)
                return
            }
            anythingElse(&turn)
        case .book:
            let motif = request.understanding.flatMap { BookingFlow.motif(in: $0, config.appointments.motifs) }?.id
            startBooking(preference, motif: motif, &turn)
        case .cancel:
            var wish = ManageFlow.Wish.undecided
            if let tokens = request.understanding?.tokens {
                if Understander.mentions(tokens, anyOf: config.appointments.moveKeywords) {
                    wish = .move(preference)
                } else if Understander.mentions(tokens, anyOf: config.appointments.cancelKeywords) {
                    wish = .cancel
                }
            }
            var flow = ManageFlow(wish: wish)
            let step = flow.start(&turn)
            stage = .flow(.managing(flow))
            after(step, &turn)
        case .callback:
            startCallback(preference, dictated: request.understanding?.slots.phone, &turn)
        case .handoff:
            if intent.answer != nil { turn.say(answerPrompt(intent, nil)) }
            handoff(intent.answer == nil ? .callerRequest : .personalCase, &turn)
        case .goodbye:
            leave(sayingFirst: nil, &turn)
        case .repeat:
            repeatLast(&turn)
        }
    }

    /// Words of a caller who means to come in person.
    static let visiting = ["venir", "passer", "me présenter", "être reçu", "déposer"]

    private func answerPrompt(_ intent: IntentDefinition, _ u: Understanding?) -> Prompt {
        let answer = deployment.messages.messages[intent.answer!] ?? ""
        if answer.contains("{opening_hours}"), let date = u?.slots.date,
            Understander.mentions(u?.tokens ?? [], anyOf: intent.keywords)
        {
            return hoursPrompt(on: date)
        }
        return context.prompt(
            MessageKey(rawValue: intent.answer!),
            [
                "opening_hours": context.format.weeklyHours(config.opening.hours),
                "agent_hours": context.format.weeklyHours(config.agents.hours), "address": config.service.address,
                "service": config.service.name, "website": config.service.website ?? "",
            ])
    }

    /// The hours of one day: open, closed with why, or past.
    private func hoursPrompt(on date: LocalDate) -> Prompt {
        if date < context.today { return context.prompt(.hoursPast) }
        let day = Self.capitalized(context.date(date))
        if let closed = context.closedReason(config.opening, on: date) {
            return context.prompt(.hoursDayClosed, ["date": day, "why": context.why(closed)])
        }
        let ranges = config.opening.ranges(on: date)
        let and = " " + deployment.messages.render("format.and") + " "
        let hours = ranges.map {
            deployment.messages.render(
                "format.time_range", ["start": context.format.time($0.start), "end": context.format.time($0.end)])
        }.joined(separator: and)
        return context.prompt(.hoursDayOpen, ["date": day, "hours": hours])
    }

    static func capitalized(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst()
    }

    /// `preference`: a day said with the yes ("oui, jeudi matin").
    private mutating func answer(
        _ question: Question, yes: Bool, preference: Preference = Preference(), _ turn: inout DialogueTurn
    ) {
        switch question {
        case .offerBooking(let motif):
            if yes { return startBooking(preference, motif: motif, &turn) }
            anythingElse(&turn)
        case .offerHandoff:
            if yes { return handoff(.callerAccepted, &turn) }
            anythingElse(&turn)
        }
    }

    private mutating func startBooking(_ preference: Preference, motif: String?, _ turn: inout DialogueTurn) {
        let motifs = config.appointments.motifs
        let chosen = motif ?? lastTopic.flatMap { topic in motifs.first { $0.intents.contains(topic) }?.id }
        var flow = BookingFlow(purpose: .book, motif: chosen)
        let step = flow.start(preference, &turn)
        stage = .flow(.booking(flow))
        after(step, &turn)
    }

    private mutating func startCallback(_ preference: Preference, dictated: String?, _ turn: inout DialogueTurn) {
        var flow = CallbackFlow(dictated: dictated, summary: contextSummary, topic: callbackTopic)
        let step = flow.start(preference, &turn)
        stage = .flow(.callback(flow))
        after(step, &turn)
    }

    private mutating func showTopics(_ turn: inout DialogueTurn) {
        let items = deployment.intents.topics.map {
            context.prompt(.menuItem, ["label": $0.label, "digit": $0.digit]).text
        }
        stage = .topics
        turn.ask(.menuTopics, ["items": items.joined(separator: " ")], expecting: .topics)
    }

    /// The keypad menu, from the digits and labels of `intents.yaml`.
    private func menuPrompts() -> [Prompt] {
        let items = deployment.intents.menu.map {
            context.prompt(.menuItem, ["label": $0.label, "digit": $0.digit]).text
        }
        let intro = context.prompt(.menuIntro)
        return [Prompt(key: "menu", text: ([intro.text] + items).joined(separator: " "))]
    }

    private mutating func askWithMenu(_ key: MessageKey, _ turn: inout DialogueTurn) {
        turn.ask([context.prompt(key)] + menuPrompts(), expecting: .request)
    }

    private mutating func anythingElse(_ turn: inout DialogueTurn) {
        stage = .main(afterAnswer: true)
        turn.ask(.anythingElse, expecting: .anythingElse)
    }

    // MARK: Hand-off

    private mutating func handoff(_ reason: HandoffReason, _ turn: inout DialogueTurn) {
        misunderstood = 0
        // Only a caller who wanted an agent makes an unanswered hand-off (the taux de décroché).
        if [.callerRequest, .callerAccepted, .personalCase].contains(reason) { handoffWanted = true }
        stage = .flow(.handoff(HandoffFlow(makeHandoffContext(reason), &turn)))
    }

    /// Whether the caller waits for an agent.
    private var isTransferring: Bool {
        if case .flow(.handoff(let flow)) = stage { return flow.isWaiting }
        return false
    }

    private mutating func offerHandoffOrAnythingElse(_ turn: inout DialogueTurn) {
        guard context.agentsOpen else { return anythingElse(&turn) }
        stage = .question(.offerHandoff)
        turn.ask(.handoffOffer, expecting: .offer)
    }

    private func makeHandoffContext(_ reason: HandoffReason) -> HandoffContext {
        HandoffContext(
            callID: context.callID, reason: reason.rawValue, intent: intents.last, intents: intents, slots: lastSlots,
            summary: contextSummary, answers: answers)
    }

    /// What the caller wants to be called back about: the last question answered or personal
    /// case raised (not the request for a callback or an agent itself).
    private var callbackTopic: String? { Self.topic(of: intents, in: deployment.intents) }

    /// The last of `intents` that is a question or a personal case.
    static func topic(of intents: [String], in catalog: IntentCatalog) -> String? {
        intents.last { name in
            guard let intent = catalog.intent(named: name) else { return false }
            return intent.action == .answer || (intent.action == .handoff && intent.answer != nil)
        }
    }

    private var contextSummary: String {
        let topics = intents.joined(separator: ", ")
        let said = requests.suffix(5).joined(separator: " / ")
        return [topics, said].filter { !$0.isEmpty }.joined(separator: " — ")
    }

    private static func slotStrings(_ slots: Slots) -> [String: String] {
        var out: [String: String] = [:]
        if let date = slots.date { out["date"] = date.iso }
        if let time = slots.time { out["time"] = time.description }
        if let part = slots.partOfDay { out["part_of_day"] = part.rawValue }
        return out
    }

    // MARK: Generative fallback

    /// What the caller hears while the assistant takes long to answer.
    package var holdingPrompt: Prompt { context.prompt(.assistantHolding) }

    private mutating func onAssistant(_ reply: AssistantReply, milliseconds: Int, _ turn: inout DialogueTurn) {
        guard case .waitingForAssistant = stage else { return }
        // What agents review: the question (redacted), what was said, from which fiches, checked how, how fast.
        var fields: [String: JSONValue] = ["question": .string(askedAssistant), "ms": .int(milliseconds)]
        switch reply {
        case .answer(let answer):
            served = true
            fields["mode"] = .string(answer.mode.rawValue)
            fields["answer"] = .string(answer.text)
            fields["sources"] = .array(answer.sources.map { JSONValue.string($0.file) })
            fields["scores"] = .array(answer.sources.map { JSONValue.double($0.score) })
            if let check = answer.check { fields["check"] = check.passed ? "passed" : "failed" }
            if let rejected = answer.generationRejected { fields["generation_rejected"] = .string(rejected) }
            turn.record(.assistantAnswer, fields)
            turn.say(Prompt(key: MessageKey.assistantAnswer.rawValue, text: answer.text))
            anythingElse(&turn)
        case .refused(let reason):
            fields["mode"] = "refused"
            fields["reason"] = .string(reason)
            turn.record(.assistantAnswer, fields)
            turn.say(.fallbackUnknown)
            offerHandoffOrAnythingElse(&turn)
        case .unavailable, .late:
            fields["mode"] = reply == .late ? "late" : "unavailable"
            turn.record(.assistantAnswer, fields)
            turn.say(reply == .late ? .assistantLate : .fallbackUnknown)
            offerHandoffOrAnythingElse(&turn)
        }
    }

    // MARK: Not understood, silence, repeat

    private mutating func notUnderstood(_ turn: inout DialogueTurn) {
        turn.record(.noMatch)
        misunderstood += 1
        guard misunderstood <= config.dialogue.maxReprompts else { return giveUp(&turn) }
        turn.say(.noMatch)
        reaskWithKeys(&turn)
    }

    private mutating func onSilence(_ turn: inout DialogueTurn) {
        switch stage {
        case .flow(.survey):
            // No score is an answer too: leave politely.
            turn.say(.goodbye)
            return end(servedOutcome, &turn, hangUp: true)
        case .main(afterAnswer: true) where silences >= 1:
            // "Autre chose ?" met twice with silence: the caller is done.
            silences += 1
            return leave(sayingFirst: nil, &turn)
        default:
            break
        }
        silences += 1
        guard silences <= config.dialogue.maxReprompts else {
            turn.say(.noInputGoodbye)
            return end(callerSpoke ? servedOutcome : .noResponse, &turn, hangUp: true)
        }
        turn.say(.noInput)
        reaskWithKeys(&turn)
    }

    /// Asks the pending question again; at the main menu, with the keypad menu read out.
    private mutating func reask(_ turn: inout DialogueTurn) {
        turn.ask(question, expecting: expectation)
    }

    private mutating func reaskWithKeys(_ turn: inout DialogueTurn) {
        switch stage {
        case .main(afterAnswer: false):
            turn.ask(menuPrompts(), expecting: .request)
        case .main(afterAnswer: true):
            turn.ask(question.isEmpty ? [context.prompt(.anythingElse)] : question, expecting: .anythingElse)
        default:
            reask(&turn)
        }
    }

    private mutating func giveUp(_ turn: inout DialogueTurn) {
        misunderstood = 0
        guard context.agentsOpen else {
            turn.say(.giveUpGoodbye, ["agent_hours": context.format.weeklyHours(config.agents.hours)])
            return end(servedOutcome, &turn, hangUp: true)
        }
        turn.say(.giveUp)
        if requests.isEmpty { requests.append("(demande non comprise)") }
        handoff(.notUnderstood, &turn)
    }

    private mutating func repeatLast(_ turn: inout DialogueTurn) {
        guard !lastSaid.isEmpty else {
            turn.ask(.repeatUnavailable, expecting: .request)
            return
        }
        // The last answer or offer, and the question the caller is answering now.
        var prompts = lastSaid
        if let last = question.last, !prompts.contains(last) { prompts += question }
        turn.ask(prompts, expecting: expectation)
    }

    // MARK: Speech

    /// Whether a poorly recognised utterance is worth reading back: it would act on something,
    /// and is not a short yes or no, nor digits that the next step reads back anyway.
    private func needsCheck(_ u: Understanding) -> Bool {
        switch expectation {
        case .digits, .phone, .score: return false
        default: break
        }
        switch stage {
        case .notStarted, .ended, .waitingForAssistant, .flow(.survey): return false
        default: break
        }
        if isWaiting || heard != nil { return false }
        if u.slots.yesNo != nil && u.tokens.count <= 3 { return false }
        return !u.tokens.isEmpty
    }

    /// Drops the pending read-back and returns to the question it interrupted; what was heard.
    private mutating func dropCheck() -> Understanding? {
        guard let pending = heard else { return nil }
        heard = nil
        expectation = pending.expectation
        question = pending.question
        return pending.understanding
    }

    private mutating func checkHeard(_ u: Understanding, text: String, _ turn: inout DialogueTurn) {
        turn.record(.speechCheck)
        let previous = (expectation, question)
        let check = context.prompt(.speechCheck, ["text": FrenchText.spokenQuote(text)])
        turn.say(check)
        turn.listenAgain(expecting: .yesNo)
        lastCheck = [check]
        heard = (u, previous.0, previous.1)
    }

    // MARK: End of call

    /// The caller is done: the survey, then goodbye.
    private mutating func leave(sayingFirst key: MessageKey?, _ turn: inout DialogueTurn) {
        if let key { turn.say(key) }
        misunderstood = 0
        if config.dialogue.surveyEnabled && !surveyed && callerSpoke {
            surveyed = true
            stage = .flow(.survey(SurveyFlow(&turn)))
            return
        }
        turn.say(.goodbye)
        end(servedOutcome, &turn, hangUp: true)
    }

    /// The outcome of a call the bot ends: true to what happened, because the indicators are
    /// computed from it.
    private var servedOutcome: CallOutcome {
        if callbackScheduled { return .callback }
        if handoffWanted { return .handoffUnanswered }
        return served ? .selfService : .unresolved
    }

    private var outcomeOnHangUp: CallOutcome {
        if isTransferring { return .abandonedInQueue }
        switch stage {
        case .flow(.survey): return servedOutcome
        default:
            if !callerSpoke { return .noResponse }
            return served || callbackScheduled || handoffWanted ? servedOutcome : .abandoned
        }
    }

    private mutating func end(
        _ outcome: CallOutcome, _ turn: inout DialogueTurn, hangUp: Bool, lineLost: Bool = false
    ) {
        if hangUp { turn.request(.hangUp) }
        var fields: [String: JSONValue] = [
            "outcome": .string(outcome.rawValue), "intents": .array(intents.map(JSONValue.string)),
        ]
        if lineLost { fields["line_lost"] = .bool(true) }
        turn.record(.callEnded, fields)
        stage = .ended
    }
}

extension CallerReply {
    fileprivate var isThanks: Bool {
        if case .smallTalk(.thanks) = self { return true }
        return false
    }
}
