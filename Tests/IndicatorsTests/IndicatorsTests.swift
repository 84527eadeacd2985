import CallbotCore
import Indicators
import Storage
import Testing

/// What each call counts for, and the report the store adds up in SQL, against hand counts.
@Suite struct IndicatorsTests {
    static func at(_ iso: String) -> LocalDateTime { LocalDateTime(iso: iso)! }

    /// A call with `events` (kind and fields) at `start`, ended with `outcome`.
    static func call(
        _ id: String, _ start: String, _ outcome: CallOutcome, _ events: [(EventKind, [String: JSONValue])],
        score: Int? = nil, intents: [String] = []
    ) -> CallRecord {
        var record = CallRecord(id: id, channel: "sip", startedAt: at(start), callerHash: nil)
        for (kind, fields) in events { record.append(CallEvent(kind: kind, at: at(start), fields: fields)) }
        if let score { record.append(CallEvent(kind: .survey, at: at(start), fields: ["score": .int(score)])) }
        record.append(
            CallEvent(
                kind: .callEnded, at: at(start),
                fields: ["outcome": .string(outcome.rawValue), "intents": .array(intents.map(JSONValue.string))]))
        return record
    }

    static let requested: (EventKind, [String: JSONValue]) = (.handoff, ["status": "requested"])

    @Test func aHandoffRequestedTwiceInOneCallIsOneHandoffAnsweredWithTheAnsweredWait() {
        let facts = CallFacts(
            Self.call(
                "a", "2026-11-23T10:00:00+01:00", .transferred,
                [
                    Self.requested, (.transferResult, ["result": "busy", "wait_seconds": .double(20)]),
                    Self.requested, (.transferResult, ["result": "answered", "wait_seconds": .double(35.5)]),
                ]))
        #expect(facts.handoffRequested && facts.handoffAnswered && !facts.handoffRefused && !facts.handoffAbandoned)
        #expect(facts.waitSeconds == 35.5)
        #expect(IndicatorCounts(facts).handoffsRequested == 1)
    }

    @Test func waitingCallersWhoHangUpAreAbandonedAndUnansweredOnesRefused() {
        let abandoned = CallFacts(Self.call("b", "2026-11-23T10:00:00+01:00", .abandonedInQueue, [Self.requested]))
        #expect(abandoned.handoffAbandoned && !abandoned.handoffRefused && abandoned.waitSeconds == nil)
        // Busy, then the caller hung up while hearing the alternatives: refused, not abandoned in the queue.
        let busy = CallFacts(
            Self.call(
                "c", "2026-11-23T10:00:00+01:00", .abandoned, [Self.requested, (.transferResult, ["result": "busy"])]))
        #expect(busy.handoffRefused && !busy.handoffAbandoned)
        // Agents closed: a hand-off requested and refused.
        let closed = CallFacts(
            Self.call("d", "2026-11-23T19:00:00+01:00", .callback, [(.handoff, ["status": "unavailable"])]))
        #expect(closed.handoffRequested && closed.handoffRefused)
        // Transferred, then the caller hung up on the agent: answered all the same.
        let transferred = CallFacts(
            Self.call(
                "e", "2026-11-23T10:00:00+01:00", .transferred,
                [Self.requested, (.transferResult, ["result": "answered"])]))
        #expect(transferred.handoffAnswered && !transferred.handoffAbandoned)
    }

    @Test func aCallTheBotHandsOverItselfIsPresentedToTheAgents() {
        let facts = CallFacts(
            Self.call(
                "l", "2026-11-23T10:00:00+01:00", .transferred,
                [
                    (.handoff, ["status": "requested", "reason": "not_understood"]),
                    (.transferResult, ["result": "answered"]),
                ]
            ))
        #expect(facts.handoffRequested && facts.handoffAnswered)
    }

    @Test func aCallCountsOnTheLocalDayItStartedDaylightSavingDaysIncluded() {
        #expect(CallFacts(Self.call("f", "2026-11-23T23:58:00+01:00", .selfService, [])).day.iso == "2026-11-23")
        // The night clocks went back (25 October 2026): the day is the local one.
        #expect(CallFacts(Self.call("g", "2026-10-25T02:30:00+01:00", .selfService, [])).day.iso == "2026-10-25")
        #expect(CallFacts(Self.call("h", "2026-03-29T00:10:00+01:00", .selfService, [])).day.iso == "2026-03-29")
    }

    @Test func theFallbackSurveyAndSelfServiceAreCountedOncePerCall() {
        let facts = CallFacts(
            Self.call(
                "i", "2026-11-23T10:00:00+01:00", .handoffUnanswered,
                [
                    (.assistantAnswer, ["mode": "extractive"]), (.assistantAnswer, ["mode": "refused"]),
                    (.handoff, ["status": "unavailable"]),
                ], score: 4, intents: ["horaires", "horaires"]))
        #expect(facts.assistantAnswers == 1 && facts.assistantRefusals == 1 && facts.assistantFollowedByHandoff)
        #expect(facts.satisfaction == 4 && !facts.selfService && facts.intents == ["horaires"])
        #expect(CallFacts(Self.call("j", "2026-11-23T10:00:00+01:00", .selfService, [], score: 9)).satisfaction == nil)
    }

