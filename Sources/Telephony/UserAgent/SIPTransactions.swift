/// Which transaction a request belongs to (RFC 3261 §17.2.3): its branch and sent-by, or for an
/// RFC 2543 peer (no `z9hG4bK` branch), its Request-URI, From tag, Call-ID, CSeq number and top Via.
/// An ACK and a CANCEL name the INVITE they answer with `method: "INVITE"`.
struct TransactionID: Hashable, Sendable {
    let branch: String
    let sentBy: String
    let method: String

    init?(_ request: SIPMessage, method: String? = nil) {
        guard case .request(let requestMethod, let uri) = request.startLine,
            let via = request.headers.values("Via").first
        else { return nil }
        let own = method ?? (requestMethod == "ACK" ? "INVITE" : requestMethod)
        sentBy = Self.sentBy(via)
        self.method = own
        if let branch = SIPField.parameter("branch", in: via), branch.hasPrefix("z9hG4bK") {
            self.branch = branch
        } else {
            guard let callID = request.headers.callID, let cseq = request.headers.cseq else { return nil }
            // The ACK of a non-2xx response carries the INVITE's URI, From tag, CSeq number and Via.
            branch = "2543|\(uri)|\(request.headers.fromTag ?? "")|\(callID)|\(cseq.number)|\(via)"
        }
    }

    /// The host and port of a Via value, lower-cased.
    static func sentBy(_ via: String) -> String {
        let afterProtocol = via.split(separator: " ", maxSplits: 1).dropFirst().first ?? ""
        return String(afterProtocol.split(separator: ";").first ?? "").trimmed.lowercased()
    }
}

/// Server transactions: the final response to each request, replayed to its retransmissions for
/// 64·T1 (timers J and H); over UDP a non-2xx final response to an INVITE is also retransmitted
/// until its ACK (timer G). Answered 2xx INVITEs are the dialog layer's (RFC 3261 §13.3.1.4).
struct ServerTransactions: Sendable {
    struct Entry: Sendable {
        let response: SIPMessage
        let destination: SIPAddress
        var retransmitAt: Double
        var interval: Double
        let expiresAt: Double
    }

    /// Transactions remembered at once; beyond, responses are still sent but not replayed.
    static let capacity = 50_000
    /// Refusals retransmitted at once (each costs a scan per tick and packets to its sender);
    /// beyond, a refusal is sent once and its copies answered.
    static let retransmitting = 1024

    private(set) var entries: [TransactionID: Entry] = [:]
    /// Transactions in order of expiry (every lifetime is the same), some already gone.
    private var expiry: [(at: Double, id: TransactionID)] = []
    private var expiryHead = 0
    /// Rejected INVITEs waiting for their ACK over UDP.
    private var awaitingACK: Set<TransactionID> = []

    var count: Int { entries.count }

    func response(to id: TransactionID) -> Entry? { entries[id] }

    /// Remembers `response` to the request `id` and returns the effect that sends it.
    mutating func complete(_ id: TransactionID, with response: SIPMessage, to destination: SIPAddress, now: Double)
        -> SIPEffect
    {
        let retransmits =
            id.method == "INVITE" && destination.transport == .udp && awaitingACK.count < Self.retransmitting
        if entries[id] == nil, entries.count < Self.capacity {
            entries[id] = Entry(
                response: response, destination: destination,
                retransmitAt: retransmits ? now + SIPSettings.t1 : .infinity, interval: SIPSettings.t1,
                expiresAt: now + 64 * SIPSettings.t1)
            expiry.append((now + 64 * SIPSettings.t1, id))
            if retransmits { awaitingACK.insert(id) }
        }
        return .send(response, to: destination)
    }

    /// An ACK for a rejected INVITE: stop retransmitting (the entry still absorbs late copies).
    mutating func acknowledge(_ id: TransactionID) {
        guard awaitingACK.remove(id) != nil else { return }
        entries[id]?.retransmitAt = .infinity
    }

