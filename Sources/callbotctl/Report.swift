import ArgumentParser
import CallbotCore
import Foundation
import Indicators
import Storage

/// `callbotctl report`: the telephone-plan indicators of a period (docs/indicators.md).
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The telephone-plan indicators from the call log, per day, week or month.",
        discussion: """
            Every definition is in docs/indicators.md. Calls count on the local day they started. \
            JSON carries the DESIGN.md keys (rates in 0…1, null where nothing to divide); CSV has \
            one row per period with French column names, for publication; text is a table.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv, text }

    @Option(name: .long, help: "First day (YYYY-MM-DD).") var from: String
    @Option(name: .long, help: "Last day (YYYY-MM-DD), included.") var to: String
    @Option(name: .long, help: "json, csv or text.") var format: Format = .text
    @Option(name: .long, help: "Periods: day, week or month.") var by: ReportPeriodArgument = .init(.day)
    @Flag(name: .long, help: "Add the calls and self-service rate per intent (CSV and text; JSON always has them).")
    var intent = false
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        let first = try DayRange.parse(from)
        let last = try DayRange.parse(to)
        guard first <= last else { throw ValidationError("--from \(from) is after --to \(to)") }
        guard last.daysSinceEpoch - first.daysSinceEpoch <= 3660 else {
            throw ValidationError("a report covers ten years at most")
        }
    }

    func run() async throws {
        let store = try database.open(try deployment.load())
        let report = try await store.indicators(
            from: try DayRange.parse(from), to: try DayRange.parse(to), by: by.period)
        switch format {
        case .json: printJSON(ReportJSON(report), pretty: true)
        case .csv: print(ReportCSV.render(report, perIntent: intent), terminator: "")
        case .text: print(ReportText.render(report, perIntent: intent))
        }
    }
}

struct ReportPeriodArgument: ExpressibleByArgument {
    let period: ReportPeriod
    init(_ period: ReportPeriod) { self.period = period }
    init?(argument: String) {
        guard let period = ReportPeriod(rawValue: argument) else { return nil }
        self.period = period
    }
    static var allValueStrings: [String] { ReportPeriod.allCases.map(\.rawValue) }
    var defaultValueDescription: String { period.rawValue }
}
