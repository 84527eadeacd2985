/// A configuration file an administrator must fix: where, and what is wrong.
package struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file, as given to the loader.
    package var file: String
    /// 1-based; 0 when the whole file is concerned.
    package var line: Int
    package var reason: String

    package init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `config/intents.yaml:12: unknown key "exemples" …`.
    package var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}
