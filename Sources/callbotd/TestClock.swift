import CallbotCore
import Foundation

/// A clock that tests can move: when `CALLBOT_CLOCK_FILE` names a file holding an ISO 8601
/// instant, the daemon's time is that instant plus the time since the file was last written
/// (write a new instant to jump). For tests of what happens at given hours (callbacks dialled
/// in their window); never set in a deployment.
enum TestClock {
    static func instant(environment: [String: String]) -> (@Sendable () -> Date)? {
        guard let path = environment["CALLBOT_CLOCK_FILE"], !path.isEmpty else { return nil }
        return {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let written = attributes[.modificationDate] as? Date,
                let text = try? String(contentsOfFile: path, encoding: .utf8),
                let set = LocalDateTime(iso: text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return Date() }
            return Date(timeIntervalSince1970: Double(set.epochSeconds)).addingTimeInterval(
                Date().timeIntervalSince(written))
        }
    }
}
