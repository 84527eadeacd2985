import AdminAPI
import CallbotCore
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Storage

/// The admin address: metrics exported to Prometheus, and the HTTP service in the daemon's group.
enum AdminSetup {
    /// Routes swift-metrics to a Prometheus registry (once per process), with latency buckets
    /// fit for a phone turn.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let turn: [Duration] = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10].map { .milliseconds(Int($0 * 1000)) }
        factory.durationHistogramBuckets = [
            "callbot_recognition_seconds": turn, "callbot_answer_latency_seconds": turn,
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// The bearer token of `settings`: read from its file, created there with a random token
    /// when missing (mode 600); nil without a token file (loopback only).
    static func token(_ settings: AdminSettings) throws -> String? {
        guard let path = settings.tokenFile else { return nil }
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if token.count >= 16 { return token }
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }.joined()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw AdminSetupError(reason: "cannot create the admin token file \(path)") }
        return token
    }

    struct AdminSetupError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}
