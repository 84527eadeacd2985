import ArgumentParser
import CallbotCore
import Foundation
import Scheduling
import Storage

/// The storage a command uses: `--db PATH` or the config's.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database; default: the one callbot.yaml names.")
    var db: String?

    func open(_ deployment: Deployment) throws -> SQLiteStore {
        let path: String
        if let db {
            path = db
        } else {
            switch deployment.config.storage {
            case .sqlite(let configured): path = configured
            case .postgres: throw Failure("PostgreSQL storage is not available in callbotctl yet; pass --db PATH")
            }
        }
        do {
            return try SQLiteStore(path: path)
        } catch {
            throw Failure("cannot open the database \(path): \(error)")
        }
    }
}

/// A clock that starts at `--now` (or the real time) and runs at real speed.
func makeClock(start: LocalDateTime?, timeZone: String) -> @Sendable () -> LocalDateTime {
    let system = SystemClock(timeZone: timeZone)
    guard let start else { return { system.now() } }
    let launched = Date()
    return {
        let elapsed = Int(Date().timeIntervalSince(launched))
        return start.adding(minutes: elapsed / 60)
    }
}

/// A caller number as given on the command line, in E.164.
func normalizedCaller(_ text: String?) throws -> String? {
    guard let text else { return nil }
    let digits = Array(text.filter(\.isNumber))
    guard let number = SlotExtractor.frenchNumber(in: digits, international: text.hasPrefix("+")) else {
        throw ValidationError("--caller \"\(text)\" is not a French phone number like +33612345678")
    }
    return number
}
