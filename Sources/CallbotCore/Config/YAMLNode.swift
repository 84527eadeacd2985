internal import Yams

/// A YAML value with its position, read strictly: every key of a mapping must be consumed.
struct YAMLNode {
    let node: Node
    let file: String

    var line: Int { node.mark?.line ?? 0 }

    func error(_ reason: String) -> ConfigError { ConfigError(file: file, line: line, reason: reason) }

    /// Parses `text` as one YAML document.
    static func parse(_ text: String, file: String) throws(ConfigError) -> YAMLNode {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, line: 0, reason: "the file is empty")
            }
            return YAMLNode(node: node, file: file)
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw ConfigError(
                file: file, line: Self.line(of: error), reason: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw ConfigError(file: file, line: 0, reason: "not valid YAML: \(error)")
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return 0
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        case .duplicatedKeysInMapping(let duplicates, _): return "duplicate keys \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }

    // MARK: Scalars

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a text value") }
        return scalar.string
    }

    func int() throws(ConfigError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("expected a whole number")
        }
        return value
    }

    func double() throws(ConfigError) -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string) else {
            throw error("expected a number")
        }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got \"\(scalar.string)\"")
        }
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node {
            return scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null"
        }
        return false
    }

    // MARK: Collections

    func sequence() throws(ConfigError) -> [YAMLNode] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.map { YAMLNode(node: $0, file: file) }
    }

    func strings() throws(ConfigError) -> [String] {
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    /// The value at `path` (keys of nested mappings), if there is one.
    func value(at path: [String]) -> YAMLNode? {
        var node = self
        for key in path {
            guard let pair = (try? node.pairs())?.first(where: { $0.key == key }) else { return nil }
            node = pair.value
        }
        return node
    }

    /// The line of the value at `path` (keys of nested mappings), or of the deepest key found on
    /// the way: where an error about something missing there belongs.
    func line(at path: [String]) -> Int {
        var node = self
        var found = line
        for key in path {
            guard let pair = (try? node.pairs())?.first(where: { $0.key == key }) else { break }
            found = pair.line
            node = pair.value
        }
        return max(found, 1)
    }

    /// Key–value pairs in file order.
    func pairs() throws(ConfigError) -> [(key: String, value: YAMLNode, line: Int)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var out: [(key: String, value: YAMLNode, line: Int)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw error("keys must be plain text") }
            out.append((scalar.string, YAMLNode(node: value, file: file), key.mark?.line ?? line))
        }
        return out
    }

    /// A mapping whose keys must all be read through `Fields`; unknown keys are refused by ``Fields/finish()``.
    func fields() throws(ConfigError) -> Fields { Fields(node: self, pairs: try pairs()) }

    struct Fields {
        let node: YAMLNode
        let pairs: [(key: String, value: YAMLNode, line: Int)]
        private var used: Set<String> = []

        init(node: YAMLNode, pairs: [(key: String, value: YAMLNode, line: Int)]) {
            self.node = node
            self.pairs = pairs
        }

        mutating func optional(_ key: String) -> YAMLNode? {
            used.insert(key)
            return pairs.first { $0.key == key }?.value
        }

        mutating func required(_ key: String) throws(ConfigError) -> YAMLNode {
            guard let value = optional(key) else { throw node.error("missing key \"\(key)\"") }
            return value
        }

        /// Refuses keys that were never read, naming the ones that were expected.
        func finish() throws(ConfigError) {
            for pair in pairs where !used.contains(pair.key) {
                throw ConfigError(
                    file: node.file, line: pair.line,
                    reason: "unknown key \"\(pair.key)\" (expected one of: \(used.sorted().joined(separator: ", ")))")
            }
        }
    }
}
