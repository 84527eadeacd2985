/// Hand-offs in progress, within the agents' capacity.
package actor AgentDesk {
    package private(set) var capacity: Int
    package private(set) var inProgress = 0

    package init(capacity: Int) { self.capacity = capacity }

    /// A new capacity (a reloaded config); hand-offs in progress keep their places.
    package func resize(to capacity: Int) { self.capacity = capacity }

    /// Takes a place for a hand-off; false when agents are all taken.
    package func take() -> Bool {
        guard inProgress < capacity else { return false }
        inProgress += 1
        CallMetrics.agents(busy: inProgress)
        return true
    }

    package func release() {
        inProgress = max(0, inProgress - 1)
        CallMetrics.agents(busy: inProgress)
    }
}
