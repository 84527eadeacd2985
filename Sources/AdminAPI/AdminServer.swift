package import CallbotCore
import Foundation
package import Hummingbird
import Indicators
package import Logging
package import Prometheus
package import Storage

/// HTTP for administrators on the admin address (loopback by default): `/health` and the
/// dashboard's files (no data in them) for anyone; `/metrics` (Prometheus text) and
/// `/api/report` (the telephone-plan indicators as JSON or CSV, like `callbotctl report`) with
/// the bearer token only.
package enum AdminServer {
    /// The application to run in the daemon's service group; `bound` is told the port it listens on.
    package static func application(
        host: String, port: Int, token: String, registry: PrometheusCollectorRegistry, store: SQLiteStore,
        today: @escaping @Sendable () -> LocalDate, logger: Logger, bound: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ in "ok\n" }
        // The dashboard's page, script and style: no data in them, so no token; the page asks
        // for the token and sends it with its requests for data.
        for (path, file, type) in Self.dashboard {
            guard let bytes = Self.asset(file) else {
                logger.error("a dashboard file is missing from the build", metadata: ["file": "\(file)"])
                continue
            }
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: type, .cacheControl: "no-cache",
                        .contentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'",
                    ],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
        let protected = router.group()
        protected.add(middleware: BearerToken(token: token))
        protected.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: registry.emitToString())))
        }
        protected.get("/api/report") { request, _ in
            try await report(request, store: store, today: today())
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "callbotd"),
            onServerRunning: { channel in await bound(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// The dashboard's files: path, file in `Dashboard/`, content type.
    static let dashboard = [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
    ]

    static func asset(_ file: String) -> [UInt8]? {
        let name = (file as NSString).deletingPathExtension
        let type = (file as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: name, withExtension: type, subdirectory: "Dashboard"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return Array(data)
    }

    /// `/api/report?from=DAY&to=DAY&by=day|week|month&format=json|csv`; the last 30 days by default.
    static func report(_ request: Request, store: SQLiteStore, today: LocalDate) async throws -> Response {
        let query = request.uri.queryParameters
        func day(_ name: String, _ fallback: LocalDate) throws -> LocalDate {
            guard let text = query.get(name) else { return fallback }
            guard let date = LocalDate(iso: text) else {
                throw HTTPError(.badRequest, message: "\(name) must be a day like 2026-11-24")
            }
            return date
        }
        let to = try day("to", today)
        let from = try day("from", to.adding(days: -29))
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
}

/// Lets through requests that carry `Authorization: Bearer TOKEN`; 401 otherwise.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.same(String(header.dropFirst(7)), token)
        else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "a bearer token is needed")
        }
        return try await next(request, context)
    }

    /// Compares in a time that does not depend on where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
