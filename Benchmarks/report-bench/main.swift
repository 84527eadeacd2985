// The report over a year of a busy service: `scripts/bench-report.sh` (release build).
// Fills a SQLite database with synthetic calls (Indicators.SyntheticCalls, seeded) if it has
// none, then times `indicators(from:to:by:)` for the whole year by day, week and month.
import CallbotCore
import Foundation
import Indicators
import Storage

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "var/bench-report.sqlite"
let perDay = arguments.count > 2 ? Int(arguments[2]) ?? 1900 : 1900
let first = LocalDate(iso: "2025-12-01")!
let last = LocalDate(iso: "2026-11-30")!

let store = try SQLiteStore(path: path)
let clock = ContinuousClock()
if try await store.records(limit: 1).isEmpty {
    let started = clock.now
    var batch: [CallRecord] = []
    var total = 0
    for record in SyntheticCalls(from: first, to: last, callsPerDay: perDay, seed: 2026) {
        batch.append(record)
        if batch.count == 10_000 {
            try await store.save(all: batch)
            total += batch.count
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await store.save(all: batch)
    total += batch.count
    print("report-bench: \(total) synthetic calls written in \(clock.now - started)")
}
for period in ReportPeriod.allCases {
    var best = Duration.seconds(1000)
    var report: IndicatorReport?
    for _ in 0..<3 {
        let started = clock.now
        report = try await store.indicators(from: first, to: last, by: period)
        best = min(best, clock.now - started)
    }
    let totals = report!.totals
    print(
        "report by \(period.rawValue): \(report!.periods.count) periods, \(totals.counts.callsReceived) calls, "
            + "taux de décroché \(totals.tauxDeDecroche ?? 0), best of 3: \(best)")
}
