import Foundation
import WedSyncModels

/// One entry of a wedding-day run sheet.
public struct TimelineEvent: Codable, Sendable, Equatable {
    public var id: Int
    /// `HH:MM`.
    public var startsAt: String
    public var minutes: Int
    public var title: String
    public var location: String?

    public init(id: Int, startsAt: String, minutes: Int, title: String, location: String?) {
        self.id = id
        self.startsAt = startsAt
        self.minutes = minutes
        self.title = title
        self.location = location
    }
}

/// Who of the organization works which wedding on a day, with the run sheet.
public struct SupplierSchedule: Codable, Sendable, Equatable {
    public var id: Int
    public var supplierId: Int
    public var supplierName: String
    public var clientId: Int
    public var coupleName: String
    public var venueName: String?
    public var date: CalendarDay
    public var role: String
    /// `HH:MM`.
    public var arriveAt: String
    public var departAt: String
    public var timeline: [TimelineEvent]

    public init(
        id: Int,
        supplierId: Int,
        supplierName: String,
        clientId: Int,
        coupleName: String,
        venueName: String?,
        date: CalendarDay,
        role: String,
        arriveAt: String,
        departAt: String,
        timeline: [TimelineEvent]
    ) {
        self.id = id
        self.supplierId = supplierId
        self.supplierName = supplierName
        self.clientId = clientId
        self.coupleName = coupleName
        self.venueName = venueName
        self.date = date
        self.role = role
        self.arriveAt = arriveAt
        self.departAt = departAt
        self.timeline = timeline
    }
}

/// The organization's schedules of one day (`GET /api/supplier-schedules?date=`).
public struct SupplierSchedulesResponse: Codable, Sendable, Equatable {
    public var date: CalendarDay
    public var schedules: [SupplierSchedule]

    public init(date: CalendarDay, schedules: [SupplierSchedule]) {
        self.date = date
        self.schedules = schedules
    }
}

extension TimelineEvent: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "startsAt": .string(), "minutes": .integer(minimum: 1), "title": .string(),
                "location": .optionalString,
            ],
            required: ["id", "startsAt", "minutes", "title"]
        )
    }
}

extension SupplierSchedule: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "supplierId": .id, "supplierName": .string(), "clientId": .id, "coupleName": .string(),
                "venueName": .optionalString, "date": .date, "role": .string(), "arriveAt": .string(),
                "departAt": .string(),
                "timeline": .array(.reference(TimelineEvent.openAPIName)),
            ],
            required: [
                "id", "supplierId", "supplierName", "clientId", "coupleName", "date", "role", "arriveAt", "departAt",
                "timeline",
            ]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [TimelineEvent.self] }
}

extension SupplierSchedulesResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["date": .date, "schedules": .array(.reference(SupplierSchedule.openAPIName))],
            required: ["date", "schedules"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [SupplierSchedule.self, TimelineEvent.self]
    }
}
