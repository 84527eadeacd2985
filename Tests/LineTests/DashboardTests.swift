import Foundation
import Testing

extension Line {
    /// The dashboard in headless Chromium against a daemon whose database holds a year of
    /// synthetic calls: what it renders must be what `callbotctl report` counts.
    @Suite struct DashboardTests {
        @Test func theDashboardShowsTheReportsFigures() throws {
            let daemon = try Daemon(sipPort: 25096, rtpPorts: "27700-27799")
            // A year of calls (seeded, 20 an average weekday) written beside the running daemon.
            let seed = try runProcess(binary("report-bench"), [daemon.database, "20"])
            #expect(seed.status == 0, "\(seed.stderr)")
            let port = try #require(daemon.adminPort, "\(daemon.log)")
            let (from, to) = ("2026-09-01", "2026-11-30")
            let report = try runProcess(
                binary("callbotctl"),
                [
                    "report", "--from", from, "--to", to, "--by", "week", "--db", daemon.database, "--config",
                    daemon.folder + "/config", "--format", "json",
                ])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
            let totals = try #require(json["totals"] as? [String: Any])
            let periods = try #require(json["periods"] as? [[String: Any]])

            let page = "http://127.0.0.1:\(port)/?from=\(from)&to=\(to)&by=week#token=\(daemon.adminToken)"
            let chromium = try runProcess(
                "/usr/bin/chromium",
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000", "--dump-dom", page,
                ])
            let dom = chromium.stdout
            #expect(dom.contains("Du \(from) au \(to) : \(totals["calls_received"] as? Int ?? -1) appels."), "\(dom)")
            let taux = Int(((totals["taux_de_decroche"] as? Double ?? 0) * 100).rounded())
            #expect(dom.contains(#"<p class="value">\#(taux) %</p>"#), "the taux de décroché card")
            #expect(dom.contains("cible 85 % — \(totals["handoffs_answered"] as? Int ?? -1) sur"))
            // One table row per period, with its calls; the charts are there with their labels.
            #expect(dom.components(separatedBy: "<th scope=\"row\">").count - 1 == periods.count)
            let first = try #require(periods.first)
            #expect(dom.contains("<td>\(first["calls_received"] as? Int ?? -1)</td>"))
            #expect(dom.contains("objectif 85 %") && dom.contains(#"role="img""#))
            // Without the token the page asks for it and shows no figures.
            let locked = try runProcess(
                "/usr/bin/chromium",
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
                    "http://127.0.0.1:\(port)/",
                ])
            #expect(locked.stdout.contains("Un jeton d'accès est nécessaire."), "\(locked.stdout)")
            #expect(daemon.stop() == 0)
        }
    }
}