    /// Retransmissions due, and forgets expired transactions.
    mutating func tick(now: Double) -> [SIPEffect] {
        while expiryHead < expiry.count, expiry[expiryHead].at <= now {
            let id = expiry[expiryHead].id
            if let entry = entries[id], entry.expiresAt <= now {
                entries[id] = nil
                awaitingACK.remove(id)
            }
            expiryHead += 1
        }
        if expiryHead > 1024, expiryHead * 2 > expiry.count {
            expiry.removeFirst(expiryHead)
            expiryHead = 0
        }
        var effects: [SIPEffect] = []
        for id in awaitingACK {
            guard var entry = entries[id], now >= entry.retransmitAt else { continue }
            effects.append(.send(entry.response, to: entry.destination))
            entry.interval = min(entry.interval * 2, SIPSettings.t2)
            entry.retransmitAt = now + entry.interval
            entries[id] = entry
        }
        return effects
    }

    /// The next moment `tick` has something to do.
    var nextDeadline: Double {
        var next = expiryHead < expiry.count ? expiry[expiryHead].at : .infinity
        for id in awaitingACK { next = min(next, entries[id]?.retransmitAt ?? .infinity) }
        return next
    }
}

/// Requests the bot sends (INVITE, CANCEL, BYE, REFER, OPTIONS probes), retransmitted over UDP
/// until answered (timers A and E) and given up after 64·T1 (timers B and F). An INVITE that
/// got a provisional response is no longer retransmitted nor timed out here: the call's ring
/// timeout cancels it. Keyed by branch and method (a CANCEL shares its INVITE's branch).
struct ClientTransactions: Sendable {
    struct Transaction: Sendable {
        let request: SIPMessage
        let destination: SIPAddress
        let callID: String
        var retransmitAt: Double
        var interval: Double
        var giveUpAt: Double
        var gotProvisional = false

        var method: String { request.method ?? "" }
    }

    private(set) var pending: [String: Transaction] = [:]

    /// Starts a transaction for `request` (which carries a fresh branch) and returns the effect that sends it.
    mutating func start(_ request: SIPMessage, to destination: SIPAddress, callID: String, now: Double) -> SIPEffect {
        pending[Self.key(request.headers.topBranch, request.method)] = Transaction(
            request: request, destination: destination, callID: callID,
            retransmitAt: destination.transport == .udp ? now + SIPSettings.t1 : .infinity,
            interval: SIPSettings.t1, giveUpAt: now + 64 * SIPSettings.t1)
        return .send(request, to: destination)
    }

    /// The transaction a response belongs to: ended by a final response, slowed by a provisional one.
    mutating func match(_ response: SIPMessage, status: Int, now: Double) -> Transaction? {
        guard let branch = response.headers.topBranch, let method = response.headers.cseq?.method else { return nil }
        let key = Self.key(branch, method)
        guard var transaction = pending[key] else { return nil }
        if status < 200 {
            transaction.gotProvisional = true
            if method == "INVITE" {
                (transaction.retransmitAt, transaction.giveUpAt) = (.infinity, .infinity)
            } else {
                transaction.retransmitAt =
                    transaction.destination.transport == .udp ? now + SIPSettings.t2 : .infinity
            }
            pending[key] = transaction
        } else {
            pending[key] = nil
        }
        return transaction
    }

    static func key(_ branch: String?, _ method: String?) -> String { "\(branch ?? "") \(method ?? "")" }

    /// Retransmissions due, and the transactions that timed out (removed).
    mutating func tick(now: Double) -> (resend: [SIPEffect], timedOut: [Transaction]) {
        var resend: [SIPEffect] = []
        var timedOut: [Transaction] = []
        for key in pending.keys.sorted() {
            guard var transaction = pending[key] else { continue }
            if now >= transaction.giveUpAt {
                pending[key] = nil
                timedOut.append(transaction)
                continue
            }
            guard now >= transaction.retransmitAt else { continue }
            resend.append(.send(transaction.request, to: transaction.destination))
            // Timer A doubles without a ceiling; timer E stops at T2 (RFC 3261 §17.1.1.2, §17.1.2.2).
            transaction.interval =
                transaction.gotProvisional
                ? SIPSettings.t2
                : transaction.method == "INVITE"
                    ? transaction.interval * 2 : min(transaction.interval * 2, SIPSettings.t2)
            transaction.retransmitAt = now + transaction.interval
            pending[key] = transaction
        }
        return (resend, timedOut)
    }

    /// Forgets the transactions of a call that is gone.
    mutating func forget(callID: String) { pending = pending.filter { $0.value.callID != callID } }

    var nextDeadline: Double {
        pending.values.reduce(Double.infinity) { min($0, $1.retransmitAt, $1.giveUpAt) }
    }
}
