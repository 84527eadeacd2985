import Foundation

/// An endpoint's API key, from the environment variable `env` (wins) or the file `file`; nil
/// when neither is set. Errors say which of the two is missing or empty.
package enum APIKey {
    package struct Missing: Error, CustomStringConvertible {
        package var description: String
    }

    package static func read(env: String?, file: String?, environment: [String: String]) throws(Missing) -> String? {
        if let env, let key = environment[env], !key.isEmpty { return key }
        guard let file else {
            if let env { throw Missing(description: "api_key_env: \(env) is not set") }
            return nil
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Missing(description: "api_key_file: cannot read \(file)")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw Missing(description: "api_key_file: \(file) is empty") }
        return key
    }
}
