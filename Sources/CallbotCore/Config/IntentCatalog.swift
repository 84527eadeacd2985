/// What the dialogue does once it knows an intent.
package enum IntentAction: String, Sendable, CaseIterable {
    /// Say the intent's answer, then ask whether there is anything else.
    case answer
    /// Book an appointment.
    case book
    /// Cancel or move an appointment.
    case cancel
    /// Schedule a callback.
    case callback
    /// Transfer to an agent (after the answer, when there is one).
    case handoff
    /// End the call (after the survey).
    case goodbye
    /// Say the last prompt again.
    case `repeat`
}

/// An intent as the administrator configures it.
package struct IntentDefinition: Sendable {
    package var name: String
    package var examples: [String]
    package var keywords: [String]
    package var action: IntentAction
    /// Message key said first (the answer of an `answer` intent).
    package var answer: String?
    /// Offered after the answer: booking this motif.
    package var offerMotif: String?
    /// Digit of the keypad menu that selects this intent.
    package var keypad: String?
}

/// `intents.yaml`.
package struct IntentCatalog: Sendable {
    package var intents: [IntentDefinition]
    /// Below this confidence the intent is `none`.
    package var noneThreshold: Double

    package func intent(named name: String) -> IntentDefinition? { intents.first { $0.name == name } }

    package func intent(forKeypad digit: String) -> IntentDefinition? { intents.first { $0.keypad == digit } }
}

/// `prompts/messages.fr.yaml`: every sentence the bot says, by key, with `{placeholders}`.
package struct MessageCatalog: Sendable {
    package var messages: [String: String]

    package init(messages: [String: String]) { self.messages = messages }

    /// The message `key` with its placeholders filled; unknown placeholders stay visible.
    package func render(_ key: String, _ values: [String: String] = [:]) -> String {
        guard var text = messages[key] else { return key }
        guard text.contains("{") else { return text }
        for (name, value) in values { text = text.replacing("{\(name)}", with: value) }
        return text
    }

    /// Placeholders named in `text`.
    static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var current: String?
        for c in text {
            if c == "{" {
                current = ""
            } else if c == "}", let name = current {
                names.append(name)
                current = nil
            } else if current != nil {
                current!.append(c)
            }
        }
        return names
    }
}
