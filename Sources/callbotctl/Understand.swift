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
        let value = understanding.json
        if json {
            print(jsonLine(value))
        } else {
            print("intent: \(understanding.intent) (\(rounded(understanding.confidence)))")
            for alternative in understanding.alternatives {
                print("  or \(alternative.intent) (\(rounded(alternative.confidence)))")
            }
            if case .object(let slots) = value.objectValue?["slots"] ?? .null, !slots.isEmpty {
                print(
                    "slots: "
                        + slots.keys.sorted().map { "\($0)=\(slots[$0]!.stringValue ?? "")" }.joined(separator: " "))
            }
            print("redacted: \(understanding.redacted)")
        }
    }
}

extension Understanding {
    /// The `understand --json` contract of DESIGN.md.
    var json: JSONValue {
        var slotValues: [String: JSONValue] = [:]
        if let date = slots.date { slotValues["date"] = .string(date.iso) }
        if let time = slots.time { slotValues["time"] = .string(time.description) }
        if let part = slots.partOfDay { slotValues["part_of_day"] = .string(part.rawValue) }
        if let phone = slots.phone { slotValues["phone"] = .string(phone) }
        if let yesNo = slots.yesNo { slotValues["yes_no"] = .string(yesNo ? "yes" : "no") }
        if let digits = slots.digits { slotValues["digits"] = .string(digits) }
        return .object([
            "intent": .string(intent), "confidence": .double(rounded(confidence)),
            "alternatives": .array(
                alternatives.map {
                    .object(["intent": .string($0.intent), "confidence": .double(rounded($0.confidence))])
                }),
            "slots": .object(slotValues), "redacted": .string(redacted),
        ])
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? {
        if case .object(let v) = self { return v }
        return nil
    }
}
