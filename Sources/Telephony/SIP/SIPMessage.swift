/// A SIP request or response (RFC 3261 §7): start line, headers in order, body.
package struct SIPMessage: Sendable, Equatable {
    package enum StartLine: Sendable, Equatable {
        case request(method: String, uri: String)
        case response(status: Int, reason: String)
    }

    package var startLine: StartLine
    package var headers: SIPHeaders
    package var body: [UInt8]

    package init(startLine: StartLine, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.startLine = startLine
        self.headers = headers
        self.body = body
    }

    /// The method of a request, or of the request a response answers (from CSeq).
    package var method: String? {
        switch startLine {
        case .request(let method, _): return method
        case .response: return headers.cseq?.method
        }
    }

    package var isRequest: Bool {
        if case .request = startLine { return true }
        return false
    }

    /// The message as sent on the wire; Content-Length always matches the body.
    package func serialized() -> [UInt8] {
        var text: String
        switch startLine {
        case .request(let method, let uri): text = "\(method) \(uri) SIP/2.0\r\n"
        case .response(let status, let reason): text = "SIP/2.0 \(status) \(reason)\r\n"
        }
        for (name, value) in headers.fields where name.lowercased() != "content-length" {
            text += "\(name): \(value)\r\n"
        }
        text += "Content-Length: \(body.count)\r\n\r\n"
        return Array(text.utf8) + body
    }
}

/// Header fields in order, looked up by name without regard to case or compact form.
package struct SIPHeaders: Sendable, Equatable {
    package private(set) var fields: [(name: String, value: String)] = []

    package init(_ fields: [(String, String)] = []) {
        for (name, value) in fields { add(name, value) }
    }

    /// Compact forms (RFC 3261 §7.3.3 and extensions) and their full names.
    static let compact: [String: String] = [
        "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length", "c": "Content-Type",
        "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via", "o": "Event", "r": "Refer-To",
        "b": "Referred-By", "x": "Session-Expires", "u": "Allow-Events",
    ]

    /// The canonical lower-case name of `name`: compact forms expanded.
    static func key(_ name: String) -> String {
        let lower = name.lowercased()
        return (compact[lower] ?? lower).lowercased()
    }

    /// Appends a field, keeping its full name when it came in compact form.
    package mutating func add(_ name: String, _ value: String) {
        let full = name.count == 1 ? (Self.compact[name.lowercased()] ?? name) : name
        fields.append((full, value))
    }

    /// Replaces every field named `name` by one with `value`.
    package mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    package mutating func remove(_ name: String) {
        let key = Self.key(name)
        fields.removeAll { Self.key($0.name) == key }
    }

    /// The first field named `name`.
    package subscript(_ name: String) -> String? {
        let key = Self.key(name)
        return fields.first { Self.key($0.name) == key }?.value
    }

    /// Every value of `name`, across repeated fields and comma-separated lists (commas inside quotes
    /// or angle brackets do not separate).
    package func values(_ name: String) -> [String] {
        let key = Self.key(name)
        return fields.filter { Self.key($0.name) == key }.flatMap { Self.splitList($0.value) }
    }

    static func splitList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var angle = false
        var escaped = false
        for c in value {
            if escaped {
                escaped = false
            } else if c == "\\" && quoted {
                escaped = true
            } else if c == "\"" {
                quoted.toggle()
            } else if c == "<" && !quoted {
                angle = true
            } else if c == ">" && !quoted {
                angle = false
            } else if c == "," && !quoted && !angle {
                parts.append(current.trimmed)
                current = ""
                continue
            }
            current.append(c)
        }
        if !current.trimmed.isEmpty || !parts.isEmpty { parts.append(current.trimmed) }
        return parts.filter { !$0.isEmpty }
    }

    /// CSeq: sequence number and method.
    package var cseq: (number: UInt32, method: String)? {
        guard let value = self["CSeq"] else { return nil }
        let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, let number = UInt32(parts[0]) else { return nil }
        return (number, String(parts[1]))
    }

    package static func == (lhs: SIPHeaders, rhs: SIPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}

extension String {
    var trimmed: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
