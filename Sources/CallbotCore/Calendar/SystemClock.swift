package import Foundation

/// The real clock, read in the service's time zone. Only adapters use it; the core takes `now`.
package struct SystemClock: Sendable {
    package let timeZone: TimeZone

    /// A clock in `timeZone` (an IANA name); UTC when the name is unknown.
    package init(timeZone: String) {
        self.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 0)!
    }

    package func now() -> LocalDateTime { localTime(Date()) }

    package func localTime(_ date: Date) -> LocalDateTime {
        let offset = timeZone.secondsFromGMT(for: date)
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let days = Int((Double(local) / 86400).rounded(.down))
        let minutes = (local - days * 86400) / 60
        return LocalDateTime(
            date: LocalDate(daysSinceEpoch: days), time: TimeOfDay(minutes: minutes), utcOffset: offset)
    }
}
