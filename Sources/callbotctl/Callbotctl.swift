import ArgumentParser
import CallbotCore

@main
struct Callbotctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callbotctl",
        abstract: "The administrator's command line of Callbot.",
        subcommands: [
            Check.self, Understand.self, Intents.self, Chat.self, Console.self, Calls.self, Appointments.self,
            Callbacks.self, Scenarios.self, Ask.self, AssistantCommand.self, Report.self, Questions.self,
        ])
}

/// Options every command that reads the deployment shares.
struct DeploymentOptions: ParsableArguments {
    @Option(name: .long, help: "The deployment's config folder.")
    var config: String = "config"

    /// Loads the deployment or fails with the file, line and reason.
    func load() throws -> Deployment {
        do {
            return try Deployment.load(from: config)
        } catch {
            throw Failure("invalid configuration: \(error)")
        }
    }
}

/// `--now` or the clock, in the service's time zone.
struct NowOption: ParsableArguments {
    @Option(name: .long, help: "The current time, ISO 8601 (2026-11-23T09:15:00+01:00); default: the clock.")
    var now: String?

    func resolve(timeZone: String) throws -> LocalDateTime {
        guard let now else { return SystemClock(timeZone: timeZone).now() }
        guard let parsed = LocalDateTime(iso: now) else {
            throw ValidationError("--now \"\(now)\" is not an ISO 8601 time like 2026-11-23T09:15:00+01:00")
        }
        return parsed
    }
}

/// A failure to report without the usage text.
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
