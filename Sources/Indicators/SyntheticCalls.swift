package import CallbotCore

/// Realistic call records for benchmarks and tests, from a seed: a town hall's week (busy
/// Monday mornings, quiet afternoons, closed weekends), its mix of outcomes (about half settled
/// by the bot, a fifth handed to agents, some callbacks and appointments), surveys answered by a
/// third of callers, and a few knowledge-base answers.
package struct SyntheticCalls: Sequence, IteratorProtocol {
    private var random: SplitMix
    private var day: LocalDate
    private let lastDay: LocalDate
    private let callsPerDay: Int
    private var left = 0
    private var number = 0

    /// Calls from `first` to `last` (weekdays), `callsPerDay` on an average weekday.
    package init(from first: LocalDate, to last: LocalDate, callsPerDay: Int, seed: UInt64) {
        random = SplitMix(seed: seed)
        day = first.adding(days: -1)
        lastDay = last
        self.callsPerDay = callsPerDay
    }

    package mutating func next() -> CallRecord? {
        while left == 0 {
            day = day.adding(days: 1)
            guard day <= lastDay else { return nil }
            let weight: Double =
                switch day.weekday {
                case .monday: 1.4
                case .tuesday, .thursday: 1.0
                case .wednesday: 0.9
                case .friday: 0.8
                case .saturday, .sunday: 0
                }
            left = Int((Double(callsPerDay) * weight * (0.85 + 0.3 * random.unit())).rounded())
        }
        left -= 1
        number += 1
        return call()
    }

    private static let intents = [
        "horaires", "horaires", "horaires", "carte_identite", "carte_identite", "passeport", "acte_etat_civil",
        "inscription_scolaire", "adresse", "etat_demande", "conseiller", "prise_rdv", "prise_rdv", "rappel",
    ]

    private mutating func call() -> CallRecord {
        // Mornings are busier.
        let minute = random.unit() < 0.7 ? 510 + random.below(210) : 810 + random.below(240)
        let start = LocalDateTime(
            date: day, time: TimeOfDay(minutes: minute), utcOffset: Self.parisOffset(day))
        var record = CallRecord(
            id: "s-\(day.iso)-\(number)", channel: "sip", startedAt: start, callerHash: "h\(random.below(50_000))")
        var at = start
        func event(_ kind: EventKind, _ fields: [String: JSONValue] = [:], after seconds: Int = 20) {
            at = at.adding(minutes: Swift.max(seconds / 60, 0))
            record.append(CallEvent(kind: kind, at: at, fields: fields))
        }
        let intent = Self.intents[random.below(Self.intents.count)]
        var intents = [intent]
        event(.say, ["key": "greeting"], after: 0)
        event(.utterance, ["confidence": .double(0.8)])
        let roll = random.unit()
        let outcome: CallOutcome
        if roll < 0.50 {
            outcome = .selfService
            if intent == "prise_rdv" || random.unit() < 0.1 {
                event(.appointmentBooked, ["reference": .string("R\(number)")])
                if random.unit() < 0.05 { event(.appointmentMoved) }
            }
            if random.unit() < 0.03 { event(.appointmentCancelled) }
            if random.unit() < 0.06 {
                event(.assistantAnswer, ["mode": "extractive"])
            }
        } else if roll < 0.72 {
            intents.append("conseiller")
            event(.handoff, ["status": "requested", "reason": "caller_request"])
            let transfer = random.unit()
            if transfer < 0.80 {
                let wait = 5 + random.unit() * 90 + (random.unit() < 0.1 ? 120 : 0)
                event(.transferResult, ["result": "answered", "wait_seconds": .double((wait * 10).rounded() / 10)])
                outcome = .transferred
            } else if transfer < 0.90 {
                outcome = .abandonedInQueue
            } else {
                event(.transferResult, ["result": "busy"])
                event(.callbackOffered)
                if random.unit() < 0.6 {
                    event(.callbackScheduled, ["window": "10:00-12:00"])
                    outcome = .callback
                } else {
                    outcome = .handoffUnanswered
                }
            }
        } else if roll < 0.80 {
            event(.callbackOffered)
            event(.callbackScheduled, ["window": "14:00-16:00"])
            outcome = .callback
        } else if roll < 0.86 {
            event(.assistantAnswer, ["mode": random.unit() < 0.7 ? "refused" : "extractive"])
            if random.unit() < 0.5 {
                event(.handoff, ["status": "unavailable", "reason": "caller_accepted"])
                outcome = .handoffUnanswered
            } else {
                outcome = .unresolved
            }
        } else if roll < 0.95 {
            outcome = .abandoned
        } else {
            outcome = .noResponse
        }
        if outcome != .abandoned && outcome != .noResponse && outcome != .abandonedInQueue && random.unit() < 0.35 {
            let score = [5, 5, 5, 4, 4, 4, 3, 2, 1][random.below(9)]
            event(.survey, ["score": .int(score)])
        }
        event(
            .callEnded, ["outcome": .string(outcome.rawValue), "intents": .array(intents.map(JSONValue.string))])
        return record
    }

    /// Paris's offset on `day`: +2 h from the last Sunday of March to the last Sunday of October.
    static func parisOffset(_ day: LocalDate) -> Int {
        func lastSunday(_ month: Int) -> LocalDate {
            let end = LocalDate(year: day.year, month: month, day: 31)!
            return end.adding(days: -(end.weekday.rawValue % 7))
        }
        return day >= lastSunday(3) && day < lastSunday(10) ? 7200 : 3600
    }
}

/// A small, fast, seeded generator (SplitMix64): the same seed gives the same calls.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// In 0..<1.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
