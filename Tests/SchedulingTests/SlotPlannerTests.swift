import Foundation
import Testing

@testable import CallbotCore
@testable import Scheduling

/// The demo deployment, read from the repository.
let demo: Deployment = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    do {
        return try Deployment.load(from: root + "/config")
    } catch {
        fatalError("the demo configuration does not load: \(error)")
    }
}()

func at(_ iso: String) -> LocalDateTime { LocalDateTime(iso: iso)! }

@Suite struct SlotPlannerTests {
    let planner = SlotPlanner(config: demo.config)
    var titres: Motif { demo.config.appointments.motifs.first { $0.id == "titres" }! }
    var urbanisme: Motif { demo.config.appointments.motifs.first { $0.id == "urbanisme" }! }

    @Test func cutsOpenRangesIntoAppointments() {
        let thursday = LocalDate(year: 2026, month: 11, day: 26)!
        let starts = planner.candidates(titres, on: thursday, utcOffset: 3600).map(\.time.description)
        #expect(starts.first == "08:30")
        #expect(starts.contains("11:10") && !starts.contains("11:30"), "the morning range ends at 11:30")
        #expect(starts.contains("13:30") && starts.last == "18:10")
        #expect(
            planner.candidates(titres, on: LocalDate(year: 2026, month: 11, day: 29)!, utcOffset: 3600).isEmpty,
            "Sunday")
        #expect(
            planner.candidates(titres, on: LocalDate(year: 2026, month: 12, day: 25)!, utcOffset: 3600).isEmpty,
            "Christmas")
        #expect(
            planner.candidates(titres, on: LocalDate(year: 2026, month: 12, day: 24)!, utcOffset: 3600).isEmpty,
            "closure")
    }

    @Test func respectsNoticeAndCapacity() {
        let now = at("2026-11-23T10:00:00+01:00")
        let first = planner.freeSlots(titres, preference: Preference(), excluding: [], limit: 2, now: now, booked: [:])
        #expect(first.map(\.start.iso) == ["2026-11-24T10:10:00+01:00", "2026-11-24T10:30:00+01:00"])
        // Both desks taken at 10:10: it is skipped; one taken: still offered.
        let full = planner.freeSlots(
            titres, preference: Preference(), excluding: [], limit: 1, now: now,
            booked: [first[0].start.epochSeconds: 2])
        #expect(full.first?.start.iso == "2026-11-24T10:30:00+01:00")
        let half = planner.freeSlots(
            titres, preference: Preference(), excluding: [], limit: 1, now: now,
            booked: [first[0].start.epochSeconds: 1])
        #expect(half.first?.start.iso == "2026-11-24T10:10:00+01:00")
    }

    @Test func followsPreferences() {
        let now = at("2026-11-23T10:00:00+01:00")
        let thursdayAfternoon = planner.freeSlots(
            titres, preference: Preference(date: LocalDate(year: 2026, month: 11, day: 26), partOfDay: .afternoon),
            excluding: [], limit: 2, now: now, booked: [:])
        #expect(thursdayAfternoon.map { $0.start.time.description } == ["13:30", "13:50"])
        let aroundFour = planner.freeSlots(
            titres,
            preference: Preference(
                date: LocalDate(year: 2026, month: 11, day: 26), time: TimeOfDay(hour: 16, minute: 0)),
            excluding: [], limit: 1, now: now, booked: [:])
        #expect(
            aroundFour.first?.start.time.description == "15:50" || aroundFour.first?.start.time.description == "16:10")
        let morning = planner.freeSlots(
            urbanisme, preference: Preference(partOfDay: .morning), excluding: [], limit: 1, now: now, booked: [:])
        #expect(morning.first?.start.iso == "2026-12-01T09:00:00+01:00", "urbanism: Tuesday mornings, 48 h notice")
        let sunday = planner.freeSlots(
            titres, preference: Preference(date: LocalDate(year: 2026, month: 11, day: 29)), excluding: [], limit: 2,
            now: now, booked: [:])
        #expect(sunday.isEmpty)
    }

    @Test func callbackWindowsFollowAgentsAndCapacity() {
        let now = at("2026-11-23T10:00:00+01:00")
        let windows = planner.callbackWindows(Preference(), now: now, counts: [:], limit: 3)
        #expect(windows.first.map { "\($0.date) \($0.range)" } == "2026-11-23 10:30-12:00")
        let full = planner.callbackWindows(Preference(), now: now, counts: ["2026-11-23 10:30-12:00": 4], limit: 1)
        #expect(full.first.map { "\($0.date) \($0.range)" } == "2026-11-23 14:00-15:30")
        // Saturday: no agents, so no callback window.
        let saturday = planner.callbackWindows(
            Preference(date: LocalDate(year: 2026, month: 11, day: 28)), now: now, counts: [:], limit: 1)
        #expect(saturday.first?.date != LocalDate(year: 2026, month: 11, day: 28))
        let tomorrowAfternoon = planner.callbackWindows(
            Preference(date: LocalDate(year: 2026, month: 11, day: 24), partOfDay: .afternoon), now: now, counts: [:],
            limit: 1)
        #expect(tomorrowAfternoon.first.map { "\($0.date) \($0.range)" } == "2026-11-24 14:00-15:30")
    }
}
