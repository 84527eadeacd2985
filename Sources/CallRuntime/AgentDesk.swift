package import CallbotCore
package import Foundation

/// The agents' side of hand-offs: their places, and a card for each hand-off that agents'
/// screens show (from the agents' API) before they pick up.
///
/// A place is taken while a transfer rings at the agents', while the dialer calls someone back
/// (reserved before it dials), and, once an agent answered, for the handling time agents take on
/// a call (`agents.handling_minutes`: a blind transfer lets the bot see the ringing, not the
/// talk). Callers who kept their place come before new ones: a new caller gets a place only if
/// one is left after theirs.
package actor AgentDesk {
    package private(set) var capacity: Int
    /// Callers who hung up keeping their place, not called back yet (the dialer tells).
    package private(set) var queued = 0
    private var handling: Duration
    private var ringing = 0
    private var reserved = 0
    /// Until when agents who answered a hand-off are taken to be on it.
    private var talking: [ContinuousClock.Instant] = []
    /// Cards by call id, and their order of arrival; the last `keep` are kept.
    private var cards: [String: HandoffCard] = [:]
    private var order: [String] = []
    private let keep: Int
    private var feeds: [UUID: AsyncStream<HandoffCard>.Continuation] = [:]

    /// `handlingMinutes`: how long an agent who answered a hand-off is taken to be on it (0: the
    /// place is free as soon as the transfer is answered, as in simulations).
    package init(capacity: Int, handlingMinutes: Int = 0, keep: Int = 500) {
        self.capacity = capacity
        self.keep = keep
        handling = .seconds(handlingMinutes * 60)
    }

    /// A new capacity (a reloaded config); hand-offs in progress keep their places.
    package func resize(to capacity: Int, handlingMinutes: Int) {
        self.capacity = capacity
        handling = .seconds(handlingMinutes * 60)
    }

    /// Places taken now.
    package var inProgress: Int {
        let now = ContinuousClock.now
        talking.removeAll { $0 <= now }
        return ringing + reserved + talking.count
    }

    /// How many callers wait for a callback in the queue (the dialer tells, when it serves them).
    package func setQueued(_ count: Int) { queued = max(0, count) }

    /// The dialer takes a place before it calls someone back; false when none is free.
    /// `force`: an agent asked for the call, their place is theirs to give.
    @discardableResult
    package func reserve(force: Bool = false) -> Bool {
        guard force || inProgress < capacity else { return false }
        reserved += 1
        publish()
        return true
    }

    /// A reserved place not used after all (no answer, the callee hung up before the transfer).
    package func unreserve() {
        reserved = max(0, reserved - 1)
        publish()
    }

    /// The wait for an agent, in whole minutes (at least 1): when the places free up (transfers
    /// ringing at once, agents on a call at the end of their handling time), the callers who kept
    /// their place served first, each taking the handling time.
    package func estimatedWaitMinutes() -> Int {
        let now = ContinuousClock.now
        let busy = inProgress
        var free: [ContinuousClock.Instant] =
            talking + Array(repeating: now + handling, count: reserved + ringing)
            + Array(repeating: now, count: max(0, capacity - busy))
        free.sort()
        free = Array(free.prefix(max(1, capacity)))
        if free.isEmpty { free = [now + handling] }
        var next = now
        for _ in 0...queued {
            let index = free.indices.min { free[$0] < free[$1] }!
            next = free[index]
            free[index] = next + handling
        }
        let seconds = Double((next - now).components.seconds)
        return max(1, Int((seconds / 60).rounded(.up)))
    }

    /// Takes a place for the hand-off of `context` and shows its card (with the caller's number,
    /// for the agent only); false when agents are all taken (places kept by earlier callers
    /// count). `reserved`: the dialer's place for this call; `force`: an agent asked for this
    /// call, their place is theirs to give.
    package func take(_ context: HandoffContext, caller: String?, reserved: Bool = false, force: Bool = false) -> Bool {
        if reserved {
            self.reserved = max(0, self.reserved - 1)
        } else {
            guard force || inProgress + queued < capacity else { return false }
        }
        ringing += 1
        publish()
        show(HandoffCard(context: context, caller: caller, at: Date()))
        return true
    }

    /// Ends the ringing once the transfer has ended (`how`, as the call saw it); an answered one
    /// keeps its agent for the handling time.
    package func release(_ callID: String, _ how: DialogueEvent) {
        ringing = max(0, ringing - 1)
        if case .transferResult(.answered) = how, handling > .zero { talking.append(.now + handling) }
        publish()
        guard var card = cards[callID] else { return }
        card.status = HandoffCard.Status(how)
        card.endedAt = Date()
        show(card)
    }

    private func publish() { CallMetrics.agents(busy: inProgress) }

    package func card(_ callID: String) -> HandoffCard? { cards[callID] }

    /// The latest cards, newest first.
    package func recent(limit: Int) -> [HandoffCard] { order.suffix(limit).reversed().compactMap { cards[$0] } }

    /// Cards as they appear or change, beginning with those still waiting for an agent.
    package func feed() -> AsyncStream<HandoffCard> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: HandoffCard.self, bufferingPolicy: .bufferingNewest(keep))
        let id = UUID()
        for callID in order { if let card = cards[callID], card.status == .waiting { continuation.yield(card) } }
        feeds[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    /// Screens following the feed.
    package var watchers: Int { feeds.count }

    /// Ends every feed (the daemon stops).
    package func closeFeeds() {
        for continuation in feeds.values { continuation.finish() }
        feeds = [:]
    }

    private func unsubscribe(_ id: UUID) { feeds[id] = nil }

    private func show(_ card: HandoffCard) {
        if cards.updateValue(card, forKey: card.callID) == nil {
            order.append(card.callID)
            if order.count > keep { cards[order.removeFirst()] = nil }
        }
        for continuation in feeds.values { continuation.yield(card) }
    }
}

/// What an agent's screen shows of a hand-off: why, what the caller wanted and already heard,
/// and the number (for the agent only: never logged, never in a prompt).
package struct HandoffCard: Sendable, Equatable {
    package enum Status: String, Sendable {
        /// Ringing at the agents'.
        case waiting
        case answered, busy
        case noAnswer = "no_answer"
        case failed
        /// The caller hung up (or was lost) before an agent answered.
        case abandoned

        init(_ event: DialogueEvent) {
            switch event {
            case .transferResult(let outcome):
                switch outcome {
                case .answered: self = .answered
                case .busy: self = .busy
                case .noAnswer: self = .noAnswer
                case .failed: self = .failed
                }
            default: self = .abandoned
            }
        }
    }

    package var context: HandoffContext
    package var caller: String?
    package var at: Date
    package var status: Status = .waiting
    package var endedAt: Date?

    package init(context: HandoffContext, caller: String?, at: Date, status: Status = .waiting) {
        self.context = context
        self.caller = caller
        self.at = at
        self.status = status
    }

    package var callID: String { context.callID }

    package var json: JSONValue {
        guard case .object(var fields) = context.json else { return context.json }
        fields["caller"] = caller.map(JSONValue.string) ?? .null
        fields["at"] = .string(at.ISO8601Format())
        fields["status"] = .string(status.rawValue)
        fields["ended_at"] = endedAt.map { .string($0.ISO8601Format()) } ?? .null
        return .object(fields)
    }
}
