/// Scheduling a callback: a window near what the caller wants (the next one on "non" or key 2),
/// the number to call (caller ID, or one dictated and read back), then the booking of the window.
struct CallbackFlow {
    enum State {
        case searching(Preference)
        case offering([CallbackWindow], index: Int)
        case confirmingCallerID(CallbackWindow)
        case askingNumber(CallbackWindow)
        case readingBack(CallbackWindow, phone: String)
        case scheduling
    }

    private(set) var state: State
    /// A number the caller dictated before being asked (read back before it is used).
    private var dictated: String?
    private var offered = false
    /// What the caller asked, for the agent who calls back.
    private let summary: String
    /// The intent it is about, for the call back's greeting.
    private let topic: String?

    init(dictated: String?, summary: String, topic: String?) {
        self.dictated = dictated
        self.summary = summary
        self.topic = topic
        state = .searching(Preference())
    }

    mutating func start(_ preference: Preference, _ turn: inout DialogueTurn) -> FlowStep {
        search(preference, &turn)
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        if case .stop = reply {
            turn.say(.callbackAbandoned)
            return .ended(.declined)
        }
        switch state {
        case .offering(let windows, let index):
            let window = windows[index]
            switch reply {
            case .yes, .option(1): return confirmNumber(window, &turn)
            case .no, .more, .option(2):
                guard index + 1 < windows.count else {
                    turn.say(.callbackNoMore)
                    return .ended(.nothingFound)
                }
                return offer(windows, index: index + 1, &turn)
            case .when(let preference): return search(preference, &turn)
            case .request(let request) where !request.preference.isEmpty: return search(request.preference, &turn)
            case .phone(let phone):
                dictated = phone
                return confirmNumber(window, &turn)
            default: return .notUnderstood
            }
        case .confirmingCallerID(let window):
            switch reply {
            case .yes, .option(1):
                guard let number = turn.context.callerNumber else { return askNumber(window, &turn) }
                return schedule(window, phone: number, &turn)
            case .phone(let phone): return readBack(window, phone: phone, &turn)
            case .no, .option(2): return askNumber(window, &turn)
            default: return .notUnderstood
            }
        case .askingNumber(let window):
            switch reply {
            case .phone(let phone): return readBack(window, phone: phone, &turn)
            case .digits:
                turn.say(.callbackInvalidNumber)
                return askNumber(window, &turn)
            case .dontHave, .no:
                turn.say(.callbackAbandoned)
                return .ended(.declined)
            default: return .notUnderstood
            }
        case .readingBack(let window, let phone):
            switch reply {
            case .yes: return schedule(window, phone: phone, &turn)
            case .phone(let other): return readBack(window, phone: other, &turn)
            case .no: return askNumber(window, &turn)
            default: return .notUnderstood
            }
        case .searching, .scheduling:
            return .waiting
        }
    }

    /// Whether it waits for storage rather than for the caller.
    var isWaiting: Bool {
        switch state {
        case .searching, .scheduling: true
        default: false
        }
    }

    /// The result of a request it made; nil for a result that is not this flow's.
    mutating func handle(result: DialogueEvent, _ turn: inout DialogueTurn) -> FlowStep? {
        switch result {
        case .callbackWindowsFound(let windows): windowsFound(windows, &turn)
        case .callbackScheduled(let callback): scheduled(callback, &turn)
        default: nil
        }
    }

