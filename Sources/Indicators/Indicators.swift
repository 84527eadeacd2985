package import CallbotCore

/// The sums the indicators are computed from, for one period (what the store adds up).
package struct IndicatorCounts: Sendable, Equatable {
    package var callsReceived = 0
    package var callsAnswered = 0
    package var handoffsRequested = 0
    package var handoffsAnswered = 0
    package var handoffsAbandoned = 0
    package var handoffsRefused = 0
    /// The waits of the answered hand-offs, in seconds (for the mean and the 90th percentile).
    package var waits: [Double] = []
    package var selfServiceCalls = 0
    package var callbacksOffered = 0
    package var callbacksScheduled = 0
    package var callbacksMadeInWindow = 0
    package var appointmentsBooked = 0
    package var appointmentsMoved = 0
    package var appointmentsCancelled = 0
    package var satisfactionResponses = 0
    package var satisfactionSum = 0
    package var satisfied = 0
    package var assistantAnswers = 0
    package var assistantRefusals = 0
    package var assistantFollowedByHandoff = 0

    package init() {}

    /// The counts of one call (callbacks made in their window are counted from the callbacks).
    package init(_ facts: CallFacts) {
        callsReceived = 1
        callsAnswered = facts.answered ? 1 : 0
        handoffsRequested = facts.handoffRequested ? 1 : 0
        handoffsAnswered = facts.handoffAnswered ? 1 : 0
        handoffsAbandoned = facts.handoffAbandoned ? 1 : 0
        handoffsRefused = facts.handoffRefused ? 1 : 0
        waits = facts.waitSeconds.map { [$0] } ?? []
        selfServiceCalls = facts.selfService ? 1 : 0
        callbacksOffered = facts.callbackOffered ? 1 : 0
        callbacksScheduled = facts.callbacksScheduled
        appointmentsBooked = facts.appointmentsBooked
        appointmentsMoved = facts.appointmentsMoved
        appointmentsCancelled = facts.appointmentsCancelled
        satisfactionResponses = facts.satisfaction == nil ? 0 : 1
        satisfactionSum = facts.satisfaction ?? 0
        satisfied = (facts.satisfaction ?? 0) >= 4 ? 1 : 0
        assistantAnswers = facts.assistantAnswers
        assistantRefusals = facts.assistantRefusals
        assistantFollowedByHandoff = facts.assistantFollowedByHandoff ? 1 : 0
    }

    package static func + (a: IndicatorCounts, b: IndicatorCounts) -> IndicatorCounts {
        var sum = a
        sum.callsReceived += b.callsReceived
        sum.callsAnswered += b.callsAnswered
        sum.handoffsRequested += b.handoffsRequested
        sum.handoffsAnswered += b.handoffsAnswered
        sum.handoffsAbandoned += b.handoffsAbandoned
        sum.handoffsRefused += b.handoffsRefused
        sum.waits += b.waits
        sum.selfServiceCalls += b.selfServiceCalls
        sum.callbacksOffered += b.callbacksOffered
        sum.callbacksScheduled += b.callbacksScheduled
        sum.callbacksMadeInWindow += b.callbacksMadeInWindow
        sum.appointmentsBooked += b.appointmentsBooked
        sum.appointmentsMoved += b.appointmentsMoved
        sum.appointmentsCancelled += b.appointmentsCancelled
        sum.satisfactionResponses += b.satisfactionResponses
        sum.satisfactionSum += b.satisfactionSum
        sum.satisfied += b.satisfied
        sum.assistantAnswers += b.assistantAnswers
        sum.assistantRefusals += b.assistantRefusals
        sum.assistantFollowedByHandoff += b.assistantFollowedByHandoff
        return sum
    }
}

