import Foundation
import WedSyncModels

/// A schedule on the wedding-day screen: who works which wedding, when (its run sheet is the screen's timeline).
public struct ScheduleSummary: Codable, Sendable, Equatable {
    public var id: Int
    public var supplierId: Int
    public var supplierName: String
    public var clientId: Int
    public var coupleName: String
    public var venueName: String?
    public var role: String
    /// `HH:MM`.
    public var arriveAt: String
    public var departAt: String

    public init(_ schedule: SupplierSchedule) {
        id = schedule.id
        supplierId = schedule.supplierId
        supplierName = schedule.supplierName
        clientId = schedule.clientId
        coupleName = schedule.coupleName
        venueName = schedule.venueName
        role = schedule.role
        arriveAt = schedule.arriveAt
        departAt = schedule.departAt
    }
}

/// One entry of the day's run sheet, across the day's schedules, in time order.
public struct DayTimelineEvent: Codable, Sendable, Equatable {
    public var scheduleId: Int
    public var clientId: Int
    public var id: Int
    /// `HH:MM`.
    public var startsAt: String
    public var minutes: Int
    public var title: String
    public var location: String?

    public init(schedule: SupplierSchedule, event: TimelineEvent) {
        scheduleId = schedule.id
        clientId = schedule.clientId
        id = event.id
        startsAt = event.startsAt
        minutes = event.minutes
        title = event.title
        location = event.location
    }
}

/// A wedding's guests in numbers: what a supplier at the venue needs (how many to seat and feed), no names.
public struct WeddingGuests: Codable, Sendable, Equatable {
    public var clientId: Int
    public var total: Int
    public var attending: Int
    public var declined: Int
    public var maybe: Int
    public var pending: Int
    /// Attending guests who bring a plus-one.
    public var plusOnes: Int
    /// Attending guests with a dietary requirement, by requirement (as written, trimmed and lower-cased).
    public var dietary: [String: Int]
    /// Attending guests seated, and tables used.
    public var seated: Int
    public var tables: Int

    public init(
        clientId: Int,
        total: Int,
        attending: Int,
        declined: Int,
        maybe: Int,
        pending: Int,
        plusOnes: Int,
        dietary: [String: Int],
        seated: Int,
        tables: Int
    ) {
        self.clientId = clientId
        self.total = total
        self.attending = attending
        self.declined = declined
        self.maybe = maybe
        self.pending = pending
        self.plusOnes = plusOnes
        self.dietary = dietary
        self.seated = seated
        self.tables = tables
    }
}

/// The day's guest numbers per wedding (`GET /api/guest-summary?date=`).
public struct GuestSummaryResponse: Codable, Sendable, Equatable {
    public var date: CalendarDay
    public var weddings: [WeddingGuests]

    public init(date: CalendarDay, weddings: [WeddingGuests]) {
        self.date = date
        self.weddings = weddings
    }
}

/// The day's run sheet across its schedules (`GET /api/timeline?date=`).
public struct DayTimelineResponse: Codable, Sendable, Equatable {
    public var date: CalendarDay
    public var events: [DayTimelineEvent]

    public init(date: CalendarDay, events: [DayTimelineEvent]) {
        self.date = date
        self.events = events
    }
}

/// The wedding-day screen in one response (`GET /api/screens/wedding-day?date=`): the day's schedules, its run
/// sheet and each wedding's guest numbers, what a supplier's phone shows at the venue, in one round trip.
public struct WeddingDayScreen: Codable, Sendable, Equatable {
    public var date: CalendarDay
    public var schedules: [ScheduleSummary]
    public var timeline: [DayTimelineEvent]
    public var guests: [WeddingGuests]
    /// `true` in the compact form (``compacted()``), absent in the full one.
    public var compact: Bool?

    public init(
        date: CalendarDay,
        schedules: [ScheduleSummary],
        timeline: [DayTimelineEvent],
        guests: [WeddingGuests],
        compact: Bool? = nil
    ) {
        self.date = date
        self.schedules = schedules
        self.timeline = timeline
        self.guests = guests
        self.compact = compact
    }

    /// The compact form, for a phone that asks to save data (`Save-Data: on`): every schedule, run-sheet entry and
    /// count, without what the screen shows only on a second look: each entry's place (the wedding's venue is on
    /// its schedule) and each wedding's dietary breakdown (its counts stay).
    public func compacted() -> WeddingDayScreen {
        var compact = self
        compact.compact = true
        for index in compact.timeline.indices { compact.timeline[index].location = nil }
        for index in compact.guests.indices { compact.guests[index].dietary = [:] }
        return compact
    }
}

extension ScheduleSummary: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "supplierId": .id, "supplierName": .string(), "clientId": .id, "coupleName": .string(),
                "venueName": .optionalString, "role": .string(), "arriveAt": .string(), "departAt": .string(),
            ],
            required: ["id", "supplierId", "supplierName", "clientId", "coupleName", "role", "arriveAt", "departAt"]
        )
    }
}

extension DayTimelineEvent: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "scheduleId": .id, "clientId": .id, "id": .id, "startsAt": .string(), "minutes": .integer(minimum: 1),
                "title": .string(), "location": .optionalString,
            ],
            required: ["scheduleId", "clientId", "id", "startsAt", "minutes", "title"]
        )
    }
}

extension WeddingGuests: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let count = JSONSchema.integer(minimum: 0)
        return .object(
            [
                "clientId": .id, "total": count, "attending": count, "declined": count, "maybe": count,
                "pending": count, "plusOnes": count, "dietary": .map(count), "seated": count, "tables": count,
            ],
            required: [
                "clientId", "total", "attending", "declined", "maybe", "pending", "plusOnes", "dietary", "seated",
                "tables",
            ]
        )
    }
}

extension GuestSummaryResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["date": .date, "weddings": .array(.reference(WeddingGuests.openAPIName))],
            required: ["date", "weddings"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [WeddingGuests.self] }
}

extension DayTimelineResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["date": .date, "events": .array(.reference(DayTimelineEvent.openAPIName))],
            required: ["date", "events"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [DayTimelineEvent.self] }
}

extension WeddingDayScreen: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "date": .date, "schedules": .array(.reference(ScheduleSummary.openAPIName)),
                "timeline": .array(.reference(DayTimelineEvent.openAPIName)),
                "guests": .array(.reference(WeddingGuests.openAPIName)), "compact": .boolean,
            ],
            required: ["date", "schedules", "timeline", "guests"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [ScheduleSummary.self, DayTimelineEvent.self, WeddingGuests.self]
    }
}
