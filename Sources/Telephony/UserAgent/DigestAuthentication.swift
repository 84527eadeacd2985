import Crypto
import Foundation

/// Answers to HTTP digest challenges (RFC 2617 with MD5 and `qop=auth`, as SIP trunks send them
/// in 401 WWW-Authenticate and 407 Proxy-Authenticate).
struct DigestChallenge: Sendable, Equatable {
    var realm: String
    var nonce: String
    var opaque: String?
    /// Whether `qop=auth` is offered (else the RFC 2069 form is used).
    var qopAuth: Bool
    var algorithm: String

    /// The challenge in a `WWW-Authenticate` or `Proxy-Authenticate` value; nil unless it is a
    /// digest with MD5 (the only algorithm trunks commonly require).
    init?(_ header: String) {
        let trimmed = header.drop { $0 == " " }
        guard trimmed.lowercased().hasPrefix("digest ") else { return nil }
        let parameters = Self.parameters(String(trimmed.dropFirst(7)))
        guard let realm = parameters["realm"], let nonce = parameters["nonce"] else { return nil }
        algorithm = parameters["algorithm"] ?? "MD5"
        guard algorithm.uppercased() == "MD5" else { return nil }
        self.realm = realm
        self.nonce = nonce
        opaque = parameters["opaque"]
        qopAuth =
            parameters["qop"].map {
                $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "auth" }
            }
            ?? false
    }

    /// The `Authorization` (or `Proxy-Authorization`) value for `method` on `uri`.
    func authorization(method: String, uri: String, credentials: SIPCredentials, cnonce: String, count: Int = 1)
        -> String
    {
        let ha1 = Self.md5("\(credentials.username):\(realm):\(credentials.password)")
        let ha2 = Self.md5("\(method):\(uri)")
        let hex = String(count, radix: 16)
        let nonceCount = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        let response =
            qopAuth
            ? Self.md5("\(ha1):\(nonce):\(nonceCount):\(cnonce):auth:\(ha2)") : Self.md5("\(ha1):\(nonce):\(ha2)")
        var fields = [
            "username=\"\(credentials.username)\"", "realm=\"\(realm)\"", "nonce=\"\(nonce)\"", "uri=\"\(uri)\"",
            "response=\"\(response)\"", "algorithm=MD5",
        ]
        if qopAuth { fields += ["cnonce=\"\(cnonce)\"", "qop=auth", "nc=\(nonceCount)"] }
        if let opaque { fields.append("opaque=\"\(opaque)\"") }
        return "Digest " + fields.joined(separator: ", ")
    }

    static func md5(_ text: String) -> String {
        Insecure.MD5.hash(data: Array(text.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// `name=value` or `name="value"` pairs separated by commas (commas inside quotes kept).
    static func parameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var name = ""
        var value = ""
        var inName = true
        var quoted = false
        func flush() {
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            if !key.isEmpty { result[key] = value.trimmingCharacters(in: .whitespaces) }
            (name, value, inName) = ("", "", true)
        }
        for character in text {
            if inName {
                if character == "=" { inName = false } else if character != "," { name.append(character) }
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ",", !quoted {
                flush()
            } else {
                value.append(character)
            }
        }
        flush()
        return result
    }
}
