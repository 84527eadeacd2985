import Metrics

/// The SIP user agent of the bot, as a state machine without I/O: messages and clock ticks in,
/// effects out (messages to send, media to start, call events).
///
/// It answers INVITEs (100, 180, then 200 with an SDP answer after `answerDelay`), retransmits
/// its 2xx until the ACK, absorbs request retransmissions, handles CANCEL, BYE, OPTIONS,
/// re-INVITE, INFO (dtmf-relay) and the NOTIFYs of a REFER, and sends BYE and REFER with
/// retransmission until answered. Requests from untrusted sources are dropped and counted.
package struct SIPUserAgent: Sendable {
    /// Requests dropped, for operations (`/metrics`); `statistics` keeps the per-agent counts.
    static let droppedMalformed = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "malformed")])
    static let droppedUntrusted = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "untrusted")])

    package let settings: SIPSettings
    package private(set) var statistics = SIPStatistics()
    /// When set, new calls are refused with 503 (the daemon is stopping).
    package var draining = false

    private var calls: [String: Call] = [:]
    /// Responses to non-INVITE requests by branch, replayed to retransmissions.
    private var answered: [String: (response: SIPMessage, expires: Double)] = [:]
    private var clientTransactions: [String: ClientTransaction] = [:]
    private var usedPorts: Set<Int> = []
    private var nextPort: Int
    private var counter: UInt64 = 0
    private let trusted: [AddressBlock]

    package init(settings: SIPSettings) {
        self.settings = settings
        nextPort = settings.rtpPorts.lowerBound + settings.rtpPorts.lowerBound % 2
        trusted = settings.trustedPeers.compactMap(AddressBlock.init)
    }

    /// Calls in progress (answered or being answered).
    package var activeCalls: Int { calls.values.filter { $0.state != .ended }.count }

    // MARK: Types

    struct Call: Sendable {
        enum State: Sendable, Equatable { case ringing, answered, confirmed, ended }
        var state: State
        let callID: String
        let localTag: String
        let remoteTag: String
        /// The INVITE that created the call, for responses.
        var invite: SIPMessage
        let source: SIPAddress
        var remoteTarget: String
        var routeSet: [String]
        let localURI: String
        let remoteURI: String
        var localCSeq: UInt32 = 1
        var remoteCSeq: UInt32
        let localPort: Int
        var agreement: MediaAgreement
        let sessionID: UInt64
        var sdpVersion: UInt64 = 1
        var answerAt: Double
        /// The last final response to the INVITE, retransmitted until the ACK.
        var finalResponse: SIPMessage?
        var lastProvisional: SIPMessage?
        var retransmitAt: Double = .infinity
        var retransmitInterval = SIPSettings.t1
        var giveUpAt: Double = .infinity
        var transferDeadline: Double = .infinity
    }

    struct ClientTransaction: Sendable {
        let request: SIPMessage
        let destination: SIPAddress
        let callID: String
        var retransmitAt: Double
        var interval: Double
        let giveUpAt: Double
        var gotProvisional = false
    }

    // MARK: Input

    /// Handles bytes received from `source`.
    package mutating func receive(_ bytes: [UInt8], from source: SIPAddress, now: Double) -> [SIPEffect] {
        guard isTrusted(source.host) else {
            statistics.droppedUntrusted += 1
            Self.droppedUntrusted.increment()
            return []
        }
        let message: SIPMessage
        do {
            message = try Self.parse(bytes, transport: source.transport)
        } catch {
            // Answer 400 when the request can be answered at all; drop otherwise (RFC 3261 §16.3).
            if let partial = Self.salvage(bytes), partial.isRequest, partial.method != "ACK" {
                statistics.rejectedBadRequest += 1
                var response = partial.response(400, "Bad Request", source: (source.host, source.port))
                response.headers.add("Warning", "399 callbot \"\(error.reason)\"")
                return [.send(response, to: responseAddress(partial, source: source))]
            }
            statistics.droppedMalformed += 1
            Self.droppedMalformed.increment()
            return []
        }
        return receive(message, from: source, now: now)
    }

    /// A stream transport hands over one framed message, which must carry Content-Length.
    private static func parse(_ bytes: [UInt8], transport: SIPTransport) throws(SIPParseError) -> SIPMessage {
        guard transport == .tcp else { return try SIPParser().parse(datagram: bytes) }
        guard case .message(let message, _) = try SIPParser().parse(stream: bytes[...]) else {
            throw SIPParseError(reason: "incomplete message")
        }
        return message
    }

    /// Handles a parsed message from `source`.
    package mutating func receive(_ message: SIPMessage, from source: SIPAddress, now: Double) -> [SIPEffect] {
        guard case .request(let method, _) = message.startLine else { return receiveResponse(message, now: now) }
        guard let callID = message.headers.callID, let cseq = message.headers.cseq, message.headers.topBranch != nil,
            message.headers["From"] != nil, message.headers["To"] != nil, cseq.method == method || method == "ACK"
        else {
            // Without Via, Call-ID and CSeq no response can be matched: drop.
            guard method != "ACK", message.headers.topBranch != nil, message.headers.callID != nil,
                message.headers["CSeq"] != nil
            else {
                statistics.droppedMalformed += 1
                Self.droppedMalformed.increment()
                return []
            }
            statistics.rejectedBadRequest += 1
            return [
                .send(
                    message.response(400, "Bad Request", source: (source.host, source.port)),
                    to: responseAddress(message, source: source))
            ]
        }
        let reply = responseAddress(message, source: source)
        if method != "ACK", method != "INVITE", let cached = answered[transactionKey(message)] {
            return [.send(cached.response, to: reply)]
        }
        switch method {
        case "INVITE":
            if message.headers.toTag != nil { return reInvite(message, source: source, now: now) }
            return invite(message, callID: callID, source: source, now: now)
        case "ACK":
            ack(message, callID: callID)
            return []
        case "CANCEL":
            return cancel(message, callID: callID, source: source)
        case "BYE":
            guard var call = dialog(for: message) else {
                return respond(message, 481, "Call/Transaction Does Not Exist", source: source, now: now)
            }
            call.state = .ended
            calls[callID] = call
            cleanUpCall(callID)
            return respond(message, 200, "OK", source: source, now: now) + [
                .callEnded(callID: callID, reason: "remote_bye")
            ]
        case "OPTIONS":
            var response = message.response(200, "OK", toTag: nextTag(), source: (source.host, source.port))
            response.headers.add("Allow", Self.allowed)
            response.headers.add("Accept", "application/sdp")
            response.headers.add("Supported", "replaces")
            return remember(message, response, to: reply, now: now)
        case "INFO":
            guard dialog(for: message) != nil else {
                return respond(message, 481, "Call/Transaction Does Not Exist", source: source, now: now)
            }
            var effects = respond(message, 200, "OK", source: source, now: now)
            if let digits = Self.dtmfRelay(message) { effects.append(.digits(callID: callID, digits)) }
            return effects
        case "NOTIFY":
            guard dialog(for: message) != nil else {
                return respond(message, 481, "Call/Transaction Does Not Exist", source: source, now: now)
            }
            var effects = respond(message, 200, "OK", source: source, now: now)
            if let status = Self.sipfragStatus(message), status >= 200 {
                calls[callID]?.transferDeadline = .infinity
                effects.append(.transferFinished(callID: callID, status: status))
            }
            return effects
        case "REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE":
            var response = message.response(
                405, "Method Not Allowed", toTag: nextTag(), source: (source.host, source.port))
            response.headers.add("Allow", Self.allowed)
            return remember(message, response, to: reply, now: now)
        default:
            return respond(message, 501, "Not Implemented", source: source, now: now)
        }
    }

    static let allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER"

    // MARK: INVITE

    private mutating func invite(_ message: SIPMessage, callID: String, source: SIPAddress, now: Double) -> [SIPEffect]
    {
        let reply = responseAddress(message, source: source)
        if let call = calls[callID] {
            // A retransmission: repeat where we are.
            if let final = call.finalResponse { return [.send(final, to: reply)] }
            if let provisional = call.lastProvisional { return [.send(provisional, to: reply)] }
            return []
        }
        let origin = (source.host, source.port)
        if draining || activeCalls >= settings.maxCalls {
            statistics.rejectedOverload += 1
            var response = message.response(503, "Service Unavailable", toTag: nextTag(), source: origin)
            response.headers.add("Retry-After", String(settings.retryAfter))
            return [.send(response, to: reply)]
        }
        guard let body = String(validating: message.body, as: UTF8.self), !message.body.isEmpty,
            let offer = try? SDPAudio.parse(body)
        else {
            statistics.rejectedCodec += 1
            var response = message.response(488, "Not Acceptable Here", toTag: nextTag(), source: origin)
            response.headers.add("Warning", "399 callbot \"an SDP offer with audio is required\"")
            return [.send(response, to: reply)]
        }
        guard let agreement = MediaAgreement(offer: offer) else {
            statistics.rejectedCodec += 1
            var response = message.response(488, "Not Acceptable Here", toTag: nextTag(), source: origin)
            response.headers.add("Warning", "305 callbot \"PCMU or PCMA required\"")
            return [.send(response, to: reply)]
        }
        guard let port = allocatePort() else {
            statistics.rejectedOverload += 1
            var response = message.response(503, "Service Unavailable", toTag: nextTag(), source: origin)
            response.headers.add("Retry-After", String(settings.retryAfter))
            return [.send(response, to: reply)]
        }
        let tag = nextTag()
        let call = Call(
            state: .ringing, callID: callID, localTag: tag, remoteTag: message.headers.fromTag ?? "", invite: message,
            source: source,
            remoteTarget: message.headers["Contact"].map(SIPField.uri) ?? SIPField.uri(in: message.headers["From"]!),
            routeSet: message.headers.values("Record-Route"), localURI: message.headers["To"]!,
            remoteURI: message.headers["From"]!, remoteCSeq: message.headers.cseq!.number, localPort: port,
            agreement: agreement, sessionID: nextCounter(), answerAt: now + settings.answerDelay)
        calls[callID] = call
        var trying = message.response(100, "Trying", source: origin)
        trying.headers.add("Server", settings.userAgent)
        var ringing = provisional(call, 180, "Ringing")
        ringing.headers.add("Server", settings.userAgent)
        calls[callID]!.lastProvisional = ringing
        var effects: [SIPEffect] = [.send(trying, to: reply), .send(ringing, to: reply)]
        if settings.answerDelay <= 0 { effects += answer(callID, now: now) }
        return effects
    }

    private func provisional(_ call: Call, _ status: Int, _ reason: String) -> SIPMessage {
        var response = call.invite.response(
            status, reason, toTag: call.localTag, source: (call.source.host, call.source.port))
        response.headers.add("Contact", contact(call.source.transport))
        return response
    }

    private func contact(_ transport: SIPTransport) -> String {
        transport == .udp
            ? "<sip:callbot@\(settings.publicAddress)>"
            : "<sip:callbot@\(settings.publicAddress);transport=\(transport)>"
    }

    /// Sends the 200 OK with the SDP answer and starts media.
    private mutating func answer(_ callID: String, now: Double) -> [SIPEffect] {
        guard var call = calls[callID], call.state == .ringing else { return [] }
        var ok = call.invite.response(200, "OK", toTag: call.localTag, source: (call.source.host, call.source.port))
        for route in call.routeSet { ok.headers.add("Record-Route", route) }
        ok.headers.add("Contact", contact(call.source.transport))
        ok.headers.add("Allow", Self.allowed)
        ok.headers.add("Supported", "replaces")
        ok.headers.add("Server", settings.userAgent)
        ok.headers.add("Content-Type", "application/sdp")
        ok.body = Array(
            call.agreement.answer(
                address: settings.publicAddress.host, port: call.localPort, sessionID: call.sessionID,
                version: call.sdpVersion
            ).utf8)
        call.state = .answered
        call.finalResponse = ok
        call.retransmitAt = now + SIPSettings.t1
        call.retransmitInterval = SIPSettings.t1
        call.giveUpAt = now + 64 * SIPSettings.t1
        calls[callID] = call
        let caller = SIPField.user(in: SIPField.uri(in: call.remoteURI))
        return [
            .startMedia(callID: callID, localPort: call.localPort, agreement: call.agreement),
            .send(ok, to: responseAddress(call.invite, source: call.source)),
            .callAnswered(callID: callID, caller: caller),
        ]
    }

    private mutating func ack(_ message: SIPMessage, callID: String) {
        guard var call = calls[callID] else { return }
        if call.state == .answered { call.state = .confirmed }
        call.retransmitAt = .infinity
        call.giveUpAt = .infinity
        calls[callID] = call
    }

    private mutating func reInvite(_ message: SIPMessage, source: SIPAddress, now: Double) -> [SIPEffect] {
        guard var call = dialog(for: message), call.state != .ended else {
            return respond(message, 481, "Call/Transaction Does Not Exist", source: source, now: now)
        }
        let origin = (source.host, source.port)
        let reply = responseAddress(message, source: source)
        var updated = call.agreement
        if let body = String(validating: message.body, as: UTF8.self), !message.body.isEmpty {
            guard let offer = try? SDPAudio.parse(body), let agreement = MediaAgreement(offer: offer) else {
                return [.send(message.response(488, "Not Acceptable Here", source: origin), to: reply)]
            }
            updated = agreement
        }
        call.sdpVersion += 1
        call.agreement = updated
        call.invite = message
        call.remoteCSeq = message.headers.cseq!.number
        if let target = message.headers["Contact"] { call.remoteTarget = SIPField.uri(in: target) }
        var ok = message.response(200, "OK", source: origin)
        ok.headers.add("Contact", contact(call.source.transport))
        ok.headers.add("Content-Type", "application/sdp")
        ok.body = Array(
            updated.answer(
                address: settings.publicAddress.host, port: call.localPort, sessionID: call.sessionID,
                version: call.sdpVersion
            )
            .utf8)
        call.state = .answered
        call.finalResponse = ok
        call.retransmitAt = now + SIPSettings.t1
        call.retransmitInterval = SIPSettings.t1
        call.giveUpAt = now + 64 * SIPSettings.t1
        calls[call.callID] = call
        return [.updateMedia(callID: call.callID, agreement: updated), .send(ok, to: reply)]
    }

    private mutating func cancel(_ message: SIPMessage, callID: String, source: SIPAddress) -> [SIPEffect] {
        let reply = responseAddress(message, source: source)
        let origin = (source.host, source.port)
        guard var call = calls[callID], call.invite.headers.topBranch == message.headers.topBranch else {
            return [.send(message.response(481, "Call/Transaction Does Not Exist", source: origin), to: reply)]
        }
        var effects: [SIPEffect] = [.send(message.response(200, "OK", toTag: call.localTag, source: origin), to: reply)]
        if call.state == .ringing {
            let terminated = call.invite.response(487, "Request Terminated", toTag: call.localTag, source: origin)
            call.finalResponse = terminated
            call.state = .ended
            calls[callID] = call
            releasePort(call.localPort)
            effects.append(.send(terminated, to: responseAddress(call.invite, source: source)))
            effects.append(.callEnded(callID: callID, reason: "cancelled"))
        }
        return effects
    }

    // MARK: Requests we send

    /// Ends a call: BYE when answered, nothing more to do otherwise.
    package mutating func hangUp(_ callID: String, now: Double) -> [SIPEffect] {
        guard var call = calls[callID], call.state == .answered || call.state == .confirmed else { return [] }
        call.state = .ended
        calls[callID] = call
        let bye = request("BYE", in: &call)
        calls[callID] = call
        return send(bye, call: call, now: now) + [.callEnded(callID: callID, reason: "local_bye")]
    }

    /// Transfers a call (blind, RFC 3515) to `target`, carrying `headers` in the Refer-To URI.
    package mutating func transfer(_ callID: String, to target: String, headers: [(String, String)], now: Double)
        -> [SIPEffect]
    {
        guard var call = calls[callID], call.state == .answered || call.state == .confirmed else {
            return [.transferFinished(callID: callID, status: 481)]
        }
        var refer = request("REFER", in: &call)
        let embedded = headers.map { "\($0.0)=\(Self.escapeHeaderValue($0.1))" }.joined(separator: "&")
        refer.headers.add("Refer-To", "<\(target)\(embedded.isEmpty ? "" : "?" + embedded)>")
        refer.headers.add("Referred-By", contact(call.source.transport))
        call.transferDeadline = now + settings.transferTimeout
        calls[callID] = call
        return send(refer, call: call, now: now)
    }

    /// Escapes a header value for a URI's `?name=value` part (RFC 3261 §19.1.1).
    static func escapeHeaderValue(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-_.!~*'()[]/:+$".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    private mutating func request(_ method: String, in call: inout Call) -> SIPMessage {
        call.localCSeq += 1
        var headers = SIPHeaders()
        let transport = destination(for: call).transport
        headers.add(
            "Via", "SIP/2.0/\(transport.viaToken) \(settings.publicAddress);branch=z9hG4bK-\(nextCounter())-cb;rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", call.localURI.contains(";tag=") ? call.localURI : call.localURI + ";tag=\(call.localTag)")
        headers.add("To", call.remoteURI)
        headers.add("Call-ID", call.callID)
        headers.add("CSeq", "\(call.localCSeq) \(method)")
        for route in call.routeSet.reversed() { headers.add("Route", route) }
        headers.add("Contact", contact(transport))
        headers.add("User-Agent", settings.userAgent)
        return SIPMessage(startLine: .request(method: method, uri: call.remoteTarget), headers: headers)
    }

    private mutating func send(_ request: SIPMessage, call: Call, now: Double) -> [SIPEffect] {
        let destination = destination(for: call)
        // Timer E retransmits over UDP only; timer F bounds the transaction on every transport.
        clientTransactions[request.headers.topBranch!] = ClientTransaction(
            request: request, destination: destination, callID: call.callID,
            retransmitAt: destination.transport == .udp ? now + SIPSettings.t1 : .infinity,
            interval: SIPSettings.t1, giveUpAt: now + 64 * SIPSettings.t1)
        return [.send(request, to: destination)]
    }

    /// Where in-dialog requests go: the first route, else the remote target, else where the call came from.
    /// The transport is the URI's `transport` parameter, else the one the call came on. A caller that
    /// reached us directly over TCP gets them on its own connection: softphones rarely accept new ones.
    private func destination(for call: Call) -> SIPAddress {
        if call.routeSet.isEmpty, call.source.transport == .tcp { return call.source }
        let uri = call.routeSet.first.map(SIPField.uri) ?? call.remoteTarget
        let transport = SIPField.parameter("transport", in: uri).flatMap { SIPTransport(rawValue: $0.lowercased()) }
        if let (host, port) = SIPField.hostPort(in: uri), host.first?.isNumber == true || host.contains(":") {
            return SIPAddress(host: host, port: port ?? 5060, transport: transport ?? call.source.transport)
        }
        return call.source
    }

    private mutating func receiveResponse(_ message: SIPMessage, now: Double) -> [SIPEffect] {
        guard case .response(let status, _) = message.startLine, let branch = message.headers.topBranch,
            var transaction = clientTransactions[branch]
        else { return [] }
        if status < 200 {
            transaction.gotProvisional = true
            transaction.retransmitAt = now + SIPSettings.t2
            clientTransactions[branch] = transaction
            return []
        }
        clientTransactions[branch] = nil
        if transaction.request.method == "REFER", status >= 300 {
            calls[transaction.callID]?.transferDeadline = .infinity
            return [.transferFinished(callID: transaction.callID, status: status)]
        }
        if transaction.request.method == "BYE" { cleanUpCall(transaction.callID) }
        return []
    }

    // MARK: Timers

    /// Retransmissions, answers due and timeouts; call every few tens of milliseconds.
    package mutating func tick(now: Double) -> [SIPEffect] {
        var effects: [SIPEffect] = []
        for callID in calls.keys.sorted() {
            guard var call = calls[callID] else { continue }
            if call.state == .ringing, now >= call.answerAt {
                effects += answer(callID, now: now)
                continue
            }
            if call.state == .answered, now >= call.giveUpAt {
                // No ACK for our 2xx (RFC 3261 §13.3.1.4): end the call.
                effects += hangUp(callID, now: now)
                continue
            }
            if call.state == .answered, now >= call.retransmitAt, let ok = call.finalResponse {
                effects.append(.send(ok, to: responseAddress(call.invite, source: call.source)))
                call.retransmitInterval = min(call.retransmitInterval * 2, SIPSettings.t2)
                call.retransmitAt = now + call.retransmitInterval
            }
            if now >= call.transferDeadline {
                call.transferDeadline = .infinity
                effects.append(.transferFinished(callID: callID, status: 408))
            }
            calls[callID] = call
        }
        for branch in clientTransactions.keys.sorted() {
            guard var transaction = clientTransactions[branch] else { continue }
            if now >= transaction.giveUpAt {
                clientTransactions[branch] = nil
                if transaction.request.method == "REFER" {
                    effects.append(.transferFinished(callID: transaction.callID, status: 408))
                } else {
                    cleanUpCall(transaction.callID)
                }
                continue
            }
            if now >= transaction.retransmitAt {
                effects.append(.send(transaction.request, to: transaction.destination))
                transaction.interval =
                    transaction.gotProvisional ? SIPSettings.t2 : min(transaction.interval * 2, SIPSettings.t2)
                transaction.retransmitAt = now + transaction.interval
                clientTransactions[branch] = transaction
            }
        }
        answered = answered.filter { $0.value.expires > now }
        return effects
    }

    // MARK: Helpers

    private func dialog(for message: SIPMessage) -> Call? {
        guard let callID = message.headers.callID, let call = calls[callID] else { return nil }
        // Requests from the caller carry its tag in From and ours in To.
        guard message.headers.fromTag == call.remoteTag || message.headers.toTag == call.remoteTag else { return nil }
        return call
    }

    private mutating func respond(
        _ message: SIPMessage, _ status: Int, _ reason: String, source: SIPAddress, now: Double
    )
        -> [SIPEffect]
    {
        let tag = message.headers.toTag == nil ? nextTag() : nil
        let response = message.response(status, reason, toTag: tag, source: (source.host, source.port))
        return remember(message, response, to: responseAddress(message, source: source), now: now)
    }

    private mutating func remember(_ request: SIPMessage, _ response: SIPMessage, to address: SIPAddress, now: Double)
        -> [SIPEffect]
    {
        answered[transactionKey(request)] = (response, now + SIPSettings.transactionLifetime)
        return [.send(response, to: address)]
    }

    private func transactionKey(_ request: SIPMessage) -> String {
        "\(request.headers.topBranch ?? "")|\(request.method ?? "")|\(request.headers.callID ?? "")"
    }

    /// Responses go to the source address when the top Via asks for rport or names another host.
    /// Over a stream they go back on the connection the request came on (RFC 3261 §18.2.2).
    private func responseAddress(_ message: SIPMessage, source: SIPAddress) -> SIPAddress {
        guard source.transport == .udp else { return source }
        guard let via = message.headers.values("Via").first else { return source }
        if SIPField.parameter("rport", in: via) != nil { return source }
        let sentBy = via.split(separator: " ").last.map { $0.split(separator: ";").first.map(String.init) ?? "" } ?? ""
        let parts = sentBy.split(separator: ":")
        if parts.count == 2, String(parts[0]) == source.host, let port = Int(parts[1]) {
            return SIPAddress(host: source.host, port: port, transport: source.transport)
        }
        return source
    }

    private mutating func cleanUpCall(_ callID: String) {
        guard let call = calls[callID] else { return }
        releasePort(call.localPort)
        calls[callID] = nil
    }

    private mutating func allocatePort() -> Int? {
        let range = settings.rtpPorts
        let slots = (range.upperBound - range.lowerBound) / 2 + 1
        for _ in 0..<slots {
            let port = nextPort
            nextPort += 2
            if nextPort > range.upperBound { nextPort = range.lowerBound + range.lowerBound % 2 }
            if !usedPorts.contains(port) {
                usedPorts.insert(port)
                return port
            }
        }
        return nil
    }

    private mutating func releasePort(_ port: Int) { usedPorts.remove(port) }

    private mutating func nextCounter() -> UInt64 {
        counter &+= 1
        var generator = SystemRandomNumberGenerator()
        return counter &* 1_000_003 &+ UInt64.random(in: 0..<1_000_000, using: &generator)
    }

    private mutating func nextTag() -> String { String(nextCounter(), radix: 36) }

    private func isTrusted(_ host: String) -> Bool { trusted.contains { $0.contains(host) } }

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
        guard headers["Via"] != nil, headers["Call-ID"] != nil, headers["CSeq"] != nil, headers["From"] != nil,
            headers["To"] != nil
        else { return nil }
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
}

