/// Why bytes are not a SIP message. Mapped to `400 Bad Request` (or a silent drop) at the edge.
package struct SIPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    /// The answer a request gets for it: 400, or 505 for another SIP version.
    package var status = 400
    package var description: String { reason }

    package init(reason: String, status: Int = 400) {
        self.reason = reason
        self.status = status
    }
}

/// Parses SIP messages from datagrams or a stream (RFC 3261 §7), within size limits.
package struct SIPParser: Sendable {
    /// Largest message accepted (start line, headers and body).
    package var maxMessageBytes = 65_535
    package var maxHeaderCount = 128

    package init() {}

    /// What a stream holds so far.
    package enum StreamResult: Sendable, Equatable {
        case message(SIPMessage, consumed: Int)
        /// More bytes are needed.
        case incomplete
        /// The head is complete: the message ends `total` bytes from the start of the input.
        case awaitingBody(total: Int)
    }

    /// Parses one whole datagram. Without Content-Length, the body is the rest of the datagram.
    package func parse(datagram bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        guard bytes.count <= maxMessageBytes else {
            throw SIPParseError(reason: "message larger than \(maxMessageBytes) bytes")
        }
        guard let (head, bodyStart) = Self.splitHead(bytes[...]) else {
            throw SIPParseError(reason: "no empty line after the headers")
        }
        var message = try parseHead(head)
        let rest = bytes[bodyStart...]
        if let declared = try contentLength(message.headers) {
            guard declared <= rest.count else {
                throw SIPParseError(reason: "Content-Length \(declared) but only \(rest.count) body bytes")
            }
            message.body = Array(rest.prefix(declared))
        } else {
            message.body = Array(rest)
        }
        return message
    }

    /// Parses the first message of a stream (TCP), which must carry Content-Length.
    package func parse(stream bytes: ArraySlice<UInt8>) throws(SIPParseError) -> StreamResult {
        // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped by the caller's consumed count.
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == 13 || bytes[start] == 10 { start += 1 }
        guard let (head, bodyStart) = Self.splitHead(bytes[start...]) else {
            if bytes.count > maxMessageBytes {
                throw SIPParseError(reason: "headers larger than \(maxMessageBytes) bytes")
            }
            return .incomplete
        }
        var message = try parseHead(head)
        guard let length = try contentLength(message.headers) else {
            throw SIPParseError(reason: "Content-Length is required on a stream transport")
        }
        guard bodyStart - bytes.startIndex + length <= maxMessageBytes else {
            throw SIPParseError(reason: "message larger than \(maxMessageBytes) bytes")
        }
        guard bytes.endIndex - bodyStart >= length else {
            return .awaitingBody(total: bodyStart + length - bytes.startIndex)
        }
        message.body = Array(bytes[bodyStart..<(bodyStart + length)])
        return .message(message, consumed: bodyStart + length - bytes.startIndex)
    }

    /// The header block (without the blank line) and where the body starts; LF-only line ends are tolerated.
    static func splitHead(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Int)? {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 10 {
                let next = i + 1
                // The head ends before the line end that precedes the blank line.
                let end = i > bytes.startIndex && bytes[i - 1] == 13 ? i - 1 : i
                if next < bytes.endIndex, bytes[next] == 10 { return (bytes[bytes.startIndex..<end], next + 1) }
                if next + 1 < bytes.endIndex, bytes[next] == 13, bytes[next + 1] == 10 {
                    return (bytes[bytes.startIndex..<end], next + 2)
                }
            }
            i += 1
        }
        return nil
    }

    func parseHead(_ head: ArraySlice<UInt8>) throws(SIPParseError) -> SIPMessage {
        guard let text = String(validating: head, as: UTF8.self) else {
            throw SIPParseError(reason: "headers are not UTF-8")
        }
        // "\r\n" is one Character in Swift: split on both line ends.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r\n" || $0 == "\n" }).map {
            String($0)
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }  // stray CRLF before the start line
        guard let first = lines.first else { throw SIPParseError(reason: "empty message") }
        let startLine = try Self.startLine(first)
        var headers = SIPHeaders()
        var pending: (name: String, value: String)?
        var count = 0
        for line in lines.dropFirst() {
            if let c = line.first, c == " " || c == "\t" {
                // Folded continuation (RFC 3261 §7.3.1).
                guard pending != nil else { throw SIPParseError(reason: "continuation line before any header") }
                pending!.value += " " + line.trimmed
                continue
            }
            if let field = pending { headers.add(field.name, field.value) }
            guard let colon = line.firstIndex(of: ":") else {
                throw SIPParseError(reason: "header line without a colon: \(line.prefix(40))")
            }
            let name = line[..<colon].trimmingCharacters(in: " \t")
            guard !name.isEmpty, name.allSatisfy(Self.isTokenCharacter) else {
                throw SIPParseError(reason: "invalid header name \"\(name.prefix(40))\"")
            }
            count += 1
            guard count <= maxHeaderCount else { throw SIPParseError(reason: "more than \(maxHeaderCount) headers") }
            pending = (name, String(line[line.index(after: colon)...]).trimmed)
        }
        if let field = pending { headers.add(field.name, field.value) }
        return SIPMessage(startLine: startLine, headers: headers)
    }

    static func startLine(_ line: String) throws(SIPParseError) -> SIPMessage.StartLine {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        if line.hasPrefix("SIP/") {
            guard parts.count >= 2, parts[0] == "SIP/2.0" else {
                throw SIPParseError(reason: "unsupported SIP version")
            }
            guard let status = Int(parts[1]), (100...699).contains(status) else {
                throw SIPParseError(reason: "invalid status code \"\(parts[1].prefix(10))\"")
            }
            return .response(status: status, reason: parts.count > 2 ? String(parts[2]) : "")
        }
        // Exactly one space between the three parts (RFC 3261 §7.1; RFC 4475 §3.1.2.8-10).
        let strict = line.split(separator: " ", omittingEmptySubsequences: false)
        guard strict.count == 3, parts.count == 3 else { throw SIPParseError(reason: "malformed request line") }
        guard parts[2] == "SIP/2.0" else {
            let version = "\(parts[2].prefix(12))"
            let isVersion = parts[2].hasPrefix("SIP/") && parts[2].dropFirst(4).allSatisfy { $0.isNumber || $0 == "." }
            throw SIPParseError(reason: "unsupported SIP version \"\(version)\"", status: isVersion ? 505 : 400)
        }
        let method = String(parts[0])
        guard method.allSatisfy(isTokenCharacter) else { throw SIPParseError(reason: "invalid method") }
        let uri = String(parts[1])
        // A bare URI: a scheme, then no brackets, quotes or spaces (RFC 4475 §3.1.2.7).
        let scheme = uri.prefix { $0 != ":" }
        guard uri.contains(":"), !scheme.isEmpty,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }),
            !uri.contains(where: { "<>\" \t".contains($0) })
        else { throw SIPParseError(reason: "invalid Request-URI \"\(uri.prefix(40))\"") }
        return .request(method: method, uri: uri)
    }

    func contentLength(_ headers: SIPHeaders) throws(SIPParseError) -> Int? {
        let values = headers.fields.filter { SIPHeaders.key($0.name) == "content-length" }
        guard let value = values.first?.value else { return nil }
        // Two lengths leave the end of the body to guesswork (RFC 4475 §3.3.9): refused.
        guard values.count == 1 else { throw SIPParseError(reason: "more than one Content-Length header") }
        guard let length = Int(value), length >= 0 else {
            throw SIPParseError(reason: "invalid Content-Length \"\(value.prefix(20))\"")
        }
        guard length <= maxMessageBytes else { throw SIPParseError(reason: "Content-Length \(length) too large") }
        return length
    }

    /// RFC 3261 `token` characters.
    static func isTokenCharacter(_ c: Character) -> Bool {
        guard c.isASCII, let v = c.asciiValue else { return false }
        return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
            || "-.!%*_+`'~".contains(c)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
