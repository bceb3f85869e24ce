import Foundation

/// The weddings booked per hour across every organization (`GET /v1/calendar/weddings`): counts only, no names,
/// no organization. The autoscaler turns them into replicas a lead time before they start.
public struct WeddingCalendar: Codable, Sendable, Equatable {
    /// The first day asked for (UTC), and the last, inclusive.
    public var from: CalendarDay
    public var to: CalendarDay
    /// Hours with at least one wedding starting in them, in time order.
    public var hours: [WeddingHour]

    public init(from: CalendarDay, to: CalendarDay, hours: [WeddingHour]) {
        self.from = from
        self.to = to
        self.hours = hours
    }
}

/// The weddings whose ceremony starts in one hour, in one IANA time zone.
public struct WeddingHour: Codable, Sendable, Equatable {
    /// The hour's start, an instant.
    public var start: Date
    /// The organizations' time zone (`Europe/London`): where the ceremony window is live.
    public var timeZone: String
    public var weddings: Int

    public init(start: Date, timeZone: String, weddings: Int) {
        self.start = start
        self.timeZone = timeZone
        self.weddings = weddings
    }
}

extension APIPath {
    /// The demo WedSync API's routes for other services.
    public enum API {
        /// The wedding calendar the autoscaler reads (`from`, `to`: days).
        public static let weddingCalendar = "\(v1)/calendar/weddings"
    }
}

extension WeddingCalendar: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "from": .string(format: "date"), "to": .string(format: "date"),
                "hours": .array(.reference(WeddingHour.openAPIName)),
            ],
            required: ["from", "to", "hours"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [WeddingHour.self] }
}

extension WeddingHour: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["start": .string(format: "date-time"), "timeZone": .string(), "weddings": .integer(minimum: 1)],
            required: ["start", "timeZone", "weddings"]
        )
    }
}
