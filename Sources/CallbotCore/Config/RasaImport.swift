import Foundation

/// Converts a Rasa NLU training file (Rasa 3 YAML) into intents for `intents.yaml`. Pure.
///
/// Each Rasa intent becomes an `answer` intent with Rasa's examples, entity markup removed and
/// duplicates merged. What has no equivalent here (synonyms, regexes, lookup tables, responses,
/// stories, rules) is reported, never guessed at. The answer's text is the administrator's to
/// write: the output names its message key and says where to add it.
package enum RasaImport {
    /// An intent read from the Rasa file.
    package struct Intent: Sendable, Equatable {
        /// The name in `intents.yaml`: lower case ASCII letters, digits and `_`.
        package var name: String
        /// The name as Rasa spells it.
        package var rasaName: String
        /// The line of its first `intent:` item.
        package var line: Int
        /// Plain text, in file order, each once.
        package var examples: [String]
        /// Examples left out as repeats of earlier ones (case and spacing aside).
        package var duplicates: Int = 0
    }

    /// A part of the Rasa file that was not converted, and why.
    package struct Skipped: Sendable, Equatable {
        /// The item and its line: `synonym villebois (line 40)`.
        package var what: String
        package var reason: String
    }

    /// What a conversion gives: the intents, and everything it could not convert.
    package struct Result: Sendable, Equatable {
        /// Intents to add, in file order.
        package var intents: [Intent]
        /// Intents the deployment has already: kept out of ``intents`` (a second key of the same
        /// name would be refused) and given as comments in ``yaml``, to merge by hand.
        package var existing: [Intent]
        package var skipped: [Skipped]

        /// The intents as a fragment of `intents.yaml`, indented to go under its `intents:` key.
        package var yaml: String { RasaImport.fragment(self) }

        /// What was converted and what was not, for the administrator (standard error).
        package var summary: String { RasaImport.summary(self) }
    }

    /// The fewest examples an intent of `intents.yaml` may have (``ConfigParser``).
    package static let minimumExamples = 3

    /// Converts the Rasa file `text`; `existing` are the deployment's intent names, and `file`
    /// only labels errors. Throws when the text is not YAML or has no `nlu:` list.
    package static func convert(_ text: String, existing: Set<String>, file: String = "nlu.yml") throws(ConfigError)
        -> Result
    {
        let root = try YAMLNode.parse(text, file: file)
        guard let top = try? root.pairs() else {
            throw root.error("expected a Rasa training file: a mapping with version: and nlu:")
        }
        var reader = Reader()
        var sawNLU = false
        for (key, value, line) in top {
            switch key {
            case "version":
                continue
            case "nlu":
                sawNLU = true
                try reader.readNLU(value)
            default:
                reader.skipped.append(Skipped(what: "\(key): (line \(line))", reason: ignoredReason(key)))
            }
        }
        guard sawNLU else {
            throw ConfigError(file: file, line: 0, reason: "no nlu: list; this is not a Rasa NLU training file")
        }
        return reader.result(existing: existing)
    }

    private static func ignoredReason(_ key: String) -> String {
        switch key {
        case "responses": "ignored: bot responses are not converted; answers are messages of prompts/messages.fr.yaml"
        case "stories", "rules": "ignored: dialogue flows are not converted; Callbot's dialogue engine has its own"
        default: "ignored: not NLU training data"
        }
    }

    /// Gathers intents across `nlu:` items, merging items that name the same intent.
    private struct Reader {
        var intents: [Intent] = []
        var skipped: [Skipped] = []
        /// Per intent, the normalised examples it has, for deduplication.
        var seen: [String: Set<String>] = [:]

        mutating func readNLU(_ node: YAMLNode) throws(ConfigError) {
            for item in try node.sequence() {
                guard let pairs = try? item.pairs() else {
                    skipped.append(Skipped(what: "nlu item (line \(item.line))", reason: "not a mapping"))
                    continue
                }
                func value(_ key: String) -> YAMLNode? { pairs.first { $0.key == key }?.value }
                if let intent = value("intent") {
                    readIntent(try intent.string(), line: intent.line, examples: value("examples"))
                    continue
                }
                var recognised = false
                for (kind, reason) in Self.unconvertible {
                    guard let named = value(kind) else { continue }
                    let name = (try? named.string()) ?? "?"
                    skipped.append(Skipped(what: "\(kind) \(name) (line \(named.line))", reason: reason))
                    recognised = true
                    break
                }
                if !recognised {
                    skipped.append(
                        Skipped(
                            what: "nlu item (line \(item.line))",
                            reason: "unknown item: expected intent:, synonym:, regex: or lookup:"))
                }
            }
        }

        /// The `nlu:` items other than intents, and why they cannot be converted.
        static let unconvertible: [(kind: String, reason: String)] = [
            (
                "synonym",
                "entity synonyms have no equivalent (Callbot has no entities); "
                    + "words that point to an intent go in its keywords"
            ),
            ("regex", "regular expressions have no equivalent; dates, times and phone numbers are recognised built in"),
            ("lookup", "lookup tables feed entity extraction, which Callbot does not configure"),
        ]

        mutating func readIntent(_ rasaName: String, line: Int, examples node: YAMLNode?) {
            let name = RasaImport.intentName(rasaName)
            guard !name.isEmpty else {
                skipped.append(
                    Skipped(what: "intent \(rasaName) (line \(line))", reason: "its name has no letter or digit"))
                return
            }
            guard name != IntentClassifier.none else {
                skipped.append(
                    Skipped(
                        what: "intent \(rasaName) (line \(line))",
                        reason: "\"none\" is reserved for questions no intent fits; rename it in the Rasa file"))
                return
            }
            let index: Int
            if let found = intents.firstIndex(where: { $0.name == name }) {
                index = found
                let first = intents[found]
                if first.rasaName != rasaName {
                    skipped.append(
                        Skipped(
                            what: "intent \(rasaName) (line \(line))",
                            reason: "named \"\(name)\" like \(first.rasaName) (line \(first.line)): "
                                + "its examples were added to it"))
                }
            } else {
                index = intents.count
                intents.append(Intent(name: name, rasaName: rasaName, line: line, examples: []))
            }
            for text in exampleTexts(node, intent: rasaName) {
                let example = RasaImport.plainText(text)
                let key = RasaImport.comparable(example)
                guard !key.isEmpty else { continue }
                guard seen[name, default: []].insert(key).inserted else {
                    intents[index].duplicates += 1
                    continue
                }
                intents[index].examples.append(example)
            }
        }

        /// The example texts of an `examples:` value: a block of `- ` lines (Rasa 3), or a list of
        /// texts or of `text:` mappings. Lines of a block that are not examples are reported.
        mutating func exampleTexts(_ node: YAMLNode?, intent: String) -> [String] {
            guard let node, !node.isNull else { return [] }
            if let block = try? node.string() {
                var out: [String] = []
                // A block scalar's mark is its `|` indicator; its text starts on the next line.
                for (offset, raw) in block.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let line = node.line + 1 + offset
                    let trimmed = raw.trimmingCharacters(in: .whitespaces)
                    if trimmed.isEmpty { continue }
                    guard trimmed.hasPrefix("-") else {
                        skipped.append(
                            Skipped(
                                what: "intent \(intent), line \(line): \(trimmed)",
                                reason: "not an example: an example line starts with \"- \""))
                        continue
                    }
                    out.append(String(trimmed.dropFirst()))
                }
                return out
            }
            guard let items = try? node.sequence() else {
                let what = "intent \(intent) examples (line \(node.line))"
                skipped.append(Skipped(what: what, reason: "neither a block nor a list"))
                return []
            }
            return items.compactMap { item in
                (try? item.string()) ?? (try? item.value(at: ["text"])?.string())
            }
        }

        func result(existing names: Set<String>) -> Result {
            var result = Result(intents: [], existing: [], skipped: skipped)
            for intent in intents {
                let what = "intent \(intent.rasaName) (line \(intent.line))"
                if intent.examples.isEmpty {
                    result.skipped.append(Skipped(what: what, reason: "no examples"))
                } else if names.contains(intent.name) {
                    result.existing.append(intent)
                    result.skipped.append(
                        Skipped(
                            what: what,
                            reason: "\"\(intent.name)\" already exists in intents.yaml: examples merged? Its "
                                + "\(intent.examples.count) examples are left as comments at the end, to merge by hand"
                        ))
                } else {
                    result.intents.append(intent)
                }
            }
            return result
        }
    }

    // MARK: Text

    /// An intent name for `intents.yaml`: lower case, accents removed, any other character as `_`,
    /// runs of `_` collapsed and trimmed (`Demander-Horaires` → `demander_horaires`).
    package static func intentName(_ rasaName: String) -> String {
        var name = ""
        func add(_ piece: String) {
            if piece == "_" && (name.isEmpty || name.hasSuffix("_")) { return }
            name += piece
        }
        for scalar in rasaName.unicodeScalars {
            switch scalar.value {
            case 0x153, 0x152: add("oe")
            case 0xE6, 0xC6: add("ae")
            default: add(FrenchText.fold(scalar).map { String($0) } ?? "_")
            }
        }
        while name.hasSuffix("_") { name.removeLast() }
        return name
    }

    /// An example without Rasa's entity markup, spaces collapsed: `[Paris](city)`,
    /// `[demain]{"entity": "date"}` and `[x](entity:value)` keep only their text.
    package static func plainText(_ example: String) -> String {
        var out = ""
        var rest = Substring(example)
        while let open = rest.firstIndex(of: "[") {
            out += rest[..<open]
            let labelStart = rest.index(after: open)
            guard let close = rest[labelStart...].firstIndex(of: "]") else {
                rest = rest[open...]
                break
            }
            let afterClose = rest.index(after: close)
            if let end = annotationEnd(rest[afterClose...]) {
                out += rest[labelStart..<close]
                rest = rest[end...]
            } else {
                // Brackets without an annotation are text.
                out += rest[open...close]
                rest = rest[afterClose...]
            }
        }
        out += rest
        return out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Where the `(entity)` or `{json}` annotation that opens `text` ends, if one does.
    private static func annotationEnd(_ text: Substring) -> Substring.Index? {
        guard let first = text.first else { return nil }
        switch first {
        case "(":
            return text.firstIndex(of: ")").map { text.index(after: $0) }
        case "{":
            var depth = 0
            var inString = false
            var escaped = false
            for index in text.indices {
                let c = text[index]
                if inString {
                    if escaped {
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        inString = false
                    }
                } else if c == "\"" {
                    inString = true
                } else if c == "{" {
                    depth += 1
                } else if c == "}" {
                    depth -= 1
                    if depth == 0 { return text.index(after: index) }
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// An example as duplicates compare: lower case, spaces collapsed.
    static func comparable(_ example: String) -> String {
        example.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// `text` as a YAML double-quoted scalar, which reads back exactly: quotes, backslashes and
    /// control or line-breaking characters escaped; apostrophes, colons and `#` are safe inside.
    package static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F, 0x85, 0x2028, 0x2029, 0xFEFF:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: Output

    static func fragment(_ result: Result) -> String {
        var lines = [
            "# Imported from Rasa by `callbotctl intents import-rasa`: paste under \"intents:\" in",
            "# config/intents.yaml. For each intent, write its answer under \"answer:\" in",
            "# prompts/messages.fr.yaml (the key it names), add keywords, then run `callbotctl check`.",
        ]
        for intent in result.intents {
            lines.append("")
            if intent.rasaName != intent.name { lines.append("  # Rasa intent \(intent.rasaName)") }
            lines.append("  \(intent.name):")
            lines.append("    action: answer")
            lines.append(
                "    answer: answer.\(intent.name)  # TODO: add \(intent.name): \"…\" under answer: "
                    + "in prompts/messages.fr.yaml")
            lines.append("    keywords: []")
            if intent.examples.count < minimumExamples {
                let missing = minimumExamples - intent.examples.count
                lines.append("    # TODO: an intent needs at least \(minimumExamples) examples; add \(missing) more.")
            }
            lines.append("    examples:")
            for example in intent.examples { lines.append("      - " + quoted(example)) }
        }
        for intent in result.existing {
            lines.append("")
            lines.append("  # \(intent.name) is already in intents.yaml: examples to merge by hand into its own.")
            for example in intent.examples { lines.append("  #   - " + quoted(example)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func summary(_ result: Result) -> String {
        var lines: [String] = []
        let count = result.intents.count
        lines.append("Converted \(count) intent\(count == 1 ? "" : "s") from Rasa:")
        for intent in result.intents {
            var line = "  \(intent.name): \(intent.examples.count) examples"
            if intent.duplicates > 0 { line += " (\(intent.duplicates) duplicates merged)" }
            if intent.rasaName != intent.name { line += ", Rasa \(intent.rasaName)" }
            if intent.examples.count < minimumExamples { line += " — needs at least \(minimumExamples) examples" }
            lines.append(line)
        }
        if !result.skipped.isEmpty {
            lines.append("Not converted (\(result.skipped.count)):")
            for skipped in result.skipped { lines.append("  \(skipped.what): \(skipped.reason)") }
        }
        return lines.joined(separator: "\n")
    }
}