/// An address or a CIDR block of IPv4 or IPv6.
struct AddressBlock: Sendable {
    let bytes: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard let address = parts.first, let bytes = Self.parse(String(address)) else { return nil }
        self.bytes = bytes
        prefix = parts.count == 2 ? Int(parts[1]) ?? bytes.count * 8 : bytes.count * 8
    }

    func contains(_ host: String) -> Bool {
        guard let other = Self.parse(host), other.count == bytes.count else { return false }
        var bits = prefix
        for (a, b) in zip(bytes, other) {
            guard bits > 0 else { return true }
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if a & mask != b & mask { return false }
            bits -= 8
        }
        return true
    }

    static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseIPv6(text) }
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedByDoubleColon: ())
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            let values = part.split(separator: ":").map { UInt16($0, radix: 16) }
            return values.contains(nil) ? nil : values.map { $0! }
        }
        guard let head = groups(halves.0), let tail = groups(halves.1 ?? "") else { return nil }
        let missing = 8 - head.count - tail.count
        guard missing >= 0, halves.1 != nil || missing == 0 else { return nil }
        let all = head + [UInt16](repeating: 0, count: missing) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    /// Splits around the first "::" of an IPv6 address.
    fileprivate func components(separatedByDoubleColon: Void) -> (Substring, Substring?) {
        guard let range = firstRange(of: "::") else { return (self[...], nil) }
        return (self[..<range.lowerBound], self[range.upperBound...])
    }

    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
