import Foundation
import Testing

extension Line {
    /// A reload asked through the admin API goes through the same validation as at start.
    @Suite struct ReloadAPITests {
        @Test func aReloadThroughTheAPIIsAppliedOrRefusedWithTheRunningConfigKept() throws {
            let daemon = try Daemon(sipPort: 29074, rtpPorts: "29600-29699")
            let port = try #require(daemon.adminPort, "\(daemon.log)")
            func reload(_ token: String) throws -> (status: String, body: String) {
                let run = try runProcess(
                    "/usr/bin/curl",
                    [
                        "-s", "-w", "\n%{http_code}", "-X", "POST", "-H", "Authorization: Bearer \(token)",
                        "http://127.0.0.1:\(port)/config/reload",
                    ])
                let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
            }
            let applied = try reload(daemon.adminToken)
            #expect(applied.status == "200" && applied.body.contains(#""reloaded":true"#), "\(applied)")
            // A configuration that does not load: refused with its file and line, the running one kept.
            let file = daemon.folder + "/config/callbot.yaml"
            let good = try String(contentsOfFile: file, encoding: .utf8)
            try good.replacingOccurrences(of: "  capacity: 3 ", with: "  capacity: -1 ")
                .write(toFile: file, atomically: true, encoding: .utf8)
            let refused = try reload(daemon.adminToken)
            #expect(refused.status == "422", "\(refused)")
            #expect(refused.body.contains("callbot.yaml:") && refused.body.contains("capacity"), "\(refused.body)")
            #expect(daemon.log.contains("reload refused: the running configuration is kept"))
            let health = try runProcess(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
            #expect(health.stdout == "200")
            let call = try daemon.sipp("call_dtmf.xml", port: 29090, mediaPort: 29700, variables: ["rtp_port": "29701"])
            #expect(call.status == 0, "calls go on with the running configuration: \(call.output)")
            #expect(try reload("not-a-token-of-ours").status == "401")
            #expect(daemon.stop() == 0)
        }
    }
}
