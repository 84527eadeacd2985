import ArgumentParser
import CallbotCore
import Foundation
import Storage

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call records.", subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest calls, newest first.")
        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions
        @Option(name: .long, help: "How many calls.") var limit = 50
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let records = try await database.open(try deployment.load()).records(limit: limit)
            if json {
                printJSON(records.map { CallRecordReport(record: $0, withEvents: false) }, pretty: true)
            } else {
                for r in records {
                    print(
                        [
                            r.id, r.startedAt.iso, r.outcome ?? "-", r.intents.joined(separator: ","),
                            r.surveyScore.map { "survey \($0)" } ?? "",
                        ].joined(separator: "  "))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One call with its events.")
        @Argument(help: "The call id.") var id: String?
        @Flag(name: .long, help: "The latest call.") var last = false
        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func validate() throws {
            guard (id != nil) != last else { throw ValidationError("give a call id or --last") }
        }

        func run() async throws {
            let store = try database.open(try deployment.load())
            let found = try await last ? store.lastRecord() : store.record(id: id!)
            guard let record = found else { throw Failure(last ? "no call recorded yet" : "no call \(id!)") }
            if json {
                printJSON(CallRecordReport(record: record, withEvents: true), pretty: true)
            } else {
                print(
                    "call \(record.id) (\(record.channel)) \(record.startedAt.iso) → \(record.endedAt?.iso ?? "-"): \(record.outcome ?? "-")"
                )
                for event in record.events {
                    let fields = event.fields.isEmpty ? "" : " " + jsonText(event.fields)
                    print("  \(event.at.time) \(event.type)\(fields)")
                }
            }
        }
    }
}

struct Appointments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Appointments.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Appointments, soonest first.")
        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var days: DayRange
        @Flag(name: .long, help: "Print JSON.") var json = false
        @Flag(name: .long, help: "Show the number to call (for agents; never in logs).") var phone = false

        func run() async throws {
            let list = try await database.open(try deployment.load()).listAppointments(
                from: try days.first, to: try days.last)
            if json {
                printJSON(list.map { $0.json(withPhone: phone) }, pretty: true)
            } else {
                for a in list {
                    let number = phone ? "  \(a.phone ?? "-")" : ""
                    print(
                        "\(a.reference)  \(a.start.date) \(a.start.time)  \(a.motifID)  desk \(a.seat + 1)  \(a.status.rawValue)\(number)"
                    )
                }
            }
        }
    }
}

struct Callbacks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Callbacks agents must make.", subcommands: [List.self, Mark.self])

    struct Mark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Records how a callback ended: done (made), no_answer or failed; done in its window counts in the report."
        )
        @Argument(help: "The callback's id (callbacks list).") var id: String
        @Argument(help: "done, no_answer or failed.") var status: String
        @Option(name: .long, help: "When it was made (ISO 8601); default: now.") var at: String?
        @Option(name: .long, help: "A note for the other agents.") var note: String?
        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let loaded = try deployment.load()
            guard let outcome = Callback.Status(rawValue: status), [.done, .noAnswer, .failed].contains(outcome)
            else {
                throw ValidationError("status must be done, no_answer or failed")
            }
            let when: LocalDateTime
            if let at {
                guard let parsed = LocalDateTime(iso: at) else { throw ValidationError("--at must be ISO 8601") }
                when = parsed
            } else {
                when = SystemClock(timeZone: loaded.config.service.timeZone).now()
            }
            switch try await database.open(loaded).closeCallback(id: id, as: outcome, note: note, by: nil, at: when) {
            case .notFound: throw Failure("no callback \(id)")
            case .conflict(let callback): throw Failure("callback \(id) is \(callback.status.rawValue) already")
            case .changed: print("\(id): \(outcome.rawValue) at \(when.iso)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Callbacks by window; shows the number to call.")
        @OptionGroup var deployment: DeploymentOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var days: DayRange
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let list = try await database.open(try deployment.load()).listCallbacks(
                from: try days.first, to: try days.last)
            if json {
                printJSON(list.map(\.json), pretty: true)
            } else {
                for c in list {
                    print("\(c.id)  \(c.window.date) \(c.window.range)  \(c.phone)  \(c.status.rawValue)  \(c.context)")
                }
            }
        }
    }
}

/// `--from` and `--to` days, both optional.
struct DayRange: ParsableArguments {
    @Option(name: .long, help: "From this day (YYYY-MM-DD).") var from: String?
    @Option(name: .long, help: "To this day (YYYY-MM-DD).") var to: String?

    var first: LocalDate? { get throws { try from.map(Self.parse) } }
    var last: LocalDate? { get throws { try to.map(Self.parse) } }

    static func parse(_ text: String) throws -> LocalDate {
        guard let date = LocalDate(iso: text) else { throw ValidationError("\"\(text)\" is not a day like 2026-11-24") }
        return date
    }
}
