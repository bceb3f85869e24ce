import Foundation
import Testing
import WedSyncAutoscaler
import WedSyncModels
import WedSyncServiceKit

@Suite("Autoscaler: cron schedules in a time zone, across DST, with excluded dates")
struct ScheduleTests {
    static func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    static let saturday = ReplicaSchedule(
        name: "saturday",
        start: try! CronSchedule("0 7 * * SAT"),
        end: try! CronSchedule("0 23 * * 6"),
        timeZone: TimeZone(identifier: "Europe/London")!,
        replicas: 4,
        excludedDates: [CalendarDay("2026-12-26")!]
    )

    @Test("Fields: lists, ranges, steps, names, 7 for Sunday; day-of-month or day-of-week when both are set")
    func fields() throws {
        let zone = TimeZone(identifier: "UTC")!
        let fires = try CronSchedule("*/20 9-10 * * MON-FRI").fireTimes(
            from: Self.utc("2026-12-04T00:00:00Z"),
            to: Self.utc("2026-12-06T23:59:00Z"),
            in: zone
        )
        #expect(
            fires.map { ISO8601DateFormatter().string(from: $0) } == [
                "2026-12-04T09:00:00Z", "2026-12-04T09:20:00Z", "2026-12-04T09:40:00Z", "2026-12-04T10:00:00Z",
                "2026-12-04T10:20:00Z", "2026-12-04T10:40:00Z",
            ]
        )
        let either = try CronSchedule("0 12 1 * 7").fireTimes(
            from: Self.utc("2026-11-01T00:00:00Z"),
            to: Self.utc("2026-11-30T23:00:00Z"),
            in: zone
        )
        // 1 November 2026 is a Sunday; then the Sundays 8, 15, 22, 29.
        #expect(either.count == 5)
        for bad in ["* * * *", "60 * * * *", "* * * 13 *", "5-1 * * * *", "*/0 * * * *", "* * * * FUNDAY"] {
            #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(bad) }
        }
    }

    @Test("07:00 London on a Saturday is 07:00 UTC in winter and 06:00 UTC in summer; the DST days themselves")
    func daylightSaving() {
        let schedule = Self.saturday
        // Winter (GMT): 3 January 2026.
        #expect(!schedule.isActive(at: Self.utc("2026-01-03T06:30:00Z")))
        #expect(schedule.isActive(at: Self.utc("2026-01-03T07:00:00Z")))
        #expect(schedule.isActive(at: Self.utc("2026-01-03T22:59:00Z")))
        #expect(!schedule.isActive(at: Self.utc("2026-01-03T23:00:00Z")))
        // Summer (BST): 13 June 2026.
        #expect(schedule.isActive(at: Self.utc("2026-06-13T06:30:00Z")))
        #expect(!schedule.isActive(at: Self.utc("2026-06-13T22:30:00Z")))
        // Across the change: the window of Saturday 28 March opens at 07:00 GMT; the clocks go forward on Sunday 29
        // March at 01:00 UTC; the next Saturday's opens at 06:00 UTC.
        let windows = schedule.windows(from: Self.utc("2026-03-27T00:00:00Z"), to: Self.utc("2026-04-05T00:00:00Z"))
        #expect(windows.map(\.start) == [Self.utc("2026-03-28T07:00:00Z"), Self.utc("2026-04-04T06:00:00Z")])
        #expect(windows.map(\.duration) == [16 * 3600, 16 * 3600])
        // A daily window at 01:30, a time the spring change skips: it opens when the clock has moved past it.
        let skipped = ReplicaSchedule(
            name: "night",
            start: try! CronSchedule("30 1 * * *"),
            end: try! CronSchedule("0 4 * * *"),
            timeZone: TimeZone(identifier: "Europe/London")!,
            replicas: 2
        )
        let night = skipped.windows(from: Self.utc("2026-03-29T00:00:00Z"), to: Self.utc("2026-03-29T06:00:00Z"))
        #expect(night.count == 1)
        #expect(night[0].end == Self.utc("2026-03-29T03:00:00Z"))
        #expect(night[0].start > Self.utc("2026-03-29T00:59:00Z") && night[0].start <= Self.utc("2026-03-29T01:30:00Z"))
        // Autumn: 01:30 happens twice on 25 October; the window opens once.
        let autumn = skipped.windows(from: Self.utc("2026-10-25T00:00:00Z"), to: Self.utc("2026-10-25T06:00:00Z"))
        #expect(autumn.count == 1)
    }

    @Test("An excluded date keeps the window shut that day only")
    func excluded() {
        #expect(!Self.saturday.isActive(at: Self.utc("2026-12-26T12:00:00Z")), "Boxing Day is excluded")
        #expect(Self.saturday.isActive(at: Self.utc("2026-12-19T12:00:00Z")))
        #expect(Self.saturday.isActive(at: Self.utc("2027-01-02T12:00:00Z")))
    }
}
