package import CallRuntime
package import CallbotCore
import Foundation
package import Hummingbird
import Indicators
package import Logging
package import Prometheus
import Scheduling
import ServiceLifecycle
package import Storage

/// HTTP for agents and administrators on the admin address (loopback by default).
///
/// Anyone: `/health`, `/openapi.yaml` and the dashboard's files (no data in them). Agents:
/// hand-offs (and their live feed), callbacks, appointments. Administrators: also `/metrics`,
/// `/api/report` and config reloads. Every route is in ``routes(_:)`` and in `openapi.yaml`.
package enum AdminServer {
    /// What the routes work on.
    package struct Parts: Sendable {
        /// The tokens as they stand (reloads replace them).
        package let access: @Sendable () -> Access
        package let registry: PrometheusCollectorRegistry
        package let store: SQLiteStore
        package let desk: AgentDesk
        /// The service's configuration as it stands (reloads replace it).
        package let config: @Sendable () -> ServiceConfig
        package let now: @Sendable () -> LocalDateTime
        package let reload: @Sendable () async -> ReloadOutcome
        /// An agent pulls the next callback, to be connected to `uri` (their phone).
        package let next: @Sendable (_ uri: String) async throws -> PullOutcome

        package init(
            access: @escaping @Sendable () -> Access, registry: PrometheusCollectorRegistry, store: SQLiteStore,
            desk: AgentDesk,
            config: @escaping @Sendable () -> ServiceConfig, now: @escaping @Sendable () -> LocalDateTime,
            reload: @escaping @Sendable () async -> ReloadOutcome,
            next: @escaping @Sendable (_ uri: String) async throws -> PullOutcome = { _ in .noDialer }
        ) {
            self.next = next
            self.access = access
            self.registry = registry
            self.store = store
            self.desk = desk
            self.config = config
            self.now = now
            self.reload = reload
        }
    }

    /// What became of a reload asked through the API.
    package enum ReloadOutcome: Sendable, Equatable {
        /// Applied; the settings named change only at the next restart.
        case applied(restartNeeded: [String])
        /// Refused (the file and line at fault); the running configuration is kept.
        case refused(String)
    }

    /// What an agent's "next" found.
    package enum PullOutcome: Sendable, Equatable {
        /// Being dialled; the agent's phone rings once the person answers.
        case dialing(Callback)
        case nothingDue
        /// The bot does not place calls (no `dialer` in callbot.yaml).
        case noDialer
    }

    /// One route: who may call it and what it does (the principal is nil on public routes).
    package struct Route: Sendable {
        package let method: HTTPRequest.Method
        package let path: String
        /// nil: no token needed.
        package let role: Access.Role?
        let handle: @Sendable (Request, BasicRequestContext, Access.Principal?) async throws -> Response
    }

    /// The application to run in the daemon's service group; `bound` is told the port it listens on.
    package static func application(
        host: String, port: Int, parts: Parts, logger: Logger, bound: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        Application(
            router: router(parts, logger: logger),
            configuration: .init(address: .hostname(host, port: port), serverName: "callbotd"),
            onServerRunning: { channel in await bound(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Every route, each behind its token check.
    package static func router(_ parts: Parts, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        for route in routes(parts) {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                let principal = try route.role.map { role in
                    try parts.access().authorize(request, as: role)
                }
                return try await route.handle(request, context, principal)
            }
        }
        return router
    }

    package static func routes(_ parts: Parts) -> [Route] {
        var routes = [
            Route(method: .get, path: "/health", role: nil) { _, _, _ in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
            },
            Route(method: .get, path: "/openapi.yaml", role: nil) { _, _, _ in
                try file("openapi.yaml", type: "application/yaml; charset=utf-8")
            },
            Route(method: .get, path: "/metrics", role: .admin) { _, _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: parts.registry.emitToString())))
            },
            Route(method: .get, path: "/api/report", role: .admin) { request, _, _ in
                try await report(request, store: parts.store, today: parts.now().date)
            },
            Route(method: .post, path: "/config/reload", role: .admin) { _, _, _ in
                switch await parts.reload() {
                case .applied(let restartNeeded):
                    return try json(
                        .object(["reloaded": .bool(true), "restart_needed": .array(restartNeeded.map { .string($0) })]))
                case .refused(let reason):
                    throw HTTPError(
                        .unprocessableContent, message: "configuration refused, the running one is kept: \(reason)")
                }
            },
        ]
        routes += Desk(parts: parts).routes
        // The dashboard's page, script and style: no data in them, so no token; the page asks
        // for the token and sends it with its requests for data.
        for (path, name, type) in dashboard {
            routes.append(
                Route(method: .get, path: path, role: nil) { _, _, _ in
                    var response = try file("Dashboard/" + name, type: type)
                    response.headers[.contentSecurityPolicy] = "default-src 'self'; style-src 'self' 'unsafe-inline'"
                    return response
                })
        }
        return routes
    }

    /// The dashboard's files: path, file in `Dashboard/`, content type.
    static let dashboard = [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
    ]

    /// A file of the module's resources.
    static func file(_ path: String, type: String) throws -> Response {
        guard let bytes = asset(path) else {
            throw HTTPError(.internalServerError, message: "\(path) is missing from the build")
        }
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    package static func asset(_ path: String) -> [UInt8]? {
        let folder = (path as NSString).deletingLastPathComponent
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let type = (path as NSString).pathExtension
        guard
            let url = Bundle.module.url(
                forResource: name, withExtension: type, subdirectory: folder.isEmpty ? nil : folder),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return Array(data)
    }

    /// A JSON response (keys sorted, one line).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(try encoder.encode(value)))))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `/api/report?from=DAY&to=DAY&by=day|week|month&format=json|csv`; the last 30 days by default.
    static func report(_ request: Request, store: SQLiteStore, today: LocalDate) async throws -> Response {
        let query = request.uri.queryParameters
        let to = try day(query, "to") ?? today
        let from = try day(query, "from") ?? to.adding(days: -29)
        guard from <= to, to.daysSinceEpoch - from.daysSinceEpoch <= 3660 else {
            throw HTTPError(.badRequest, message: "from must come before to, ten years at most")
        }
        guard let period = ReportPeriod(rawValue: query.get("by") ?? "day") else {
            throw HTTPError(.badRequest, message: "by must be day, week or month")
        }
        let report = try await store.indicators(from: from, to: to, by: period)
        switch query.get("format") ?? "json" {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: Array(try encoder.encode(ReportJSON(report))))))
        case "csv":
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"indicateurs-\(from.iso)-\(to.iso).csv\"",
                ], body: .init(byteBuffer: ByteBuffer(string: ReportCSV.render(report, perIntent: false))))
        default:
            throw HTTPError(.badRequest, message: "format must be json or csv")
        }
    }

    /// The day named `name` in the query, if there.
    static func day(_ query: Parameters, _ name: String) throws -> LocalDate? {
        guard let text = query.get(name) else { return nil }
        guard let date = LocalDate(iso: text) else {
            throw HTTPError(.badRequest, message: "\(name) must be a day like 2026-11-24")
        }
        return date
    }
}