    private mutating func windowsFound(_ windows: [CallbackWindow], _ turn: inout DialogueTurn) -> FlowStep {
        let preference: Preference
        switch state {
        case .searching(let wanted): preference = wanted
        case .scheduling: preference = Preference()  // the chosen window filled up meanwhile
        default: return .waiting
        }
        guard let first = windows.first else {
            turn.say(.callbackFull)
            return .ended(.nothingFound)
        }
        if !preference.isEmpty, !Self.window(first, matches: preference) {
            // The day the caller asked for is said back, so that a misheard day is noticed.
            if let date = preference.date, first.date != date {
                if turn.context.closedReason(turn.context.config.agentCalendar, on: date) != nil {
                    turn.say(.callbackClosedDay, ["date": turn.context.date(date)])
                } else {
                    turn.say(.callbackNothingThatDay, ["date": turn.context.date(date)])
                }
            } else {
                turn.say(.callbackNoWindow)
            }
        }
        if !offered {
            offered = true
            turn.record(.callbackOffered)
        }
        return offer(windows, index: 0, &turn)
    }

    private mutating func scheduled(_ callback: Callback, _ turn: inout DialogueTurn) -> FlowStep {
        guard case .scheduling = state else { return .waiting }
        let offset = turn.now.utcOffset
        turn.record(
            .callbackScheduled,
            [
                "id": .string(callback.id),
                "window_start": .string(
                    LocalDateTime(date: callback.window.date, time: callback.window.range.start, utcOffset: offset).iso),
                "window_end": .string(
                    LocalDateTime(date: callback.window.date, time: callback.window.range.end, utcOffset: offset).iso),
                "date": .string(callback.window.date.iso), "window": .string(callback.window.range.description),
            ])
        turn.say(.callbackScheduled, ["window": turn.context.format.window(callback.window, today: turn.context.today)])
        return .ended(.served)
    }

    // MARK: Steps

    private mutating func search(_ preference: Preference, _ turn: inout DialogueTurn) -> FlowStep {
        state = .searching(preference)
        turn.request(.findCallbackWindows(preference))
        return .waiting
    }

    private mutating func offer(_ windows: [CallbackWindow], index: Int, _ turn: inout DialogueTurn) -> FlowStep {
        state = .offering(windows, index: index)
        turn.ask(
            .callbackOfferWindow, ["window": turn.context.format.window(windows[index], today: turn.context.today)],
            expecting: .yesNo)
        return .waiting
    }

    private mutating func confirmNumber(_ window: CallbackWindow, _ turn: inout DialogueTurn) -> FlowStep {
        if let dictated {
            self.dictated = nil
            return readBack(window, phone: dictated, &turn)
        }
        if let number = turn.context.callerNumber, number.hasPrefix("+33"), number.count == 12 {
            let end = SpokenFormat.phonePairs(number).split(separator: " ").suffix(2).joined(separator: " ")
            state = .confirmingCallerID(window)
            turn.ask(.callbackConfirmCallerID, ["phone_end": end], expecting: .yesNo)
            return .waiting
        }
        return askNumber(window, &turn)
    }

    private mutating func askNumber(_ window: CallbackWindow, _ turn: inout DialogueTurn) -> FlowStep {
        state = .askingNumber(window)
        turn.ask(.callbackAskNumber, expecting: .phone)
        return .waiting
    }

    private mutating func readBack(_ window: CallbackWindow, phone: String, _ turn: inout DialogueTurn) -> FlowStep {
        state = .readingBack(window, phone: phone)
        turn.ask(.callbackReadBack, ["phone": SpokenFormat.phonePairs(phone)], expecting: .yesNo)
        return .waiting
    }

    private mutating func schedule(_ window: CallbackWindow, phone: String, _ turn: inout DialogueTurn) -> FlowStep {
        state = .scheduling
        turn.request(.scheduleCallback(CallbackRequest(window: window, phone: phone, context: summary, topic: topic)))
        return .waiting
    }

    static func window(_ window: CallbackWindow, matches preference: Preference) -> Bool {
        if let date = preference.date, window.date != date { return false }
        if let time = preference.time, !window.range.contains(time) { return false }
        if let part = preference.partOfDay {
            let noon = 12 * 60
            switch part {
            case .morning: return window.range.start.minutes < noon
            case .afternoon, .evening: return window.range.end.minutes > noon
            }
        }
        return true
    }
}
