import Foundation
import Testing

/// The scenario corpus of Tests/Scenarios, played through `callbotctl scenarios`: the same
/// dialogue, scheduling and storage as `chat`.
@Suite struct ScenarioTests {
    @Test func theCorpusPasses() throws {
        let run = try ctl(["scenarios", "Tests/Scenarios"])
        let summary = run.stdout.split(separator: "\n").last { $0.hasPrefix("scenarios: ") }.map(String.init)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let counts = summary?.split(separator: " ").compactMap { Int($0) } ?? []
        #expect(counts.count == 2 && counts[0] >= 80 && counts[1] == 0, "\(summary ?? "no summary")")
    }

    @Test func aBrokenScenarioFileIsRefusedWithItsLine() throws {
        let run = try play("== broken\ncaller: bonjour\nbot said: rien\n")
        #expect(run.status != 0)
        #expect(run.stderr.contains("scenario.txt:3"), "\(run.stderr)")
    }

    @Test func aFailingExpectationIsReportedWithItsLine() throws {
        let run = try play(
            "== wrong\nnow: 2026-11-23T10:00:00+01:00\ncaller: où est la mairie\nbot: piscine olympique\n")
        #expect(run.status == 1)
        #expect(run.stdout.contains("line 4") && run.stdout.contains("scenarios: 0 passed, 1 failed"), "\(run.stdout)")
    }

    /// Plays `text` as a scenario file of its own.
    private func play(_ text: String) throws -> Run {
        let folder = NSTemporaryDirectory() + "callbot-scenarios-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try text.write(toFile: folder + "/scenario.txt", atomically: true, encoding: .utf8)
        return try ctl(["scenarios", folder])
    }
}