/// The telephone-plan indicators of a period: the counts and the rates (0…1, nil where there is
/// nothing to divide).
package struct Indicators: Sendable, Equatable {
    package var counts: IndicatorCounts

    package init(_ counts: IndicatorCounts) { self.counts = counts }

    /// The share of calls received that were answered.
    package var answerRate: Double? { Self.rate(counts.callsAnswered, counts.callsReceived) }
    /// Hand-offs answered by an agent over hand-offs requested (target 85 %).
    package var tauxDeDecroche: Double? { Self.rate(counts.handoffsAnswered, counts.handoffsRequested) }
    package var waitMean: Double? {
        counts.waits.isEmpty ? nil : Self.rounded(counts.waits.reduce(0, +) / Double(counts.waits.count))
    }
    /// The nearest-rank 90th percentile of the waits.
    package var waitP90: Double? {
        guard !counts.waits.isEmpty else { return nil }
        let sorted = counts.waits.sorted()
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))
        return Self.rounded(sorted[max(rank, 1) - 1])
    }
    /// Calls settled by the bot alone over calls answered.
    package var selfServiceRate: Double? { Self.rate(counts.selfServiceCalls, counts.callsAnswered) }
    package var satisfactionMean: Double? {
        counts.satisfactionResponses == 0
            ? nil : Self.rounded(Double(counts.satisfactionSum) / Double(counts.satisfactionResponses))
    }
    /// Scores of 4 or 5 over scores given.
    package var satisfactionShare45: Double? { Self.rate(counts.satisfied, counts.satisfactionResponses) }
    /// Callers who gave a score over calls answered.
    package var satisfactionResponseRate: Double? { Self.rate(counts.satisfactionResponses, counts.callsAnswered) }

    static func rate(_ part: Int, _ whole: Int) -> Double? {
        whole == 0 ? nil : rounded(Double(part) / Double(whole))
    }

    static func rounded(_ value: Double) -> Double { (value * 10000).rounded() / 10000 }

    /// The indicators by their JSON names (DESIGN.md), in the documented order; nil is null.
    package var fields: [(name: String, value: Double?)] {
        let c = counts
        let count = { (value: Int) -> Double? in Double(value) }
        return [
            ("calls_received", count(c.callsReceived)), ("calls_answered", count(c.callsAnswered)),
            ("answer_rate", answerRate), ("handoffs_requested", count(c.handoffsRequested)),
            ("handoffs_answered", count(c.handoffsAnswered)), ("handoffs_abandoned", count(c.handoffsAbandoned)),
            ("handoffs_refused", count(c.handoffsRefused)), ("taux_de_decroche", tauxDeDecroche),
            ("wait_mean_seconds", waitMean), ("wait_p90_seconds", waitP90),
            ("self_service_calls", count(c.selfServiceCalls)), ("self_service_rate", selfServiceRate),
            ("callbacks_offered", count(c.callbacksOffered)), ("callbacks_scheduled", count(c.callbacksScheduled)),
            ("callbacks_made_in_window", count(c.callbacksMadeInWindow)),
            ("appointments_booked", count(c.appointmentsBooked)), ("appointments_moved", count(c.appointmentsMoved)),
            ("appointments_cancelled", count(c.appointmentsCancelled)),
            ("satisfaction_responses", count(c.satisfactionResponses)), ("satisfaction_mean", satisfactionMean),
            ("satisfaction_share_4_5", satisfactionShare45), ("satisfaction_response_rate", satisfactionResponseRate),
            ("assistant_answers", count(c.assistantAnswers)), ("assistant_refusals", count(c.assistantRefusals)),
            ("assistant_followed_by_handoff", count(c.assistantFollowedByHandoff)),
        ]
    }

    /// Which fields are counts (printed without decimals).
    package static let countFields: Set<String> = [
        "calls_received", "calls_answered", "handoffs_requested", "handoffs_answered", "handoffs_abandoned",
        "handoffs_refused", "self_service_calls", "callbacks_offered", "callbacks_scheduled",
        "callbacks_made_in_window", "appointments_booked", "appointments_moved", "appointments_cancelled",
        "satisfaction_responses", "assistant_answers", "assistant_refusals", "assistant_followed_by_handoff",
    ]

    /// The target of the telephone plan for `taux_de_decroche`.
    package static let tauxDeDecrocheTarget = 0.85
}

/// How a report's periods are cut.
package enum ReportPeriod: String, Sendable, CaseIterable {
    case day, week, month

    /// The first day of the period holding `date` (weeks start on Monday).
    package func start(of date: LocalDate) -> LocalDate {
        switch self {
        case .day: date
        case .week: date.adding(days: -(date.weekday.rawValue - 1))
        case .month: LocalDate(year: date.year, month: date.month, day: 1) ?? date
        }
    }

    /// The last day of the period starting on `start`.
    package func end(from start: LocalDate) -> LocalDate {
        switch self {
        case .day: start
        case .week: start.adding(days: 6)
        case .month: start.adding(days: LocalDate.daysIn(month: start.month, year: start.year) - 1)
        }
    }
}

/// The indicators from one day to another: totals, periods, and per intent.
package struct IndicatorReport: Sendable, Equatable {
    package struct Period: Sendable, Equatable {
        package var start: LocalDate
        package var end: LocalDate
        package var indicators: Indicators
    }

    package struct IntentFigures: Sendable, Equatable {
        package var calls: Int
        package var selfServiceCalls: Int

        package init(calls: Int, selfServiceCalls: Int) {
            self.calls = calls
            self.selfServiceCalls = selfServiceCalls
        }

        package var selfServiceRate: Double? { Indicators.rate(selfServiceCalls, calls) }
    }

    package var from: LocalDate
    package var to: LocalDate
    package var totals: Indicators
    package var periods: [Period]
    package var perIntent: [String: IntentFigures]

    /// The report from counts by period start (periods without calls are listed, with zeros).
    package init(
        from: LocalDate, to: LocalDate, by period: ReportPeriod, counts: [LocalDate: IndicatorCounts],
        perIntent: [String: IntentFigures]
    ) {
        self.from = from
        self.to = to
        var periods: [Period] = []
        var start = period.start(of: from)
        var total = IndicatorCounts()
        while start <= to {
            let end = period.end(from: start)
            let counted = counts[start] ?? IndicatorCounts()
            total = total + counted
            periods.append(Period(start: max(start, from), end: min(end, to), indicators: Indicators(counted)))
            start = end.adding(days: 1)
        }
        self.periods = periods
        totals = Indicators(total)
        self.perIntent = perIntent
    }
}
