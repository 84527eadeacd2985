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
                print(jsonPretty(.array(records.map { $0.json(withEvents: false) })))
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
                print(jsonPretty(record.json(withEvents: true)))
            } else {
                print(
                    "call \(record.id) (\(record.channel)) \(record.startedAt.iso) → \(record.endedAt?.iso ?? "-"): \(record.outcome ?? "-")"
                )
                for event in record.events {
                    let fields = event.fields.isEmpty ? "" : " " + jsonLine(.object(event.fields))
                    print("  \(event.at.time) \(event.type)\(fields)")
                }
            }
        }
    }
}

extension CallRecord {
    /// The `calls show --json` contract of DESIGN.md.
    func json(withEvents: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "channel": .string(channel), "started_at": .string(startedAt.iso),
            "ended_at": endedAt.map { .string($0.iso) } ?? .null, "outcome": outcome.map(JSONValue.string) ?? .null,
            "intents": .array(intents.map(JSONValue.string)), "survey_score": surveyScore.map(JSONValue.int) ?? .null,
            "caller": callerHash.map(JSONValue.string) ?? .null,
        ]
        if let handoff { object["handoff"] = handoff }
        if withEvents {
            object["events"] = .array(
                events.map { event in
                    var fields = event.fields
                    fields["type"] = .string(event.type)
                    fields["at"] = .string(event.at.iso)
                    return .object(fields)
                })
        }
        return .object(object)
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

        func run() async throws {
            let list = try await database.open(try deployment.load()).listAppointments(
                from: try days.first, to: try days.last)
            if json {
                print(
                    jsonPretty(
                        .array(
                            list.map { a in
                                .object([
                                    "reference": .string(a.reference), "motif": .string(a.motifID),
                                    "start": .string(a.start.iso),
                                    "duration_minutes": .int(a.durationMinutes), "seat": .int(a.seat),
                                    "status": .string(a.status.rawValue),
                                    "call_id": a.callID.map(JSONValue.string) ?? .null,
                                ])
                            })))
            } else {
                for a in list {
                    print(
                        "\(a.reference)  \(a.start.date) \(a.start.time)  \(a.motifID)  desk \(a.seat + 1)  \(a.status.rawValue)"
                    )
                }
            }
        }
    }
}

struct Callbacks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Callbacks agents must make.", subcommands: [List.self])

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
                print(
                    jsonPretty(
                        .array(
                            list.map { c in
                                .object([
                                    "id": .string(c.id), "date": .string(c.window.date.iso),
                                    "window": .string(c.window.range.description),
                                    "phone": .string(c.phone), "status": .string(c.status.rawValue),
                                    "attempts": .int(c.attempts),
                                    "call_id": c.callID.map(JSONValue.string) ?? .null, "context": .string(c.context),
                                ])
                            })))
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
