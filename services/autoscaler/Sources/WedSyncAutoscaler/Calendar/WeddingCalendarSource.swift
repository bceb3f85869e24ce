import Foundation
import Logging
import WedSyncModels
import WedSyncServiceKit

/// The weddings booked around now, from the API (the calendar's `path`, `GET /v1/calendar/weddings`: counts only, with this service's own
/// token): read again once the calendar's `refresh` has passed, and kept when a read fails, so an API that is down
/// leaves the last calendar in force rather than none.
public actor WeddingCalendarSource {
    let client: ServiceClient
    let logger: Logger
    private var bookings: [WeddingBooking]?
    private var readAt: ContinuousClock.Instant?
    private var failedAt: ContinuousClock.Instant?

    public init(client: ServiceClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The bookings in play around `now` for `floor`: those read within its refresh, or read now; `nil` before the
    /// first read succeeds.
    public func bookings(for floor: CalendarFloor, at now: Date) async -> [WeddingBooking]? {
        let clock = ContinuousClock.now
        let due = readAt.map { clock - $0 >= floor.refresh } ?? true
        // After a failure, wait a tick's worth (15 s) before asking again rather than every target every tick.
        let backingOff = failedAt.map { clock - $0 < .seconds(15) } ?? false
        guard due, !backingOff else { return bookings }
        let (from, to) = Self.days(for: floor, at: now)
        do {
            let calendar = try await client.get(
                "\(floor.path)?from=\(from)&to=\(to)",
                as: WeddingCalendar.self
            )
            bookings = calendar.hours
            readAt = clock
            failedAt = nil
        } catch {
            failedAt = clock
            logger.warning(
                "wedding calendar unreadable: the last one read stays in force",
                metadata: ["error": "\(error)", "read": "\(bookings != nil)"]
            )
        }
        return bookings
    }

    /// The UTC days whose weddings can be in play between now and the next refresh: from those that started a
    /// wedding's length (and its ceremony window) ago, to those starting a lead time after the refresh.
    static func days(for floor: CalendarFloor, at now: Date) -> (CalendarDay, CalendarDay) {
        let earliest = now.addingTimeInterval(-floor.duration.seconds - floor.ceremonyWindow.seconds)
        let latest = now.addingTimeInterval(floor.lead.seconds + floor.refresh.seconds + 3_600)
        let utc = TimeZone.gmt
        return (CalendarDay(earliest, in: utc), CalendarDay(latest, in: utc))
    }
}
