import CallbotCore
import Foundation

// The JSON that callbotctl prints (the contracts of DESIGN.md), as Encodable values.

/// Prints `value` as JSON: keys sorted, one line or indented.
func printJSON(_ value: some Encodable, pretty: Bool = false) { print(jsonText(value, pretty: pretty)) }

func jsonText(_ value: some Encodable, pretty: Bool = false) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if pretty { encoder.outputFormatting.insert(.prettyPrinted) }
    // Only values of this file and JSONValue are encoded: plain strings, numbers and containers.
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}

/// `understand --json`: `{"intent", "confidence", "alternatives", "slots", "redacted"}`, absent slots left out.
struct UnderstandingReport: Encodable {
    struct Alternative: Encodable {
        var intent: String
        var confidence: Double
    }

    struct SlotValues: Encodable {
        var date: String?
        var time: String?
        var partOfDay: String?
        var phone: String?
        var yesNo: String?
        var digits: String?

        enum CodingKeys: String, CodingKey {
            case date, time, phone, digits
            case partOfDay = "part_of_day"
            case yesNo = "yes_no"
        }
    }

    var intent: String
    var confidence: Double
    var alternatives: [Alternative]
    var slots: SlotValues
    var redacted: String

    init(_ u: Understanding) {
        intent = u.intent
        confidence = rounded(u.confidence)
        alternatives = u.alternatives.map { Alternative(intent: $0.intent, confidence: rounded($0.confidence)) }
        slots = SlotValues(
            date: u.slots.date?.iso, time: u.slots.time?.description, partOfDay: u.slots.partOfDay?.rawValue,
            phone: u.slots.phone, yesNo: u.slots.yesNo.map { $0 ? "yes" : "no" }, digits: u.slots.digits)
        redacted = u.redacted
    }
}

/// A call event as `chat` and `calls show` print it: `type`, `at` and the event's fields.
struct EventReport: Encodable {
    var event: CallEvent

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: NamedKey.self)
        for (name, value) in event.fields { try container.encode(value, forKey: NamedKey(name)) }
        try container.encode(event.type, forKey: NamedKey("type"))
        try container.encode(event.at.iso, forKey: NamedKey("at"))
    }
}

/// `calls list --json` and `calls show --json`: absent values are `null`.
struct CallRecordReport: Encodable {
    var record: CallRecord
    var withEvents: Bool

    enum CodingKeys: String, CodingKey {
        case id, channel, outcome, intents, caller, handoff, events
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case surveyScore = "survey_score"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(record.id, forKey: .id)
        try container.encode(record.channel, forKey: .channel)
        try container.encode(record.startedAt.iso, forKey: .startedAt)
        try container.encode(record.endedAt?.iso, forKey: .endedAt)
        try container.encode(record.outcome, forKey: .outcome)
        try container.encode(record.intents, forKey: .intents)
        try container.encode(record.surveyScore, forKey: .surveyScore)
        try container.encode(record.callerHash, forKey: .caller)
        try container.encodeIfPresent(record.handoff, forKey: .handoff)
        if withEvents { try container.encode(record.events.map(EventReport.init), forKey: .events) }
    }
}

/// A key named at run time (an event's fields).
struct NamedKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
