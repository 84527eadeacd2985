public import CallbotCore
import Crypto
package import Foundation

/// Pseudonymises phone numbers with HMAC-SHA256 under the deployment's secret key.
package struct KeyedPseudonymizer: Pseudonymizer {
    private let key: Data

    package init(key: Data) { self.key = key }

    /// `h:` and the first 128 bits of HMAC-SHA256(key, number) in hex.
    package func pseudonym(for phone: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(phone.utf8), using: SymmetricKey(data: key))
        return "h:" + mac.prefix(16).map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    /// The key from the configured environment variable, else from the key file, created with
    /// 32 random bytes (mode 0600) when missing.
    package static func load(
        _ settings: PrivacySettings, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> KeyedPseudonymizer
    {
        if let name = settings.pseudonymKeyEnv, let value = environment[name], !value.isEmpty {
            return KeyedPseudonymizer(key: Data(value.utf8))
        }
        guard let path = settings.pseudonymKeyFile else {
            throw PseudonymKeyError(
                reason: "no key: set \(settings.pseudonymKeyEnv ?? "the key variable") or pseudonym_key_file")
        }
        if let data = FileManager.default.contents(atPath: path), data.count >= 16 {
            return KeyedPseudonymizer(key: data)
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        guard FileManager.default.createFile(atPath: path, contents: key, attributes: [.posixPermissions: 0o600]) else {
            throw PseudonymKeyError(reason: "cannot create the key file \(path)")
        }
        return KeyedPseudonymizer(key: key)
    }
}

/// The pseudonymisation key cannot be had.
package struct PseudonymKeyError: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { "pseudonymisation key: \(reason)" }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
