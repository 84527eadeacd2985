package import CallbotCore
package import Foundation

/// The agents' side of hand-offs: the places taken within their capacity, and a card for each
/// hand-off that agents' screens show (from the agents' API) before they pick up.
package actor AgentDesk {
    package private(set) var capacity: Int
    package private(set) var inProgress = 0
    /// Callers who hung up keeping their place, not called back yet (the dialer tells).
    package private(set) var queued = 0
    /// How long a hand-off holds an agent when the last hour tells nothing, in seconds.
    private var handlingPrior: Double
    /// When hand-offs started, by call id, and how long the last hour's answered ones held an agent.
    private var started: [String: ContinuousClock.Instant] = [:]
    private var handled: [(at: ContinuousClock.Instant, seconds: Double)] = []
    /// Cards by call id, and their order of arrival; the last `keep` are kept.
    private var cards: [String: HandoffCard] = [:]
    private var order: [String] = []
    private let keep: Int
    private var feeds: [UUID: AsyncStream<HandoffCard>.Continuation] = [:]

    /// `handlingMinutes` is what a hand-off is taken to last before any was seen.
    package init(capacity: Int, handlingMinutes: Int = 5, keep: Int = 500) {
        self.capacity = capacity
        self.keep = keep
        handlingPrior = Double(handlingMinutes * 60)
    }

    /// A new capacity (a reloaded config); hand-offs in progress keep their places.
    package func resize(to capacity: Int, handlingMinutes: Int = 5) {
        self.capacity = capacity
        handlingPrior = Double(handlingMinutes * 60)
    }

    /// How many callers wait for a callback in the queue.
    package func setQueued(_ count: Int) { queued = max(0, count) }

    /// The wait for an agent, in whole minutes (at least 1): the callers ahead shared among the
    /// agents, each taking as long as the last hour's hand-offs did on average (the configured
    /// handling time when fewer than three were seen).
    package func estimatedWaitMinutes() -> Int {
        let hourAgo = ContinuousClock.now - .seconds(3600)
        handled.removeAll { $0.at < hourAgo }
        let mean =
            handled.count >= 3 ? handled.map(\.seconds).reduce(0, +) / Double(handled.count) : handlingPrior
        let rounds = (queued + max(0, capacity)) / max(1, capacity)
        return max(1, Int((Double(rounds) * mean / 60).rounded(.up)))
    }

    /// Takes a place for the hand-off of `context` and shows its card (with the caller's number,
    /// for the agent only); false when agents are all taken. `force`: an agent asked for this
    /// call, their place is theirs to give.
    package func take(_ context: HandoffContext, caller: String?, force: Bool = false) -> Bool {
        guard force || inProgress < capacity else { return false }
        inProgress += 1
        CallMetrics.agents(busy: inProgress)
        started[context.callID] = .now
        show(HandoffCard(context: context, caller: caller, at: Date()))
        return true
    }

    /// Gives the place back once the transfer has ended: `how` is what the call saw of it.
    package func release(_ callID: String, _ how: DialogueEvent) {
        inProgress = max(0, inProgress - 1)
        CallMetrics.agents(busy: inProgress)
        if let start = started.removeValue(forKey: callID), case .transferResult(.answered) = how {
            let held = ContinuousClock.now - start
            handled.append((.now, Double(held.components.seconds) + Double(held.components.attoseconds) / 1e18))
        }
        guard var card = cards[callID] else { return }
        card.status = HandoffCard.Status(how)
        card.endedAt = Date()
        show(card)
    }

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
