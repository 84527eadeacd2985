import ArgumentParser
import CallbotCore

struct Understand: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the bot understands of a sentence: intent, slots, redacted text.")

    @Argument(help: "What the caller says.")
    var text: String

    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var clock: NowOption

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let loaded = try deployment.load()
        let now = try clock.resolve(timeZone: loaded.config.service.timeZone)
        let understanding = Understander(deployment: loaded).understand(text, today: now.date)
        if json {
            printJSON(UnderstandingReport(understanding))
        } else {
            print("intent: \(understanding.intent) (\(rounded(understanding.confidence)))")
            for alternative in understanding.alternatives {
                print("  or \(alternative.intent) (\(rounded(alternative.confidence)))")
            }
            let slots = UnderstandingReport(understanding).slots
            let named = [
                ("date", slots.date), ("time", slots.time), ("part_of_day", slots.partOfDay), ("phone", slots.phone),
                ("yes_no", slots.yesNo), ("digits", slots.digits),
            ].compactMap { name, value in value.map { "\(name)=\($0)" } }
            if !named.isEmpty { print("slots: " + named.joined(separator: " ")) }
            print("redacted: \(understanding.redacted)")
        }
    }
}
