/// Checks what no single file can: references between intents, motifs and messages.
enum ConfigValidator {
    static func validate(
        _ deployment: Deployment, intentsNode: YAMLNode, messagesNode: YAMLNode, messageLines: [String: Int],
        callbotFile: String
    ) throws(ConfigError) {
        let config = deployment.config
        let catalog = deployment.intents
        let messages = deployment.messages.messages
        var top = try intentsNode.fields()
        let intentPairs = (try? top.optional("intents")?.pairs()) ?? []
        let intentLines = Dictionary(intentPairs.map { ($0.key, $0.line) }, uniquingKeysWith: { first, _ in first })
        func intentError(_ name: String, _ reason: String) -> ConfigError {
            ConfigError(file: intentsNode.file, line: intentLines[name] ?? 0, reason: reason)
        }

        var keypads: [String: String] = [:]
        for intent in catalog.intents {
            if let key = intent.answer, messages[key] == nil {
                throw intentError(
                    intent.name, "intent \"\(intent.name)\": answer \"\(key)\" is not a key of \(messagesNode.file)")
            }
            if let motif = intent.offerMotif, !config.appointments.motifs.contains(where: { $0.id == motif }) {
                throw intentError(
                    intent.name, "intent \"\(intent.name)\": offer \"\(motif)\" is not a motif of \(callbotFile)")
            }
            if let digit = intent.keypad {
                if let other = keypads[digit] {
                    throw intentError(intent.name, "keypad \"\(digit)\" is used by \"\(other)\" and \"\(intent.name)\"")
                }
                keypads[digit] = intent.name
            }
        }
        for motif in config.appointments.motifs {
            for name in motif.intents where catalog.intent(named: name) == nil {
                throw ConfigError(
                    file: callbotFile, line: 0, reason: "motif \"\(motif.id)\": unknown intent \"\(name)\"")
            }
        }
        for action in [IntentAction.book, .cancel, .callback, .handoff]
        where !catalog.intents.contains(where: { $0.action == action }) {
            throw ConfigError(
                file: intentsNode.file, line: 0,
                reason: "no intent has the action \"\(action.rawValue)\"; the dialogue needs one")
        }

        for key in config.dialogue.uninterruptible.sorted() where messages[key] == nil {
            throw ConfigError(
                file: callbotFile, line: 0,
                reason: "dialogue.uninterruptible: \"\(key)\" is not a key of \(messagesNode.file)")
        }
        let used = Set(catalog.intents.compactMap(\.answer)).union(DialogueMessages.required)
        for key in DialogueMessages.required.sorted() where messages[key] == nil {
            throw ConfigError(file: messagesNode.file, line: 0, reason: "missing message \"\(key)\"")
        }
        for key in messages.keys.sorted() {
            let line = messageLines[key] ?? 0
            guard used.contains(key) else {
                throw ConfigError(
                    file: messagesNode.file, line: line,
                    reason: "unknown message \"\(key)\": no intent and no dialogue step says it (a typo?)")
            }
            for name in MessageCatalog.placeholders(in: messages[key]!)
            where !DialogueMessages.placeholders.contains(name) {
                throw ConfigError(
                    file: messagesNode.file, line: line,
                    reason:
                        "message \"\(key)\": unknown placeholder {\(name)} (known: \(DialogueMessages.placeholders.sorted().joined(separator: ", ")))"
                )
            }
        }
    }
}
