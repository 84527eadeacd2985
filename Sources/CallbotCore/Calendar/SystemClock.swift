package import Foundation

/// The real clock, read in the service's time zone. Only adapters use it; the core takes `now`.
package struct SystemClock: Sendable {
    package let timeZone: TimeZone
    /// Where the instant comes from: the system's clock, or one tests move.
    private let instant: @Sendable () -> Date

    /// A clock in `timeZone` (an IANA name); UTC when the name is unknown.
    package init(timeZone: String, instant: @escaping @Sendable () -> Date = { Date() }) {
        self.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 0)!
        self.instant = instant
    }

    package func now() -> LocalDateTime { localTime(instant()) }

    package func localTime(_ date: Date) -> LocalDateTime {
        let offset = timeZone.secondsFromGMT(for: date)
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let days = Int((Double(local) / 86400).rounded(.down))
        let minutes = (local - days * 86400) / 60
        return LocalDateTime(
            date: LocalDate(daysSinceEpoch: days), time: TimeOfDay(minutes: minutes), utcOffset: offset)
    }
}
