import Crypto
package import Foundation
package import Hummingbird

/// Who may do what on the admin address: bearer tokens, each with a name and a role.
///
/// The administrator's token (`admin.token_file`) has the `admin` role; agents' tokens come
/// from `admin.agents_file`, one line each: `NAME ROLE TOKEN [SIP-URI]`, where TOKEN is the
/// token itself or `sha256:` and its hex digest (so that the file need not hold the secret).
package struct Access: Sendable {
    package enum Role: String, Sendable, Comparable, CaseIterable {
        /// Hand-offs, callbacks and appointments.
        case agent
        /// Everything: also the indicators, the metrics and config reloads.
        case admin

        package static func < (a: Role, b: Role) -> Bool { a == .agent && b == .admin }
    }

    /// The bearer of a token.
    package struct Principal: Sendable, Equatable {
        package var name: String
        package var role: Role
        /// Where the agent's phone rings (for "next": the caller is dialled and connected there).
        package var uri: String?

        package init(name: String, role: Role, uri: String? = nil) {
            self.name = name
            self.role = role
            self.uri = uri
        }
    }

    struct Entry: Sendable {
        var principal: Principal
        /// SHA-256 of the token.
        var digest: [UInt8]
    }

    private var entries: [Entry]

    /// The administrator's token alone.
    package init(adminToken: String) {
        entries = [Entry(principal: Principal(name: "admin", role: .admin), digest: Self.digest(adminToken))]
    }

    /// The administrator's token and the lines of an agents' file (`text`, named `file` in errors).
    package init(adminToken: String, agents text: String, file: String) throws(AccessFileError) {
        self.init(adminToken: adminToken)
        var names: Set<String> = ["admin"]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard !words.isEmpty else { continue }
            func fail(_ reason: String) -> AccessFileError {
                AccessFileError(file: file, line: index + 1, reason: reason)
            }
            guard words.count == 3 || words.count == 4 else { throw fail("expected NAME ROLE TOKEN [SIP-URI]") }
            let (name, roleName, token) = (words[0], words[1], words[2])
            guard let role = Role(rawValue: roleName) else {
                throw fail("role must be agent or admin, not \(roleName)")
            }
            guard names.insert(name).inserted else { throw fail("\(name) is named twice") }
            let uri = words.count == 4 ? words[3] : nil
            if let uri, !(uri.hasPrefix("sip:") || uri.hasPrefix("sips:")) || uri.count < 6 {
                throw fail("the SIP URI must start with sip: or sips:")
            }
            let digest: [UInt8]
            if token.hasPrefix("sha256:") {
                guard let bytes = Self.hex(token.dropFirst(7)), bytes.count == 32 else {
                    throw fail("a sha256: digest has 64 hexadecimal digits")
                }
                digest = bytes
            } else {
                guard token.count >= 16 else { throw fail("a token has at least 16 characters") }
                digest = Self.digest(token)
            }
            guard !entries.contains(where: { $0.digest == digest }) else { throw fail("this token is used twice") }
            entries.append(Entry(principal: Principal(name: name, role: role, uri: uri), digest: digest))
        }
    }

    /// Reads the agents' file at `path` (a missing file means no agents' tokens); a file others
    /// may read is refused.
    package static func load(adminToken: String, agentsFile path: String) throws -> Access {
        guard FileManager.default.fileExists(atPath: path) else { return Access(adminToken: adminToken) }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw AccessFileError(file: path, line: 0, reason: "others can read it: chmod 600 \(path)")
        }
        return try Access(adminToken: adminToken, agents: try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// The bearer of `request`'s token, if it may act as `role`: 401 without a known token,
    /// 403 when its role is below.
    package func authorize(_ request: Request, as role: Role) throws -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "a bearer token is needed")
        }
        let presented = Self.digest(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        // Every entry is compared, in a time that does not depend on where digests differ.
        var found: Principal?
        for entry in entries where Self.same(entry.digest, presented) { found = entry.principal }
        guard let principal = found else {
            throw HTTPError(
                .unauthorized, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""],
                message: "this bearer token is not known")
        }
        guard principal.role >= role else {
            throw HTTPError(
                .forbidden, message: "\(principal.name) is \(principal.role.rawValue); this needs \(role.rawValue)")
        }
        return principal
    }

    package var principals: [Principal] { entries.map(\.principal) }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}

/// A line of the agents' file that cannot be used.
package struct AccessFileError: Error, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var reason: String

    package var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}
