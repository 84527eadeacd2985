/// Checks what no single file can: references between intents, motifs and messages.
enum ConfigValidator {
    static func validate(
        _ deployment: Deployment, callbotNode: YAMLNode, intentsNode: YAMLNode, messagesNode: YAMLNode,
        messageLines: [String: Int]
    ) throws(ConfigError) {
        let callbotFile = callbotNode.file
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
        if let topics = catalog.topicsKeypad {
            let line = (try? top.optional("keypad_topics")?.pairs())?.first?.line ?? 0
            if let other = keypads[topics.digit] {
                throw ConfigError(
                    file: intentsNode.file, line: line,
                    reason: "keypad_topics: digit \"\(topics.digit)\" is already the keypad of \"\(other)\"")
            }
            let named = catalog.intents.filter { $0.keypad == nil && $0.label != nil }
            if named.count > 8 {
                throw intentError(
                    named[8].name,
                    "the topics menu holds 8 topics (keys 1 to 8; 9 repeats, 0 is an agent): \"\(named[8].name)\" is the 9th labelled intent without a keypad digit"
                )
            }
        }
        for intent in catalog.intents where intent.keypad != nil && intent.label == nil {
            throw intentError(
                intent.name, "intent \"\(intent.name)\" has a keypad digit but no label: the menu could not name it")
        }
        let motifNodes = (try? callbotNode.value(at: ["appointments", "motifs"])?.sequence()) ?? []
        for (index, motif) in config.appointments.motifs.enumerated() {
            for name in motif.intents where catalog.intent(named: name) == nil {
                let line = index < motifNodes.count ? motifNodes[index].line(at: ["intents"]) : 1
                throw ConfigError(
                    file: callbotFile, line: line, reason: "motif \"\(motif.id)\": unknown intent \"\(name)\"")
            }
        }
        for action in [IntentAction.book, .cancel, .callback, .handoff]
        where !catalog.intents.contains(where: { $0.action == action }) {
            throw ConfigError(
                file: intentsNode.file, line: intentsNode.line(at: ["intents"]),
                reason: "no intent has the action \"\(action.rawValue)\"; the dialogue needs one")
        }

        for key in config.dialogue.uninterruptible.sorted() where messages[key] == nil {
            throw ConfigError(
                file: callbotFile, line: callbotNode.line(at: ["dialogue", "uninterruptible"]),
                reason: "dialogue.uninterruptible: \"\(key)\" is not a key of \(messagesNode.file)")
        }
        let used = Set(catalog.intents.compactMap(\.answer)).union(DialogueMessages.required)
        for key in DialogueMessages.required.sorted() where messages[key] == nil {
            // Where it would go: its section, or the top of the file.
            let line = messagesNode.line(at: key.split(separator: ".").dropLast().map(String.init))
            throw ConfigError(file: messagesNode.file, line: line, reason: "missing message \"\(key)\"")
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
