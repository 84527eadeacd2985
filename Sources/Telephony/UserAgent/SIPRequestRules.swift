/// What the user agent checks in a request before it reaches a transaction or a dialog
/// (RFC 3261 §8.2), and the small parsers of request bodies and URIs it relies on.
enum SIPRequestRules {
    /// Extensions the bot implements; anything else in `Require` gets 420.
    static let supportedExtensions: Set<String> = []
    /// Headers that may appear once only.
    static let singletons = ["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"]

    enum Verdict: Equatable {
        case accept
        /// Cannot be answered (no Via, or an ACK): dropped and counted.
        case drop
        case reject(status: Int, reason: String, warning: String?, headers: [Header])

        struct Header: Equatable {
            let name: String
            let value: String
        }
    }

    /// Whether `request` may go on, or how it is refused.
    static func check(_ request: SIPMessage) -> Verdict {
        guard case .request(let method, let uri) = request.startLine else { return .accept }
        let headers = request.headers
        guard !headers.values("Via").isEmpty else { return .drop }
        func badRequest(_ warning: String) -> Verdict {
            method == "ACK" ? .drop : .reject(status: 400, reason: "Bad Request", warning: warning, headers: [])
        }
        for name in ["Call-ID", "CSeq", "From", "To"] where headers[name] == nil {
            return badRequest("missing \(name) header")
        }
        for name in singletons {
            let key = SIPHeaders.key(name)
            if headers.fields.filter({ SIPHeaders.key($0.name) == key }).count > 1 {
                return badRequest("more than one \(name) header")
            }
        }
        for via in headers.values("Via") where !isVia(via) { return badRequest("malformed Via header") }
        for name in ["From", "To"] where !isNameAddress(headers[name] ?? "") {
            return badRequest("malformed \(name) header")
        }
        guard let cseq = headers.cseq else { return badRequest("malformed CSeq header") }
        guard cseq.method == method || (method == "ACK" && cseq.method == "INVITE") else {
            return badRequest("CSeq method \(cseq.method) does not match \(method)")
        }
        guard headers.callID?.isEmpty == false else { return badRequest("empty Call-ID") }
        let scheme = uri.prefix { $0 != ":" }.lowercased()
        guard ["sip", "sips", "tel"].contains(scheme) else {
            return method == "ACK"
                ? .drop : .reject(status: 416, reason: "Unsupported URI Scheme", warning: nil, headers: [])
        }
        if method != "ACK", method != "CANCEL" {
            let unknown = headers.values("Require").map { $0.trimmed.lowercased() }.filter {
                !$0.isEmpty && !supportedExtensions.contains($0)
            }
            if !unknown.isEmpty {
                return .reject(
                    status: 420, reason: "Bad Extension", warning: nil,
                    headers: [.init(name: "Unsupported", value: unknown.joined(separator: ", "))])
            }
        }
        return .accept
    }

    /// `SIP/2.0/UDP host[:port](;param[=value])*` (RFC 3261 §20.42).
    static func isVia(_ value: String) -> Bool {
        // Spaces may surround the slashes of the protocol (RFC 4475 §3.1.1.1).
        let compact = value.replacing(/\s*\/\s*/, with: "/")
        let parts = compact.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, parts[0].uppercased().hasPrefix("SIP/2.0/"), parts[0].count > 8 else { return false }
        let fields = parts[1].split(separator: ";", omittingEmptySubsequences: false)
        guard let sentBy = fields.first?.trimmingCharacters(in: " \t"), !sentBy.isEmpty, !sentBy.contains(" ") else {
            return false
        }
        return fields.dropFirst().allSatisfy { !$0.trimmingCharacters(in: " \t").isEmpty }
    }

    /// A From or To value with balanced quotes and angle brackets (RFC 4475 §3.1.2.6).
    static func isNameAddress(_ value: String) -> Bool {
        var quoted = false
        var escaped = false
        var angles = 0
        for c in value {
            if escaped {
                escaped = false
            } else if quoted {
                if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
            } else if c == "\"" {
                quoted = true
            } else if c == "<" {
                angles += 1
                if angles > 1 { return false }
            } else if c == ">" {
                angles -= 1
                if angles < 0 { return false }
            }
        }
        return !quoted && angles == 0 && !value.isEmpty
    }

    /// Whether an `Accept` header (if any) lets the answer carry SDP.
    static func acceptsSDP(_ headers: SIPHeaders) -> Bool {
        guard headers["Accept"] != nil else { return true }
        let ranges = headers.values("Accept").map {
            ($0.split(separator: ";").first ?? "").trimmingCharacters(in: " \t").lowercased()
        }
        return ranges.contains { ["application/sdp", "application/*", "*/*", ""].contains($0) }
    }

    /// A message good enough to answer with 400: a request line and the headers a response needs.
    static func salvage(_ bytes: [UInt8]) -> SIPMessage? {
        guard let text = String(validating: bytes.prefix(8192), as: UTF8.self) else { return nil }
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" })
        guard let first = lines.first, !first.hasPrefix("SIP/") else { return nil }
        let parts = first.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers = SIPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: " \t")
            let value = String(line[line.index(after: colon)...]).trimmed
            if ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"].contains(name.lowercased()) {
                headers.add(name, value)
            }
        }
        guard headers["Via"] != nil else { return nil }
        return SIPMessage(startLine: .request(method: String(parts[0]), uri: String(parts[1])), headers: headers)
    }

    /// Digits of an INFO: `application/dtmf-relay` ("Signal=5") or `application/dtmf` ("5").
    static func dtmfRelay(_ message: SIPMessage) -> String? {
        let type = message.headers["Content-Type"]?.lowercased() ?? ""
        guard type.hasPrefix("application/dtmf"), let body = String(validating: message.body, as: UTF8.self) else {
            return nil
        }
        if type.hasPrefix("application/dtmf-relay") {
            for line in body.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                let pair = line.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: " \t").lowercased() == "signal" {
                    let signal = pair[1].trimmingCharacters(in: " \t\r")
                    return signal.count == 1 && "0123456789*#ABCDabcd".contains(signal) ? signal.uppercased() : nil
                }
            }
            return nil
        }
        let digit = body.filter { !$0.isNewline && $0 != " " && $0 != "\t" }
        return digit.count == 1 && "0123456789*#".contains(digit) ? digit : nil
    }

    /// The status line of a `message/sipfrag` NOTIFY body.
    static func sipfragStatus(_ message: SIPMessage) -> Int? {
        guard message.headers["Content-Type"]?.lowercased().hasPrefix("message/sipfrag") == true,
            let body = String(validating: message.body, as: UTF8.self)
        else { return nil }
        let parts = body.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("SIP/2.0") else { return nil }
        return Int(parts[1].prefix { $0.isNumber })
    }

    /// Escapes a header value for a URI's `?name=value` part (RFC 3261 §19.1.1).
    static func escapeHeaderValue(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-_.!~*'()[]/:+$".contains(c)) {
                out.append(c)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
