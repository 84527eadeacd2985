import CallbotCore
import Metrics

/// What operations watch live (swift-metrics; `callbotd` exports it to Prometheus on `/metrics`).
/// Names and meanings are listed in docs/metrics.md.
package enum CallMetrics {
    /// Calls in progress.
    static let active = Meter(label: "callbot_calls_active")
    /// Agents on a transferred call now.
    static let agentsBusy = Meter(label: "callbot_agents_busy")

    static func started() { active.increment() }

    /// A call that ended, by its outcome (`self_service`, `transferred`…).
    static func ended(_ outcome: String?) {
        active.decrement()
        Counter(label: "callbot_calls_total", dimensions: [("outcome", outcome ?? "unknown")]).increment()
    }

    static func agents(busy: Int) { agentsBusy.set(busy) }

    /// A hand-off's result: `answered`, `busy`, `no_answer`, `failed`, `closed`.
    static func handoff(_ result: String) {
        Counter(label: "callbot_handoffs_total", dimensions: [("result", result)]).increment()
    }

    /// The hand-off results of a call event: requests made while agents were closed, transfer results.
    static func note(_ event: CallEvent) {
        switch event.kind {
        case .handoff where event.fields["status"]?.stringValue == "unavailable": handoff("closed")
        case .transferResult: handoff(event.fields["result"]?.stringValue ?? "unknown")
        default: break
        }
    }
}
