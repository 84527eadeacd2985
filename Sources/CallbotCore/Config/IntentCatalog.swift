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
    /// How the keypad menu names it; an answer intent with a label and no digit is in the topics menu.
    package var label: String? = nil
    /// Whether its answer is about the service's own premises (hours, address): a question that
    /// names another place or body is not for it, even with one of its keywords.
    package var facility: Bool = false
}

/// A digit of the keypad menu and what it selects.
package struct KeypadItem: Sendable, Equatable {
    package enum Target: Sendable, Equatable {
        case intent(String)
        /// The second menu, of information topics.
        case topics
    }

    package var digit: String
    package var label: String
    package var target: Target
}

/// `intents.yaml`.
package struct IntentCatalog: Sendable {
    package var intents: [IntentDefinition]
    /// Below this confidence the intent is `none`.
    package var noneThreshold: Double
    /// The digit and label of the information topics menu, if there is one.
    package var topicsKeypad: (digit: String, label: String)? = nil
    /// Subjects that are not the service's (other facilities, other administrations).
    package var otherSubjects: [String] = []

    /// The first-level keypad menu, in digit order (0 last).
    package var menu: [KeypadItem] {
        var items = intents.compactMap { intent in
            intent.keypad.map {
                KeypadItem(digit: $0, label: intent.label ?? intent.name, target: .intent(intent.name))
            }
        }
        if let topicsKeypad {
            items.append(KeypadItem(digit: topicsKeypad.digit, label: topicsKeypad.label, target: .topics))
        }
        return items.sorted { Self.menuOrder($0.digit) < Self.menuOrder($1.digit) }
    }

    /// The information topics menu: answer intents with a label and no digit of their own, numbered 1, 2, 3…
    package var topics: [KeypadItem] {
        guard topicsKeypad != nil else { return [] }
        let named = intents.filter { $0.keypad == nil && $0.label != nil }
        return named.prefix(8).enumerated().map {
            KeypadItem(digit: String($0.offset + 1), label: $0.element.label!, target: .intent($0.element.name))
        }
    }

    private static func menuOrder(_ digit: String) -> Int {
        switch digit {
        case "0": 10
        case "*": 11
        case "#": 12
        default: Int(digit) ?? 13
        }
    }

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
