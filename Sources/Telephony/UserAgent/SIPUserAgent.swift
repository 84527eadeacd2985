package import CallbotCore
import Metrics

/// The SIP user agent of the bot, as a state machine without I/O: messages and clock readings in,
/// effects out (messages to send, media to start, call events).
///
/// Three layers: `SIPRequestRules` vets each request (400, 416, 420); `ServerTransactions` and
/// `ClientTransactions` absorb and make retransmissions (RFC 3261 §17); the dialogs here answer
/// INVITEs (100, 180, then 200 with an SDP answer after `answerDelay`), retransmit their 2xx until
/// the ACK, handle CANCEL, BYE, OPTIONS, re-INVITE, INFO (dtmf-relay) and the NOTIFYs of a REFER,
/// and probe answered calls with OPTIONS so that a caller who vanished is noticed. Requests from
/// untrusted sources are dropped and counted. `nextDeadline` says when `tick` is due.
package struct SIPUserAgent: Sendable {
    /// Requests dropped, for operations (`/metrics`); `statistics` keeps the per-agent counts.
    static let droppedMalformed = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "malformed")])
    static let droppedUntrusted = Counter(label: "callbot_sip_dropped_total", dimensions: [("reason", "untrusted")])

    package private(set) var settings: SIPSettings
    package private(set) var statistics = SIPStatistics()
    /// When set, new calls are refused with 503 (the daemon is stopping).
    package var draining = false

    private var calls: [String: Call] = [:]
    private var server = ServerTransactions()
    private var client = ClientTransactions()
    private var usedPorts: Set<Int> = []
    /// Call-IDs of calls that ended lately, until when they may not be used again.
    private var ended: [String: Double] = [:]
    /// The ACKs of refusals to our INVITEs, by branch, for copies of the refusal (timer D).
    private var refusalACKs: [String: (ack: SIPMessage, destination: SIPAddress, until: Double)] = [:]
    private var counter: UInt64 = 0

    package init(settings: SIPSettings) {
        self.settings = settings
    }

    /// New settings (a reload): calls in progress keep their ports and timers; new ones follow these.
    package mutating func update(_ settings: SIPSettings) { self.settings = settings }

    /// Calls in progress (answered or being answered).
    package var activeCalls: Int { calls.values.filter { $0.state != .ended }.count }

    /// Transactions and dialogs held in memory, for tests of what a flood leaves behind.
    package var footprint: (calls: Int, serverTransactions: Int, clientTransactions: Int) {
        (calls.count, server.count, client.pending.count)
    }

    // MARK: Types

    struct Call: Sendable {
        /// `dialing`: an INVITE of ours awaits its final response.
        enum State: Sendable, Equatable { case ringing, dialing, answered, confirmed, ended }
        var state: State
        let callID: String
        let localTag: String
        var remoteTag: String
        /// The INVITE that created the call (or the last re-INVITE), for responses.
        var invite: SIPMessage
        var inviteTransaction: TransactionID
        let source: SIPAddress
        var remoteTarget: String
        var routeSet: [String]
        let localURI: String
        var remoteURI: String
        var localCSeq: UInt32 = 1
        var remoteCSeq: UInt32
        let localPort: Int
        var agreement: MediaAgreement
        let sessionID: UInt64
        var sdpVersion: UInt64 = 1
        var answerAt: Double
        /// The 2xx to the INVITE, retransmitted until the ACK.
        var finalResponse: SIPMessage?
        var lastProvisional: SIPMessage?
        var retransmitAt: Double = .infinity
        var retransmitInterval = SIPSettings.t1
        var giveUpAt: Double = .infinity
        var transferDeadline: Double = .infinity
        /// When to check with OPTIONS that the caller is still there.
        var probeAt: Double = .infinity
        /// A call the bot placed: how, and where it stands.
        var outbound: Outbound?

        /// The next moment something is due for this call.
        var nextDeadline: Double {
            min(
                state == .ringing ? answerAt : .infinity,
                state == .dialing ? outbound?.ringUntil ?? .infinity : .infinity,
                retransmitAt, giveUpAt, transferDeadline, probeAt)
        }
    }

    /// What a call the bot placed needs beyond a dialog.
    struct Outbound: Sendable {
        let request: DialRequest
        /// When to give up ringing (CANCEL).
        var ringUntil: Double
        var gotProvisional = false
        var cancelled = false
        var authenticated = false
        /// In-dialog requests (BYE, REFER) already sent again with credentials.
        var challenged: Set<String> = []
        /// The ACK of the 2xx, sent again if the 2xx is.
        var ack: SIPMessage?
        /// Whether the adapter was told the call is answered.
        var reported = false
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
            if let partial = SIPRequestRules.salvage(bytes), partial.isRequest, partial.method != "ACK" {
                let reason = error.status == 505 ? "Version Not Supported" : "Bad Request"
                return reject(partial, error.status, reason, warning: error.reason, source: source, now: now)
            }
            return dropMalformed()
        }
        return receive(message, from: source, now: now)
    }

    /// A stream transport hands over one framed message, which must carry Content-Length.
    private static func parse(_ bytes: [UInt8], transport: SIPTransport) throws(SIPParseError) -> SIPMessage {
        guard transport.isStream else { return try SIPParser().parse(datagram: bytes) }
        guard case .message(let message, _) = try SIPParser().parse(stream: bytes[...]) else {
            throw SIPParseError(reason: "incomplete message")
        }
        return message
    }

    /// Handles a parsed message from `source`.
    package mutating func receive(_ message: SIPMessage, from source: SIPAddress, now: Double) -> [SIPEffect] {
        guard case .request(let method, _) = message.startLine else { return receiveResponse(message, now: now) }
        switch SIPRequestRules.check(message) {
        case .accept:
            break
        case .drop:
            return dropMalformed()
        case .reject(let status, let reason, let warning, let headers):
            return reject(
                message, status, reason, warning: warning, headers: headers.map { ($0.name, $0.value) },
                source: source, now: now)
        }
        guard let id = TransactionID(message) else { return dropMalformed() }
        let callID = message.headers.callID!
        if method == "ACK" {
            ack(message, id: id, callID: callID, now: now)
            return []
        }
        if let done = server.response(to: id) { return [.send(done.response, to: done.destination)] }
        switch method {
        case "INVITE":
            if message.headers.toTag != nil { return reInvite(message, id: id, source: source, now: now) }
            return invite(message, id: id, callID: callID, source: source, now: now)
        case "CANCEL":
            return cancel(message, id: id, callID: callID, source: source, now: now)
        case "BYE":
            guard let call = dialog(for: message) else { return noDialog(message, id: id, source: source, now: now) }
            cleanUpCall(callID, now: now)
            var effects = respond(message, id: id, 200, "OK", source: source, now: now)
            if call.state == .ringing {
                // A BYE in the early dialog also ends the INVITE (RFC 3261 §15.1.2).
                let terminated = call.invite.response(
                    487, "Request Terminated", toTag: call.localTag, source: (call.source.host, call.source.port))
                effects.append(
                    server.complete(
                        call.inviteTransaction, with: terminated, to: responseAddress(call.invite, source: call.source),
                        now: now))
            }
            return effects + [.callEnded(callID: callID, reason: "remote_bye")]
        case "OPTIONS":
            var response = message.response(200, "OK", toTag: nextTag(), source: (source.host, source.port))
            response.headers.add("Allow", Self.allowed)
            response.headers.add("Accept", "application/sdp")
            return [server.complete(id, with: response, to: responseAddress(message, source: source), now: now)]
        case "INFO":
            guard dialog(for: message) != nil else { return noDialog(message, id: id, source: source, now: now) }
            var effects = respond(message, id: id, 200, "OK", source: source, now: now)
            if let digits = SIPRequestRules.dtmfRelay(message) { effects.append(.digits(callID: callID, digits)) }
            return effects
        case "NOTIFY":
            guard dialog(for: message) != nil else { return noDialog(message, id: id, source: source, now: now) }
            var effects = respond(message, id: id, 200, "OK", source: source, now: now)
            if let status = SIPRequestRules.sipfragStatus(message), status >= 200 {
                calls[callID]?.transferDeadline = .infinity
                effects.append(.transferFinished(callID: callID, status: status))
            }
            return effects
        case "REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE", "REFER":
            var response = message.response(
                405, "Method Not Allowed", toTag: nextTag(), source: (source.host, source.port))
            response.headers.add("Allow", Self.allowed)
            return [server.complete(id, with: response, to: responseAddress(message, source: source), now: now)]
        default:
            return respond(message, id: id, 501, "Not Implemented", source: source, now: now)
        }
    }

    static let allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY"

    // MARK: INVITE

    private mutating func invite(
        _ message: SIPMessage, id: TransactionID, callID: String, source: SIPAddress, now: Double
    ) -> [SIPEffect] {
        let reply = responseAddress(message, source: source)
        if let call = calls[callID] {
            // The same INVITE again: repeat where we are. Another INVITE for the same call without a
            // To tag is a merged request (RFC 3261 §8.2.2.2).
            if call.inviteTransaction == id {
                if let final = call.finalResponse { return [.send(final, to: reply)] }
                if let provisional = call.lastProvisional { return [.send(provisional, to: reply)] }
                return []
            }
            return reject(message, 482, "Loop Detected", source: source, now: now)
        }
        if let until = ended[callID], now < until {
            return reject(message, 481, "Call/Transaction Does Not Exist", source: source, now: now)
        }
        if draining || activeCalls >= settings.maxCalls {
            statistics.rejectedOverload += 1
            return reject(
                message, 503, "Service Unavailable", headers: [("Retry-After", String(settings.retryAfter))],
                source: source, now: now)
        }
        let contentType = (message.headers["Content-Type"] ?? "application/sdp").split(separator: ";").first ?? ""
        if !message.body.isEmpty, contentType.trimmingCharacters(in: " \t").lowercased() != "application/sdp" {
            statistics.rejectedCodec += 1
            return reject(
                message, 415, "Unsupported Media Type", headers: [("Accept", "application/sdp")], source: source,
                now: now)
        }
        guard SIPRequestRules.acceptsSDP(message.headers) else {
            statistics.rejectedCodec += 1
            return reject(
                message, 406, "Not Acceptable", warning: "the answer is application/sdp", source: source, now: now)
        }
        let offer: SDPAudio
        switch Self.offer(in: message) {
        case .failure(let refusal):
            statistics.rejectedCodec += 1
            return reject(message, 488, "Not Acceptable Here", warning: refusal.warning, source: source, now: now)
        case .success(let parsed):
            offer = parsed
        }
        guard let agreement = MediaAgreement(offer: offer) else {
            statistics.rejectedCodec += 1
            return reject(
                message, 488, "Not Acceptable Here", warning: "PCMU or PCMA required", code: 305, source: source,
                now: now)
        }
        guard let port = allocatePort() else {
            statistics.rejectedOverload += 1
            return reject(
                message, 503, "Service Unavailable", headers: [("Retry-After", String(settings.retryAfter))],
                source: source, now: now)
        }
        let call = Call(
            state: .ringing, callID: callID, localTag: nextTag(), remoteTag: message.headers.fromTag ?? "",
            invite: message, inviteTransaction: id, source: source,
            remoteTarget: message.headers["Contact"].map(SIPField.uri) ?? SIPField.uri(in: message.headers["From"]!),
            routeSet: message.headers.values("Record-Route"), localURI: message.headers["To"]!,
            remoteURI: message.headers["From"]!, remoteCSeq: message.headers.cseq!.number, localPort: port,
            agreement: agreement, sessionID: nextCounter(), answerAt: now + settings.answerDelay)
        calls[callID] = call
        var trying = message.response(100, "Trying", source: (source.host, source.port))
        trying.headers.add("Server", settings.userAgent)
        var ringing = provisional(call, 180, "Ringing")
        ringing.headers.add("Server", settings.userAgent)
        calls[callID]!.lastProvisional = ringing
        var effects: [SIPEffect] = [.send(trying, to: reply), .send(ringing, to: reply)]
        if settings.answerDelay <= 0 { effects += answer(callID, now: now) }
        return effects
    }

    /// Why an offer cannot be served, as a 488's Warning.
    struct OfferRefusal: Error {
        let warning: String
    }

    /// The audio offer of an INVITE, refused when there is none or when its address cannot be reached:
    /// media go over IPv4 to an address literal (a host name would need a resolver on the media path,
    /// and an unreachable one would leave the caller in silence).
    static func offer(in message: SIPMessage) -> Result<SDPAudio, OfferRefusal> {
        guard !message.body.isEmpty, let body = String(validating: message.body, as: UTF8.self),
            let offer = try? SDPAudio.parse(body)
        else { return .failure(OfferRefusal(warning: "an SDP offer with RTP/AVP audio is required")) }
        guard offer.addressType == "IP4", AddressBlock.parse(offer.address)?.count == 4 else {
            return .failure(OfferRefusal(warning: "the media address must be an IPv4 address"))
        }
        if offer.isSecure, SRTPKeys(offer: offer.crypto) == nil {
            return .failure(OfferRefusal(warning: "SRTP needs an AES_CM_128_HMAC_SHA1_80 inline key (a=crypto)"))
        }
        return .success(offer)
    }

    private func provisional(_ call: Call, _ status: Int, _ reason: String) -> SIPMessage {
        var response = call.invite.response(
            status, reason, toTag: call.localTag, source: (call.source.host, call.source.port))
        response.headers.add("Contact", contact(call.source.transport))
        return response
    }

    private func contact(_ transport: SIPTransport) -> String {
        transport == .udp
            ? "<sip:callbot@\(settings.publicAddress(transport))>"
            : "<sip:callbot@\(settings.publicAddress(transport));transport=\(transport)>"
    }

    /// Time to answer: asks for the call's media first (`mediaReady` or `mediaFailed` follows).
    private mutating func answer(_ callID: String, now: Double) -> [SIPEffect] {
        guard var call = calls[callID], call.state == .ringing, call.answerAt < .infinity else { return [] }
        call.answerAt = .infinity
        calls[callID] = call
        return [.startMedia(callID: callID, localPort: call.localPort, agreement: call.agreement)]
    }

    /// The call's media are open: sends the 200 OK with the SDP answer (a call we placed is
    /// answered already: the application may start).
    package mutating func mediaReady(_ callID: String, now: Double) -> [SIPEffect] {
        if var outbound = calls[callID]?.outbound, calls[callID]?.state == .confirmed, !outbound.reported {
            outbound.reported = true
            calls[callID]?.outbound = outbound
            return [.callAnswered(callID: callID, caller: SIPField.user(in: outbound.request.target))]
        }
        guard var call = calls[callID], call.state == .ringing else { return [] }
        var ok = call.invite.response(200, "OK", toTag: call.localTag, source: (call.source.host, call.source.port))
        for route in call.routeSet { ok.headers.add("Record-Route", route) }
        ok.headers.add("Contact", contact(call.source.transport))
        ok.headers.add("Allow", Self.allowed)
        ok.headers.add("Server", settings.userAgent)
        ok.headers.add("Content-Type", "application/sdp")
        ok.body = Array(
            call.agreement.answer(
                address: settings.publicAddress.host, port: call.localPort, sessionID: call.sessionID,
                version: call.sdpVersion
            ).utf8)
        call.state = .answered
        call.finalResponse = ok
        call.retransmitAt = call.source.transport == .udp ? now + SIPSettings.t1 : .infinity
        call.retransmitInterval = SIPSettings.t1
        call.giveUpAt = now + 64 * SIPSettings.t1
        calls[callID] = call
        let caller = SIPField.user(in: SIPField.uri(in: call.remoteURI))
        return [
            .send(ok, to: responseAddress(call.invite, source: call.source)),
            .callAnswered(callID: callID, caller: caller),
        ]
    }

    /// The call's media could not be opened (no file descriptor or port left): 503, and the call is over.
    package mutating func mediaFailed(_ callID: String, now: Double) -> [SIPEffect] {
        if calls[callID]?.outbound != nil {
            statistics.rejectedOverload += 1
            return hangUp(callID, reason: "no_media", now: now) + [.dialFailed(callID: callID, status: 503)]
        }
        guard let call = calls[callID], call.state == .ringing else { return [] }
        statistics.rejectedOverload += 1
        cleanUpCall(callID, now: now)
        var refusal = call.invite.response(
            503, "Service Unavailable", toTag: call.localTag, source: (call.source.host, call.source.port))
        refusal.headers.add("Retry-After", String(settings.retryAfter))
        return [
            server.complete(
                call.inviteTransaction, with: refusal, to: responseAddress(call.invite, source: call.source), now: now),
            .callEnded(callID: callID, reason: "no_media"),
        ]
    }

    private mutating func ack(_ message: SIPMessage, id: TransactionID, callID: String, now: Double) {
        // The ACK of a rejected INVITE belongs to its transaction; the ACK of a 2xx to the dialog.
        server.acknowledge(id)
        guard var call = calls[callID], message.headers.toTag == call.localTag,
            (message.headers.fromTag ?? "") == call.remoteTag
        else { return }
        guard call.state == .answered else { return }
        call.state = .confirmed
        call.retransmitAt = .infinity
        call.giveUpAt = .infinity
        if call.probeAt == .infinity, settings.probeInterval > 0 {
            call.probeAt = now + settings.probeInterval
        }
        calls[callID] = call
    }

    private mutating func reInvite(_ message: SIPMessage, id: TransactionID, source: SIPAddress, now: Double)
        -> [SIPEffect]
    {
        guard var call = dialog(for: message), call.state == .confirmed || call.state == .answered else {
            return noDialog(message, id: id, source: source, now: now)
        }
        if call.inviteTransaction == id, let final = call.finalResponse {
            return [.send(final, to: responseAddress(message, source: source))]
        }
        guard let cseq = message.headers.cseq?.number, cseq > call.remoteCSeq else {
            return respond(message, id: id, 500, "Server Internal Error", source: source, now: now)
        }
        if call.state == .answered {
            // Our 2xx is still unacknowledged: the re-INVITE must wait (RFC 3261 §14.2).
            var busy = message.response(491, "Request Pending", source: (source.host, source.port))
            busy.headers.add("Retry-After", "1")
            return [server.complete(id, with: busy, to: responseAddress(message, source: source), now: now)]
        }
        var updated = call.agreement
        if !message.body.isEmpty {
            switch Self.offer(in: message) {
            case .failure(let refusal):
                return reject(message, 488, "Not Acceptable Here", warning: refusal.warning, source: source, now: now)
            case .success(let offer):
                guard var agreement = MediaAgreement(offer: offer) else {
                    return reject(
                        message, 488, "Not Acceptable Here", warning: "PCMU or PCMA required", code: 305,
                        source: source, now: now)
                }
                // The caller's key unchanged: the bot's stays too (a new one would restart its stream).
                if let before = call.agreement.srtp, agreement.srtp?.remote == before.remote {
                    agreement.srtp?.local = before.local
                }
                updated = agreement
            }
        }
        call.sdpVersion += 1
        call.agreement = updated
        call.invite = message
        call.inviteTransaction = id
        call.remoteCSeq = cseq
        if let target = message.headers["Contact"] { call.remoteTarget = SIPField.uri(in: target) }
        var ok = message.response(200, "OK", source: (source.host, source.port))
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
        call.retransmitAt = source.transport == .udp ? now + SIPSettings.t1 : .infinity
        call.retransmitInterval = SIPSettings.t1
        call.giveUpAt = now + 64 * SIPSettings.t1
        calls[call.callID] = call
        return [
            .updateMedia(callID: call.callID, agreement: updated),
            .send(ok, to: responseAddress(message, source: source)),
        ]
    }

    private mutating func cancel(
        _ message: SIPMessage, id: TransactionID, callID: String, source: SIPAddress, now: Double
    ) -> [SIPEffect] {
        guard let invite = TransactionID(message, method: "INVITE"), let call = calls[callID],
            call.inviteTransaction == invite
        else { return respond(message, id: id, 481, "Call/Transaction Does Not Exist", source: source, now: now) }
        var effects = respond(message, id: id, 200, "OK", toTag: call.localTag, source: source, now: now)
        guard call.state == .ringing else { return effects }  // already answered: the CANCEL changes nothing
        let terminated = call.invite.response(
            487, "Request Terminated", toTag: call.localTag, source: (call.source.host, call.source.port))
        cleanUpCall(callID, now: now)
        effects.append(
            server.complete(invite, with: terminated, to: responseAddress(call.invite, source: call.source), now: now))
        effects.append(.callEnded(callID: callID, reason: "cancelled"))
        return effects
    }

    // MARK: Calls we place

    /// Places a call: an INVITE with the bot's SDP offer to `request.proxy`, answering one digest
    /// challenge with the request's credentials, cancelled after `ringTimeout` of ringing. Then
    /// either `dialFailed` with the final status, or `startMedia` and, once `mediaReady`,
    /// `callAnswered`: from there it is a call like any other.
    package mutating func dial(_ request: DialRequest, now: Double) -> [SIPEffect] {
        guard !draining, activeCalls < settings.maxCalls, calls[request.callID] == nil,
            ended[request.callID] == nil, let port = allocatePort()
        else { return [.dialFailed(callID: request.callID, status: 503)] }
        let tag = nextTag()
        let name = request.displayName.map { "\"\($0.filter { $0 != "\"" && $0 != "\\" })\" " } ?? ""
        let sessionID = nextCounter()
        let offer = Self.offer(address: settings.publicAddress.host, port: port, sessionID: sessionID)
        // Until the answer names the far end, the agreement is our own offer's.
        guard let parsed = try? SDPAudio.parse(offer), let placeholder = MediaAgreement(offer: parsed) else {
            return [.dialFailed(callID: request.callID, status: 500)]
        }
        var call = Call(
            state: .dialing, callID: request.callID, localTag: tag, remoteTag: "",
            invite: SIPMessage(startLine: .request(method: "INVITE", uri: request.target)),
            inviteTransaction: TransactionID(
                SIPMessage(
                    startLine: .request(method: "INVITE", uri: request.target),
                    headers: SIPHeaders([("Via", "SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK-none")])))!,
            source: request.proxy, remoteTarget: request.target, routeSet: [],
            localURI: "\(name)<\(request.from)>;tag=\(tag)", remoteURI: "<\(request.target)>", remoteCSeq: 0,
            localPort: port, agreement: placeholder, sessionID: sessionID, answerAt: .infinity)
        call.outbound = Outbound(request: request, ringUntil: now + request.ringTimeout)
        let invite = outboundInvite(&call, offer: offer, authorization: nil)
        calls[request.callID] = call
        return [client.start(invite, to: request.proxy, callID: request.callID, now: now)]
    }

    /// The bot's SDP offer: PCMU and PCMA, telephone events, 20 ms packets.
    static func offer(address: String, port: Int, sessionID: UInt64, version: UInt64 = 1) -> String {
        [
            "v=0", "o=callbot \(sessionID) \(version) IN IP4 \(address)", "s=Callbot", "c=IN IP4 \(address)", "t=0 0",
            "m=audio \(port) RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv",
        ].joined(separator: "\r\n") + "\r\n"
    }

    /// The call's INVITE (again, with credentials, after a challenge), remembered in the call.
    private mutating func outboundInvite(_ call: inout Call, offer: String, authorization: (String, String)?)
        -> SIPMessage
    {
        let request = call.outbound!.request
        let transport = request.proxy.transport
        var headers = SIPHeaders()
        headers.add(
            "Via",
            "SIP/2.0/\(transport.viaToken) \(settings.publicAddress(transport));branch=z9hG4bK-\(nextCounter())-cb;rport"
        )
        headers.add("Max-Forwards", "70")
        headers.add("From", call.localURI)
        headers.add("To", "<\(request.target)>")
        headers.add("Call-ID", call.callID)
        headers.add("CSeq", "\(call.localCSeq) INVITE")
        headers.add("Contact", contact(transport))
        headers.add("Allow", Self.allowed)
        headers.add("User-Agent", settings.userAgent)
        if let (name, value) = authorization { headers.add(name, value) }
        headers.add("Content-Type", "application/sdp")
        let invite = SIPMessage(
            startLine: .request(method: "INVITE", uri: request.target), headers: headers, body: Array(offer.utf8))
        call.invite = invite
        if let id = TransactionID(invite) { call.inviteTransaction = id }
        return invite
    }

    /// A final response to an INVITE of ours.
    private mutating func outboundFinal(_ response: SIPMessage, status: Int, callID: String, now: Double)
        -> [SIPEffect]
    {
        guard var call = calls[callID], var outbound = call.outbound else { return [] }
        if status >= 300 {
            // Non-2xx: the transaction's ACK, same branch (RFC 3261 §17.1.1.3), sent again for
            // each copy of the response until timer D.
            let ack = nonSuccessACK(call, response)
            if let branch = response.headers.topBranch {
                if refusalACKs.count > 1024 { refusalACKs = refusalACKs.filter { $0.value.until > now } }
                refusalACKs[branch] = (ack, call.source, now + 32)
            }
            var effects: [SIPEffect] = [.send(ack, to: call.source)]
            let header = status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate"
            if status == 401 || status == 407, !outbound.authenticated, !outbound.cancelled,
                let credentials = outbound.request.credentials,
                let challenge = response.headers[header].flatMap(DigestChallenge.init)
            {
                outbound.authenticated = true
                // The new INVITE may be cancelled only once it got a provisional response itself.
                outbound.gotProvisional = false
                call.outbound = outbound
                call.localCSeq += 1
                let value = challenge.authorization(
                    method: "INVITE", uri: outbound.request.target, credentials: credentials,
                    cnonce: String(nextCounter(), radix: 16))
                let invite = outboundInvite(
                    &call, offer: String(decoding: call.invite.body, as: UTF8.self),
                    authorization: (status == 407 ? "Proxy-Authorization" : "Authorization", value))
                calls[callID] = call
                effects.append(client.start(invite, to: call.source, callID: callID, now: now))
                return effects
            }
            cleanUpCall(callID, now: now)
            return effects + [.dialFailed(callID: callID, status: status)]
        }
        // 2xx: the dialog is set up by the answer; ACK it (a new transaction, RFC 3261 §13.2.2.4).
        call.remoteTag = response.headers.toTag ?? ""
        call.remoteURI = response.headers["To"] ?? call.remoteURI
        if let target = response.headers["Contact"] { call.remoteTarget = SIPField.uri(in: target) }
        call.routeSet = response.headers.values("Record-Route").reversed()
        call.localCSeq -= 1  // the ACK carries the INVITE's number; `request` adds one
        var ack = request("ACK", in: &call)
        ack.headers.remove("Contact")
        // The ACK carries the INVITE's credentials (RFC 3261 §13.2.2.4, §22.1).
        for name in ["Authorization", "Proxy-Authorization"] {
            if let value = call.invite.headers[name] { ack.headers.add(name, value) }
        }
        outbound.ack = ack
        call.outbound = outbound
        call.state = .confirmed
        let destination = destination(for: call)
        var effects: [SIPEffect] = [.send(ack, to: destination)]
        let answer = response.body.isEmpty ? nil : try? SDPAudio.parse(String(decoding: response.body, as: UTF8.self))
        guard !outbound.cancelled, let answer, answer.addressType == "IP4", !answer.isSecure,
            let agreement = MediaAgreement(offer: answer)
        else {
            // Answered after our CANCEL, or with media we cannot use: hang up at once.
            calls[callID] = call
            effects += hangUp(callID, reason: outbound.cancelled ? "cancelled" : "no_media", now: now)
            return effects + [.dialFailed(callID: callID, status: outbound.cancelled ? 487 : 488)]
        }
        call.agreement = agreement
        if settings.probeInterval > 0 { call.probeAt = now + settings.probeInterval }
        calls[callID] = call
        effects.append(.startMedia(callID: callID, localPort: call.localPort, agreement: agreement))
        return effects
    }

    /// A final response to an INVITE of ours whose transaction is over: a copy of a 2xx (its ACK
    /// again), a copy of a refusal (its ACK again, until timer D), or a 2xx that came too late (the
    /// call was given up, or another fork answered): acknowledged and hung up at once, so that
    /// nobody is left on a line the bot no longer serves.
    private mutating func unmatchedFinal(_ response: SIPMessage, status: Int, now: Double) -> [SIPEffect] {
        guard status >= 200, response.headers.cseq?.method == "INVITE", let callID = response.headers.callID else {
            return []
        }
        if status >= 300 {
            refusalACKs = refusalACKs.filter { $0.value.until > now }
            guard let branch = response.headers.topBranch, let sent = refusalACKs[branch] else { return [] }
            return [.send(sent.ack, to: sent.destination)]
        }
        if let call = calls[callID], let ack = call.outbound?.ack, response.headers.toTag == call.remoteTag {
            return [.send(ack, to: destination(for: call))]
        }
        // Ours only: the branch the bot puts in its Via.
        guard response.headers.topBranch?.hasSuffix("-cb") == true,
            let target = response.headers["Contact"].map(SIPField.uri),
            let (host, port) = SIPField.hostPort(in: target), AddressBlock.parse(host) != nil
        else { return [] }
        let destination = SIPAddress(host: host, port: port ?? 5060)
        let number = response.headers.cseq?.number ?? 1
        var effects: [SIPEffect] = []
        for (method, cseq) in [("ACK", number), ("BYE", number + 1)] {
            var headers = SIPHeaders()
            headers.add(
                "Via", "SIP/2.0/UDP \(settings.publicAddress(.udp));branch=z9hG4bK-\(nextCounter())-cb;rport")
            headers.add("Max-Forwards", "70")
            if let from = response.headers["From"] { headers.add("From", from) }
            if let to = response.headers["To"] { headers.add("To", to) }
            headers.add("Call-ID", callID)
            headers.add("CSeq", "\(cseq) \(method)")
            headers.add("User-Agent", settings.userAgent)
            effects.append(
                .send(SIPMessage(startLine: .request(method: method, uri: target), headers: headers), to: destination))
        }
        return effects
    }

    /// A BYE or REFER of a call we placed that the trunk challenges: sent once more with the
    /// call's credentials (a new CSeq and branch); nil when it cannot be.
    private mutating func authenticate(_ request: SIPMessage, response: SIPMessage, now: Double) -> [SIPEffect]? {
        let asked = response.headers["Proxy-Authenticate"] != nil ? "Proxy-Authenticate" : "WWW-Authenticate"
        guard let method = request.method, method == "BYE" || method == "REFER", let callID = request.headers.callID,
            var call = calls[callID], var outbound = call.outbound, !outbound.challenged.contains(method),
            let credentials = outbound.request.credentials,
            let challenge = response.headers[asked].flatMap(DigestChallenge.init),
            case .request(_, let uri) = request.startLine
        else { return nil }
        outbound.challenged.insert(method)
        call.outbound = outbound
        call.localCSeq += 1
        var again = request
        let transport = destination(for: call).transport
        again.headers.set(
            "Via",
            "SIP/2.0/\(transport.viaToken) \(settings.publicAddress(transport));branch=z9hG4bK-\(nextCounter())-cb;rport"
        )
        again.headers.set("CSeq", "\(call.localCSeq) \(method)")
        again.headers.set(
            asked == "Proxy-Authenticate" ? "Proxy-Authorization" : "Authorization",
            challenge.authorization(
                method: method, uri: uri, credentials: credentials, cnonce: String(nextCounter(), radix: 16)))
        calls[callID] = call
        return [client.start(again, to: destination(for: call), callID: callID, now: now)]
    }

    /// The ACK of a non-2xx final response to our INVITE: its Request-URI, Via and From, the
    /// response's To.
    private func nonSuccessACK(_ call: Call, _ response: SIPMessage) -> SIPMessage {
        var headers = SIPHeaders()
        if let via = call.invite.headers.values("Via").first { headers.add("Via", via) }
        headers.add("Max-Forwards", "70")
        headers.add("From", call.localURI)
        headers.add("To", response.headers["To"] ?? call.remoteURI)
        headers.add("Call-ID", call.callID)
        headers.add("CSeq", "\(call.invite.headers.cseq?.number ?? 1) ACK")
        guard case .request(_, let uri) = call.invite.startLine else { return call.invite }
        return SIPMessage(startLine: .request(method: "ACK", uri: uri), headers: headers)
    }

    /// Rang long enough: CANCEL the INVITE (once it got a provisional response, RFC 3261 §9.1);
    /// without one, the call is given up.
    private mutating func ringTimeout(_ callID: String, now: Double) -> [SIPEffect] {
        guard var call = calls[callID], var outbound = call.outbound, call.state == .dialing else { return [] }
        outbound.ringUntil = .infinity
        guard outbound.gotProvisional else {
            cleanUpCall(callID, now: now)
            return [.dialFailed(callID: callID, status: 408)]
        }
        outbound.cancelled = true
        call.outbound = outbound
        // The 487 should follow; if nothing does, the call is given up after 64·T1.
        call.giveUpAt = now + 64 * SIPSettings.t1
        calls[callID] = call
        var headers = SIPHeaders()
        if let via = call.invite.headers.values("Via").first { headers.add("Via", via) }
        headers.add("Max-Forwards", "70")
        headers.add("From", call.localURI)
        headers.add("To", call.invite.headers["To"] ?? call.remoteURI)
        headers.add("Call-ID", callID)
        headers.add("CSeq", "\(call.invite.headers.cseq?.number ?? 1) CANCEL")
        headers.add("User-Agent", settings.userAgent)
        guard case .request(_, let uri) = call.invite.startLine else { return [] }
        let cancel = SIPMessage(startLine: .request(method: "CANCEL", uri: uri), headers: headers)
        return [client.start(cancel, to: call.source, callID: callID, now: now)]
    }

    // MARK: Requests we send

    /// Ends a call: BYE when answered, nothing more to do otherwise. `reason` is reported with the
    /// end of the call (`local_bye`, `media_timeout`…).
    package mutating func hangUp(_ callID: String, reason: String = "local_bye", now: Double) -> [SIPEffect] {
        guard var call = calls[callID], call.state == .answered || call.state == .confirmed else { return [] }
        call.state = .ended
        call.retransmitAt = .infinity
        call.giveUpAt = .infinity
        call.transferDeadline = .infinity
        call.probeAt = .infinity
        let bye = request("BYE", in: &call)
        calls[callID] = call
        return [client.start(bye, to: destination(for: call), callID: callID, now: now)] + [
            .callEnded(callID: callID, reason: reason)
        ]
    }

    /// Transfers a call (blind, RFC 3515) to `target`, carrying `headers` in the Refer-To URI.
    package mutating func transfer(_ callID: String, to target: String, headers: [(String, String)], now: Double)
        -> [SIPEffect]
    {
        guard var call = calls[callID], call.state == .answered || call.state == .confirmed else {
            return [.transferFinished(callID: callID, status: 481)]
        }
        var refer = request("REFER", in: &call)
        let embedded = headers.map { "\($0.0)=\(SIPRequestRules.escapeHeaderValue($0.1))" }.joined(separator: "&")
        refer.headers.add("Refer-To", "<\(target)\(embedded.isEmpty ? "" : "?" + embedded)>")
        refer.headers.add("Referred-By", contact(call.source.transport))
        call.transferDeadline = now + settings.transferTimeout
        calls[callID] = call
        return [client.start(refer, to: destination(for: call), callID: callID, now: now)]
    }

    private mutating func request(_ method: String, in call: inout Call) -> SIPMessage {
        call.localCSeq += 1
        var headers = SIPHeaders()
        let transport = destination(for: call).transport
        headers.add(
            "Via",
            "SIP/2.0/\(transport.viaToken) \(settings.publicAddress(transport));branch=z9hG4bK-\(nextCounter())-cb;rport"
        )
        headers.add("Max-Forwards", "70")
        headers.add("From", call.localURI.contains(";tag=") ? call.localURI : call.localURI + ";tag=\(call.localTag)")
        headers.add("To", call.remoteURI)
        headers.add("Call-ID", call.callID)
        headers.add("CSeq", "\(call.localCSeq) \(method)")
        // The route set in order: a UAS's is the request's Record-Route as received, a UAC's the
        // answer's in reverse (RFC 3261 §12.1, §12.2.1.1).
        for route in call.routeSet { headers.add("Route", route) }
        headers.add("Contact", contact(transport))
        headers.add("User-Agent", settings.userAgent)
        return SIPMessage(startLine: .request(method: method, uri: call.remoteTarget), headers: headers)
    }

    /// Where in-dialog requests go: the first route, else the remote target, else where the call came from.
    /// The transport is the URI's `transport` parameter, else the one the call came on. A caller that
    /// reached us directly over TCP gets them on its own connection: softphones rarely accept new ones.
    private func destination(for call: Call) -> SIPAddress {
        if call.routeSet.isEmpty, call.source.transport.isStream { return call.source }
        let uri = call.routeSet.first.map(SIPField.uri) ?? call.remoteTarget
        let transport = SIPField.parameter("transport", in: uri).flatMap { SIPTransport(rawValue: $0.lowercased()) }
        if let (host, port) = SIPField.hostPort(in: uri), AddressBlock.parse(host) != nil {
            return SIPAddress(host: host, port: port ?? 5060, transport: transport ?? call.source.transport)
        }
        return call.source
    }

    private mutating func receiveResponse(_ message: SIPMessage, now: Double) -> [SIPEffect] {
        guard case .response(let status, _) = message.startLine else { return [] }
        guard let transaction = client.match(message, status: status, now: now) else {
            return unmatchedFinal(message, status: status, now: now)
        }
        let callID = transaction.callID
        if transaction.method == "INVITE" {
            guard status >= 200 else {
                // Any provisional response allows a CANCEL (RFC 3261 §9.1), 100 included.
                calls[callID]?.outbound?.gotProvisional = true
                return []
            }
            return outboundFinal(message, status: status, callID: callID, now: now)
        }
        guard status >= 200 else { return [] }
        if status == 401 || status == 407, let again = authenticate(transaction.request, response: message, now: now) {
            return again
        }
        switch transaction.method {
        case "REFER" where status >= 300:
            calls[callID]?.transferDeadline = .infinity
            return [.transferFinished(callID: callID, status: status)]
        case "BYE":
            cleanUpCall(callID, now: now)
        case "OPTIONS":
            // 481 or 408: the far end no longer knows the call (RFC 3261 §12.2.1.2); anything else
            // means it is still there.
            if status == 481 || status == 408 { return lose(callID, reason: "caller_lost", now: now) }
            if calls[callID]?.state == .confirmed {
                calls[callID]?.probeAt = settings.probeInterval > 0 ? now + settings.probeInterval : .infinity
            }
        default:
            break
        }
        return []
    }

    /// Ends a call whose far end is gone: no BYE can reach it.
    private mutating func lose(_ callID: String, reason: String, now: Double) -> [SIPEffect] {
        guard let call = calls[callID], call.state != .ended else { return [] }
        statistics.callsLost += 1
        cleanUpCall(callID, now: now)
        return [.callEnded(callID: callID, reason: reason)]
    }

    // MARK: Timers

    /// The next moment `tick` has something to do (seconds on the caller's clock, infinity if none).
    package var nextDeadline: Double {
        var next = min(server.nextDeadline, client.nextDeadline)
        for call in calls.values { next = min(next, call.nextDeadline) }
        return next
    }

    /// Retransmissions, answers due, probes and timeouts.
    package mutating func tick(now: Double) -> [SIPEffect] {
        var effects = server.tick(now: now)
        for callID in calls.keys.sorted() {
            guard var call = calls[callID], now >= call.nextDeadline else { continue }
            if call.state == .ringing, now >= call.answerAt {
                effects += answer(callID, now: now)
                continue
            }
            if call.state == .dialing {
                if now >= call.giveUpAt {
                    // Cancelled, and no final response came.
                    cleanUpCall(callID, now: now)
                    effects.append(.dialFailed(callID: callID, status: 408))
                } else if now >= call.outbound?.ringUntil ?? .infinity {
                    effects += ringTimeout(callID, now: now)
                }
                continue
            }
            if call.state == .answered, now >= call.giveUpAt {
                // No ACK for our 2xx (RFC 3261 §13.3.1.4): end the call.
                effects += hangUp(callID, reason: "no_ack", now: now)
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
            if now >= call.probeAt {
                call.probeAt = .infinity  // until the probe's answer
                let probe = request("OPTIONS", in: &call)
                effects.append(client.start(probe, to: destination(for: call), callID: callID, now: now))
            }
            calls[callID] = call
        }
        let (resend, timedOut) = client.tick(now: now)
        effects += resend
        for transaction in timedOut {
            switch transaction.method {
            case "REFER": effects.append(.transferFinished(callID: transaction.callID, status: 408))
            case "INVITE":
                // No response at all (timer B).
                if calls[transaction.callID]?.state == .dialing {
                    cleanUpCall(transaction.callID, now: now)
                    effects.append(.dialFailed(callID: transaction.callID, status: 408))
                }
            case "CANCEL": break
            case "OPTIONS": effects += lose(transaction.callID, reason: "caller_lost", now: now)
            default: cleanUpCall(transaction.callID, now: now)
            }
        }
        return effects
    }

    // MARK: Helpers

    /// The dialog of a request from the caller: its tag in From, ours in To (RFC 3261 §12.2.2).
    private func dialog(for message: SIPMessage) -> Call? {
        guard let callID = message.headers.callID, let call = calls[callID], call.state != .ended,
            (message.headers.fromTag ?? "") == call.remoteTag, message.headers.toTag == call.localTag
        else { return nil }
        return call
    }

    private mutating func noDialog(_ message: SIPMessage, id: TransactionID, source: SIPAddress, now: Double)
        -> [SIPEffect]
    {
        respond(message, id: id, 481, "Call/Transaction Does Not Exist", source: source, now: now)
    }

    private mutating func respond(
        _ message: SIPMessage, id: TransactionID, _ status: Int, _ reason: String, toTag: String? = nil,
        source: SIPAddress, now: Double
    ) -> [SIPEffect] {
        let tag = toTag ?? (message.headers.toTag == nil ? nextTag() : nil)
        let response = message.response(status, reason, toTag: tag, source: (source.host, source.port))
        return [server.complete(id, with: response, to: responseAddress(message, source: source), now: now)]
    }

    /// Refuses a request with `status`, remembered by its transaction when it has one.
    private mutating func reject(
        _ message: SIPMessage, _ status: Int, _ reason: String, warning: String? = nil, code: Int = 399,
        headers: [(String, String)] = [], source: SIPAddress, now: Double
    ) -> [SIPEffect] {
        if status == 400 { statistics.rejectedBadRequest += 1 }
        if status == 420 || status == 416 { statistics.rejectedExtension += 1 }
        let tag = message.headers.toTag == nil ? nextTag() : nil
        var response = message.response(status, reason, toTag: tag, source: (source.host, source.port))
        for (name, value) in headers { response.headers.add(name, value) }
        if let warning { response.headers.add("Warning", "\(code) callbot \"\(warning)\"") }
        let address = responseAddress(message, source: source)
        guard let id = TransactionID(message) else { return [.send(response, to: address)] }
        return [server.complete(id, with: response, to: address, now: now)]
    }

    private mutating func dropMalformed() -> [SIPEffect] {
        statistics.droppedMalformed += 1
        Self.droppedMalformed.increment()
        return []
    }

    /// Responses go to the source address when the top Via asks for rport or names another host.
    /// Over a stream they go back on the connection the request came on (RFC 3261 §18.2.2).
    private func responseAddress(_ message: SIPMessage, source: SIPAddress) -> SIPAddress {
        guard source.transport == .udp else { return source }
        guard let via = message.headers.values("Via").first else { return source }
        if SIPField.parameter("rport", in: via) != nil { return source }
        let parts = TransactionID.sentBy(via).split(separator: ":")
        if parts.count == 2, String(parts[0]) == source.host, let port = Int(parts[1]) {
            return SIPAddress(host: source.host, port: port, transport: source.transport)
        }
        return source
    }

    private mutating func cleanUpCall(_ callID: String, now: Double) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        usedPorts.remove(call.localPort)
        client.forget(callID: callID)
        // A late copy of its INVITE, or another INVITE reusing the Call-ID, must not start a call
        // the adapter would mistake for this one: refused for 64·T1.
        ended[callID] = now + 64 * SIPSettings.t1
        if ended.count > 4096 { ended = ended.filter { $0.value > now } }
    }

    /// An even port of the range, chosen at random so that the next call's port cannot be guessed.
    private mutating func allocatePort() -> Int? {
        let range = settings.rtpPorts
        let first = range.lowerBound + range.lowerBound % 2
        guard first <= range.upperBound else { return nil }
        let slots = (range.upperBound - first) / 2 + 1
        guard usedPorts.count < slots else { return nil }
        var generator = SystemRandomNumberGenerator()
        let start = Int.random(in: 0..<slots, using: &generator)
        for offset in 0..<slots {
            let port = first + 2 * ((start + offset) % slots)
            if usedPorts.insert(port).inserted { return port }
        }
        return nil
    }

    private mutating func nextCounter() -> UInt64 {
        counter &+= 1
        var generator = SystemRandomNumberGenerator()
        return counter &* 1_000_003 &+ UInt64.random(in: 0..<1_000_000, using: &generator)
    }

    private mutating func nextTag() -> String { String(nextCounter(), radix: 36) }

    private func isTrusted(_ host: String) -> Bool { settings.trustedPeers.contains { $0.contains(host) } }
}
