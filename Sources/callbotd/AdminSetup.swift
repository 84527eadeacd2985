import AdminAPI
import CallbotCore
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Storage
import Synchronization

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

    /// The bearer token of `settings`: read from its file, or created there with a random token
    /// (exclusively, mode 600). A token file others can read, or a token shorter than 16
    /// characters, is refused rather than trusted or replaced.
    static func token(_ settings: AdminSettings) throws -> String {
        let path = settings.tokenFile
        if FileManager.default.fileExists(atPath: path) {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                throw AdminSetupError(reason: "\(path) can be read by others: chmod 600 \(path)")
            }
            let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines)
            guard token.count >= 16 else {
                throw AdminSetupError(reason: "the admin token in \(path) is shorter than 16 characters")
            }
            return token
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw AdminSetupError(reason: "cannot create the admin token file \(path)") }
        defer { close(descriptor) }
        let bytes = Array((token + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw AdminSetupError(reason: "cannot write the admin token file \(path)")
        }
        return token
    }

    /// The bearer tokens in force: the administrator's and the agents' file, read again on reload.
    final class Tokens: Sendable {
        let settings: AdminSettings
        let adminToken: String
        private let access: Mutex<Access>

        /// Reads (or creates) the administrator's token and reads the agents' file.
        init(_ settings: AdminSettings) throws {
            self.settings = settings
            adminToken = try AdminSetup.token(settings)
            access = Mutex(try Access.load(adminToken: adminToken, agentsFile: settings.agentsFile))
        }

        var current: Access { access.withLock { $0 } }

        /// Reads the agents' file again; the tokens in force are kept when it cannot be used.
        func reread() throws -> Access { try Access.load(adminToken: adminToken, agentsFile: settings.agentsFile) }

        func replace(with fresh: Access) { access.withLock { $0 = fresh } }
    }

    /// The agents' tokens and the config folder read again; nothing changes unless both load.
    static func reload(_ live: LiveDeployment, tokens: Tokens, logger: Logger) async -> LiveDeployment.Reloaded {
        let access: Access
        do {
            access = try tokens.reread()
        } catch {
            logger.error("reload refused: the running configuration is kept", metadata: ["error": "\(error)"])
            return .refused("\(error)")
        }
        switch await live.reload() {
        case .refused(let reason): return .refused(reason)
        case .applied(let fresh, let restartNeeded):
            tokens.replace(with: access)
            logger.info("agents' tokens", metadata: ["agents": "\(access.principals.count - 1)"])
            return .applied(fresh, restartNeeded: restartNeeded)
        }
    }

    struct AdminSetupError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}

extension LiveDeployment.Reloaded {
    /// As the API tells it.
    var api: AdminServer.ReloadOutcome {
        switch self {
        case .applied(_, let restartNeeded): .applied(restartNeeded: restartNeeded)
        case .refused(let reason): .refused(reason)
        }
    }
}
