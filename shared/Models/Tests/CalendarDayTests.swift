import Foundation
import Testing
import WedSyncModels

@Suite("Calendar days")
struct CalendarDayTests {
    @Test("Parses YYYY-MM-DD strictly, knows weekdays and month lengths")
    func parsing() {
        #expect(CalendarDay("2026-06-13")?.weekday == 6)
        #expect(CalendarDay("2024-02-29") != nil)
        #expect(CalendarDay("2026-02-29") == nil)
        #expect(CalendarDay("2026-6-13") == nil)
        #expect(CalendarDay("2026-06-13T00:00") == nil)
        #expect(CalendarDay("1970-01-01")?.daysSinceEpoch == 0)
        #expect(CalendarDay("2026-06-13")?.adding(days: 19).description == "2026-07-02")
    }
}
