package import CallbotCore

/// Appointments as an iCalendar file (RFC 5545) for the agents' calendars: one event each, in
/// UTC, cancelled ones marked so that calendars remove them. The caller's number is left out:
/// calendar files travel to calendar services; agents find it in `GET /appointments`.
package enum ICalendar {
    /// `labels` names motifs; `stamp` is when the file is made.
    package static func render(
        _ appointments: [Appointment], service: String, labels: [String: String], stamp: LocalDateTime, host: String
    ) -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Callbot//Agents desk//FR", "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH", "X-WR-CALNAME:" + text("Rendez-vous — \(service)"),
        ]
        for appointment in appointments {
            let label = labels[appointment.motifID] ?? appointment.motifID
            let cancelled = appointment.status == .cancelled
            lines += [
                "BEGIN:VEVENT",
                "UID:\(appointment.reference)@\(host)",
                "DTSTAMP:" + utc(stamp.epochSeconds),
                "DTSTART:" + utc(appointment.start.epochSeconds),
                "DTEND:" + utc(appointment.start.epochSeconds + appointment.durationMinutes * 60),
                "SUMMARY:" + text("Rendez-vous \(label) (\(appointment.reference))"),
                "DESCRIPTION:" + text("Référence \(appointment.reference), guichet \(appointment.seat + 1)"),
                "STATUS:" + (cancelled ? "CANCELLED" : "CONFIRMED"),
                "SEQUENCE:" + (cancelled ? "1" : "0"),
                "END:VEVENT",
            ]
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// A TEXT value: backslashes, semicolons, commas and line breaks escaped (§3.3.11).
    static func text(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r\n", "\r": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// A date-time in UTC, `YYYYMMDDTHHMMSSZ`.
    static func utc(_ epochSeconds: Int) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let seconds = epochSeconds - days * 86400
        let date = LocalDate(daysSinceEpoch: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(date.year)\(two(date.month))\(two(date.day))T\(two(seconds / 3600))\(two(seconds % 3600 / 60))"
            + "\(two(seconds % 60))Z"
    }

    /// Lines longer than 75 octets folded with CRLF and a space, never inside a character (§3.1).
    static func fold(_ line: String) -> String {
        var out = ""
        var width = 0
        for character in line {
            let size = character.utf8.count
            if width + size > 75 {
                out += "\r\n "
                width = 1
            }
            out.append(character)
            width += size
        }
        return out
    }
}
