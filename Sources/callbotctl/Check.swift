import ArgumentParser
import CallbotCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration: callbot.yaml, intents.yaml and the messages.")

    @OptionGroup var deployment: DeploymentOptions

    func run() throws {
        do {
            let loaded = try Deployment.load(from: deployment.config)
            print(
                "configuration OK: \(loaded.config.service.name), \(loaded.intents.intents.count) intents, "
                    + "\(loaded.config.appointments.motifs.count) motifs, \(loaded.messages.messages.count) messages")
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeToStandardError(string)
    }
}