    @Test func weeksStartOnMondayAndMonthsOnTheFirst() {
        let thursday = LocalDate(iso: "2026-11-26")!
        #expect(ReportPeriod.week.start(of: thursday).iso == "2026-11-23")
        #expect(ReportPeriod.week.start(of: LocalDate(iso: "2026-11-29")!).iso == "2026-11-23")
        #expect(ReportPeriod.month.start(of: thursday).iso == "2026-11-01")
        #expect(ReportPeriod.month.end(from: LocalDate(iso: "2026-02-01")!).iso == "2026-02-28")
    }

    @Test(arguments: ReportPeriod.allCases)
    func theStoresReportEqualsTheCallsCountedOneByOne(_ period: ReportPeriod) async throws {
        let first = LocalDate(iso: "2026-10-19")!
        let last = LocalDate(iso: "2026-11-13")!
        let calls = Array(SyntheticCalls(from: first, to: last, callsPerDay: 40, seed: 7))
        let store = try SQLiteStore()
        try await store.save(all: calls)
        // Hand counts: each call's facts, added up per period in Swift.
        var expected: [LocalDate: IndicatorCounts] = [:]
        var intents: [String: (calls: Int, selfService: Int)] = [:]
        for call in calls {
            let facts = CallFacts(call)
            expected[period.start(of: facts.day), default: IndicatorCounts()] =
                expected[period.start(of: facts.day), default: IndicatorCounts()] + IndicatorCounts(facts)
            for intent in facts.intents {
                intents[intent, default: (0, 0)].calls += 1
                intents[intent, default: (0, 0)].selfService += facts.selfService ? 1 : 0
            }
        }
        let report = try await store.indicators(from: first, to: last, by: period)
        #expect(report.totals.counts.callsReceived == calls.count)
        for reported in report.periods {
            var hand = expected[period.start(of: reported.start)] ?? IndicatorCounts()
            var got = reported.indicators.counts
            hand.waits.sort()
            got.waits.sort()
            #expect(got == hand, "\(reported.start.iso)")
        }
        for (intent, figures) in report.perIntent {
            #expect(figures.calls == intents[intent]?.calls && figures.selfServiceCalls == intents[intent]?.selfService)
        }
        #expect(report.totals.tauxDeDecroche != nil && report.totals.waitP90! >= report.totals.waitMean!)
    }

    @Test func aCallSavedAgainReplacesItsCountsInsteadOfAddingThem() async throws {
        let store = try SQLiteStore()
        let first = Self.call(
            "k", "2026-11-23T10:00:00+01:00", .abandonedInQueue, [Self.requested], intents: ["conseiller"])
        try await store.save(first)
        let second = Self.call(
            "k", "2026-11-23T10:00:00+01:00", .transferred,
            [Self.requested, (.transferResult, ["result": "answered", "wait_seconds": .double(12)])], score: 5,
            intents: ["conseiller", "horaires"])
        try await store.save(second)
        let day = LocalDate(iso: "2026-11-23")!
        let report = try await store.indicators(from: day, to: day, by: .day)
        let counts = report.totals.counts
        #expect(counts.callsReceived == 1 && counts.handoffsAnswered == 1 && counts.handoffsAbandoned == 0)
        #expect(counts.waits == [12] && counts.satisfactionResponses == 1)
        #expect(report.perIntent["conseiller"]?.calls == 1 && report.perIntent["horaires"]?.calls == 1)
    }

    @Test func aCallbackMadeInItsWindowCountsOnTheWindowsDay() async throws {
        let store = try SQLiteStore()
        let window = CallbackWindow(
            date: LocalDate(iso: "2026-11-24")!,
            range: TimeRange(start: TimeOfDay(minutes: 600), end: TimeOfDay(minutes: 720)))
        for (id, made) in [("in", "2026-11-24T10:30:00+01:00"), ("late", "2026-11-24T12:45:00+01:00")] {
            _ = try await store.insertCallback(
                Callback(
                    id: id, window: window, phone: "+33612345678", status: .pending, attempts: 0, callID: nil,
                    context: ""),
                capacity: 5)
            #expect(try await store.markCallback(id: id, status: .done, at: Self.at(made)))
        }
        let report = try await store.indicators(
            from: LocalDate(iso: "2026-11-23")!, to: LocalDate(iso: "2026-11-29")!, by: .day)
        #expect(report.totals.counts.callbacksMadeInWindow == 1)
        #expect(report.periods[1].indicators.counts.callbacksMadeInWindow == 1)
    }
}
