package import CallbotCore
package import Foundation

/// The agents' side of hand-offs: the places taken within their capacity, and a card for each
/// hand-off that agents' screens show (from the agents' API) before they pick up.
package actor AgentDesk {
    package private(set) var capacity: Int
    package private(set) var inProgress = 0
    /// Cards by call id, and their order of arrival; the last `keep` are kept.
    private var cards: [String: HandoffCard] = [:]
    private var order: [String] = []
    private let keep: Int
    private var feeds: [UUID: AsyncStream<HandoffCard>.Continuation] = [:]

    package init(capacity: Int, keep: Int = 500) {
        self.capacity = capacity
        self.keep = keep
    }

    /// A new capacity (a reloaded config); hand-offs in progress keep their places.
    package func resize(to capacity: Int) { self.capacity = capacity }

    /// Takes a place for the hand-off of `context` and shows its card (with the caller's number,
    /// for the agent only); false when agents are all taken.
    package func take(_ context: HandoffContext, caller: String?) -> Bool {
        guard inProgress < capacity else { return false }
        inProgress += 1
        CallMetrics.agents(busy: inProgress)
        show(HandoffCard(context: context, caller: caller, at: Date()))
        return true
    }

    /// Gives the place back once the transfer has ended: `how` is what the call saw of it.
    package func release(_ callID: String, _ how: DialogueEvent) {
        inProgress = max(0, inProgress - 1)
        CallMetrics.agents(busy: inProgress)
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
