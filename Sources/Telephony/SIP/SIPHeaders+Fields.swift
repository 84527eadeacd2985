/// Typed reads of the header fields a user agent needs.
extension SIPHeaders {
    /// The `tag` parameter of From.
    package var fromTag: String? { self["From"].flatMap { SIPField.parameter("tag", in: $0) } }
    /// The `tag` parameter of To.
    package var toTag: String? { self["To"].flatMap { SIPField.parameter("tag", in: $0) } }
    package var callID: String? { self["Call-ID"] }
    /// The `branch` of the topmost Via.
    package var topBranch: String? { values("Via").first.flatMap { SIPField.parameter("branch", in: $0) } }
}

/// Parsing of name-addr values and parameters (RFC 3261 §25.1), tolerant of what peers send.
package enum SIPField {
    /// The value of parameter `name` (`;tag=abc`) outside the URI's angle brackets.
    package static func parameter(_ name: String, in value: String) -> String? {
        let params = afterAddress(value)
        for part in params.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.first?.trimmingCharacters(in: " \t").lowercased() == name.lowercased() else { continue }
            return pair.count == 2 ? pair[1].trimmingCharacters(in: " \t\"") : ""
        }
        return nil
    }

    /// The header parameters of a value, after its address: `;tag=…`.
    static func afterAddress(_ value: String) -> Substring {
        if let close = value.lastIndex(of: ">") { return value[value.index(after: close)...] }
        guard let semicolon = value.firstIndex(of: ";") else { return "" }
        return value[semicolon...]
    }

    /// The URI of a name-addr or addr-spec: `"A" <sip:a@b;lr>;tag=1` → `sip:a@b;lr`.
    package static func uri(in value: String) -> String {
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            return String(value[value.index(after: open)..<close])
        }
        return value.split(separator: ";").first.map { $0.trimmingCharacters(in: " \t") } ?? value
    }

    /// The user part of a SIP URI: `sip:+33612345678@pbx;user=phone` → `+33612345678`.
    package static func user(in uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let rest = uri[uri.index(after: colon)...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        return String(rest[..<at])
    }

    /// Host and port of a SIP URI (`sip:a@127.0.0.1:5060;transport=udp` → ("127.0.0.1", 5060)).
    package static func hostPort(in uri: String) -> (host: String, port: Int?)? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        var rest = uri[uri.index(after: colon)...]
        if let at = rest.firstIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        rest = rest.prefix { $0 != ";" && $0 != "?" && $0 != ">" }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            return (host, after.hasPrefix(":") ? Int(after.dropFirst()) : nil)
        }
        let parts = rest.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { return nil }
        return (String(host), parts.count == 2 ? Int(parts[1]) : nil)
    }
}

extension SIPMessage {
    /// A response to this request (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied,
    /// `toTag` added to To when it has none; `received`/`rport` filled on the top Via.
    package func response(
        _ status: Int, _ reason: String, toTag: String? = nil, source: (host: String, port: Int)? = nil
    ) -> SIPMessage {
        var headers = SIPHeaders()
        for (index, via) in self.headers.values("Via").enumerated() {
            headers.add("Via", index == 0 ? Self.stamp(via, source: source) : via)
        }
        if let from = self.headers["From"] { headers.add("From", from) }
        if var to = self.headers["To"] {
            if let toTag, SIPField.parameter("tag", in: to) == nil { to += ";tag=\(toTag)" }
            headers.add("To", to)
        }
        if let callID = self.headers.callID { headers.add("Call-ID", callID) }
        if let cseq = self.headers["CSeq"] { headers.add("CSeq", cseq) }
        return SIPMessage(startLine: .response(status: status, reason: reason), headers: headers)
    }

    /// The top Via with `received` (when the host differs) and a filled `rport` (RFC 3581).
    static func stamp(_ via: String, source: (host: String, port: Int)?) -> String {
        guard let source else { return via }
        var parts = via.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        var sawRport = false
        for i in parts.indices.dropFirst() {
            let key = parts[i].split(separator: "=").first.map { $0.trimmingCharacters(in: " \t").lowercased() }
            if key == "rport" {
                parts[i] = "rport=\(source.port)"
                sawRport = true
            }
        }
        let sentBy = parts[0].split(separator: " ").last.map(String.init) ?? ""
        let sentHost = sentBy.split(separator: ":").first.map(String.init) ?? sentBy
        if sentHost != source.host || sawRport { parts.append("received=\(source.host)") }
        return parts.joined(separator: ";")
    }
}
