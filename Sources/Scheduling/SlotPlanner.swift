public import CallbotCore

/// Finds free appointment slots and callback windows in the configured calendars. Pure.
package struct SlotPlanner: Sendable {
    package let config: ServiceConfig

    package init(config: ServiceConfig) { self.config = config }

    /// Start times of `motif` on `date`: each open range cut into appointments of its duration.
    package func candidates(_ motif: Motif, on date: LocalDate, utcOffset: Int) -> [LocalDateTime] {
        var starts: [LocalDateTime] = []
        for range in config.calendar(for: motif).ranges(on: date) {
            var minute = range.start.minutes
            while minute + motif.durationMinutes <= range.end.minutes {
                starts.append(LocalDateTime(date: date, time: TimeOfDay(minutes: minute), utcOffset: utcOffset))
                minute += motif.durationMinutes
            }
        }
        return starts
    }

    /// The first and last days to search for `motif` from `now`.
    package func searchDays(_ motif: Motif, now: LocalDateTime) -> (
        first: LocalDate, last: LocalDate, earliest: LocalDateTime
    ) {
        let earliest = now.adding(minutes: motif.minNoticeHours * 60)
        return (earliest.date, now.date.adding(days: motif.maxDaysAhead), earliest)
    }

    /// Up to `limit` free slots of `motif`, the ones that fit `preference` first.
    ///
    /// With a date: only that day, in the preferred part of the day when there is room,
    /// otherwise any time that day; nothing when that day is full (the caller is then told).
    /// Without: the soonest days, in the preferred part of the day or around the preferred time.
    package func freeSlots(
        _ motif: Motif, preference: Preference, excluding: [Slot], limit: Int, now: LocalDateTime,
        booked: [Int: Int]
    ) -> [Slot] {
        let (first, last, earliest) = searchDays(motif, now: now)
        let excluded = Set(excluding.map { $0.start.epochSeconds })
        func free(_ start: LocalDateTime) -> Bool {
            start >= earliest && !excluded.contains(start.epochSeconds)
                && (booked[start.epochSeconds] ?? 0) < motif.capacity
        }
        func slots(_ starts: [LocalDateTime]) -> [Slot] {
            starts.filter(free).map { Slot(motifID: motif.id, start: $0, durationMinutes: motif.durationMinutes) }
        }
        if let date = preference.date {
            guard date >= first, date <= last else { return [] }
            let day = slots(candidates(motif, on: date, utcOffset: now.utcOffset))
            let fitting = day.filter { fits($0.start.time, preference) }
            return Array(ordered(fitting.isEmpty ? day : fitting, around: preference.time).prefix(limit))
        }
        var days =
            first <= last ? (0...(last.daysSinceEpoch - first.daysSinceEpoch)).map { first.adding(days: $0) } : []
        if let near = preference.near {
            // Nearest first; of two days as near, the later one (a caller who could not have a day
            // is better served after it than before it).
            days.sort {
                let (a, b) = (
                    abs($0.daysSinceEpoch - near.daysSinceEpoch), abs($1.daysSinceEpoch - near.daysSinceEpoch)
                )
                return a != b ? a < b : $0 > $1
            }
        }
        var found: [Slot] = []
        for date in days where found.count < limit {
            let day = slots(candidates(motif, on: date, utcOffset: now.utcOffset)).filter {
                fits($0.start.time, preference)
            }
            found += ordered(day, around: preference.time).prefix(limit - found.count)
        }
        if found.isEmpty && (preference.partOfDay != nil || preference.time != nil) {
            return freeSlots(
                motif, preference: Preference(near: preference.near), excluding: excluding, limit: limit, now: now,
                booked: booked)
        }
        return found.sorted { $0.start < $1.start }
    }

    /// Whether a time matches the part of the day (and is within an hour of the preferred time).
    func fits(_ time: TimeOfDay, _ preference: Preference) -> Bool {
        if let wanted = preference.time, abs(wanted.minutes - time.minutes) > 60 { return false }
        switch preference.partOfDay {
        case .morning?: return time.minutes < 12 * 60
        case .afternoon?: return time.minutes >= 12 * 60
        case .evening?: return time.minutes >= 16 * 60
        case nil: return true
        }
    }

    func ordered(_ slots: [Slot], around time: TimeOfDay?) -> [Slot] {
        guard let time else { return slots }
        return slots.sorted { abs($0.start.time.minutes - time.minutes) < abs($1.start.time.minutes - time.minutes) }
    }

    /// Callback windows with room, from `now` (plus notice) over the configured days, on days
    /// and hours the agents work; those that fit `preference` first.
    package func callbackWindows(_ preference: Preference, now: LocalDateTime, counts: [String: Int], limit: Int)
        -> [CallbackWindow]
    {
        let settings = config.callbacks
        let earliest = now.adding(minutes: settings.minNoticeMinutes)
        let agents = config.agentCalendar
        var open: [CallbackWindow] = []
        for offset in 0...settings.daysAhead {
            let date = now.date.adding(days: offset)
            let agentRanges = agents.ranges(on: date)
            for range in settings.windows {
                let window = CallbackWindow(date: date, range: range)
                let start = LocalDateTime(date: date, time: range.start, utcOffset: now.utcOffset)
                guard start >= earliest || (now.date == date && range.contains(earliest.time)) else { continue }
                guard agentRanges.contains(where: { $0.start < range.end && range.start < $0.end }) else { continue }
                guard (counts[Self.key(window)] ?? 0) < settings.capacityPerWindow else { continue }
                open.append(window)
            }
        }
        let fitting = open.filter { matches($0, preference) }
        let rest = open.filter { !matches($0, preference) }
        return Array((fitting + rest).prefix(limit))
    }

    func matches(_ window: CallbackWindow, _ preference: Preference) -> Bool {
        if let date = preference.date, window.date != date { return false }
        if let time = preference.time, !window.range.contains(time) { return false }
        switch preference.partOfDay {
        case .morning?: return window.range.start.minutes < 12 * 60
        case .afternoon?, .evening?: return window.range.end.minutes > 12 * 60
        case nil: return true
        }
    }

    /// The storage key of a window: `2026-11-24 09:00-10:30`.
    package static func key(_ window: CallbackWindow) -> String { "\(window.date.iso) \(window.range)" }
}
