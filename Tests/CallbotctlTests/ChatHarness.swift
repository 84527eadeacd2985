import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The built `callbotctl` (the README's test command builds it before testing).
let callbotctl: String = {
    if let path = ProcessInfo.processInfo.environment["CALLBOTCTL"] { return path }
    for configuration in ["debug", "release"] {
        let path = repositoryRoot + "/.build/\(configuration)/callbotctl"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repositoryRoot + "/.build/debug/callbotctl"
}()

/// What a `callbotctl` run printed.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The bot's lines, without "bot: ".
    var bot: [String] { stdout.split(separator: "\n").filter { $0.hasPrefix("bot: ") }.map { String($0.dropFirst(5)) } }

    /// The `event:` lines as objects.
    var events: [[String: Any]] {
        stdout.split(separator: "\n").filter { $0.hasPrefix("event: ") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.dropFirst(7).utf8)) as? [String: Any]
        }
    }

    func events(_ type: String) -> [[String: Any]] { events.filter { $0["type"] as? String == type } }

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
}

/// Runs `callbotctl` from the repository root with `input` on standard input.
func ctl(_ arguments: [String], input: String = "") throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: callbotctl)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    var environment = ProcessInfo.processInfo.environment
    environment["CALLBOT_PSEUDONYM_KEY"] = "test-key-not-secret"
    process.environment = environment
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self))
}

/// A scratch database, removed with its folder when the value is dropped.
final class ScratchDatabase {
    let folder: String
    var path: String { folder + "/callbot.sqlite" }

    init() {
        folder = NSTemporaryDirectory() + "callbot-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// A chat session on this database.
    func chat(_ lines: [String], now: String, caller: String? = "+33611223344", transfer: String = "answered") throws
        -> Run
    {
        var arguments = ["chat", "--db", path, "--now", now, "--transfer", transfer]
        if let caller { arguments += ["--caller", caller] }
        let run = try CallbotctlTests.ctl(arguments, input: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "chat failed: \(run.stderr)")
        return run
    }

    func ctl(_ arguments: [String]) throws -> Run {
        try CallbotctlTests.ctl(arguments + ["--db", path])
    }
}

/// Monday 23 November 2026, 10:00: the town hall and its agents are open.
let mondayMorning = "2026-11-23T10:00:00+01:00"
/// Sunday 22 November 2026: closed.
let sunday = "2026-11-22T10:00:00+01:00"
