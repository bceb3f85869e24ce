import Foundation
import WedSyncModels
import WedSyncServiceKit

/// A couple: one of a supplier's clients (`GET /api/clients`, `GET /api/clients/{id}`).
public struct Client: Codable, Sendable, Equatable {
    public var id: Int
    public var organizationId: Int
    public var partner1FirstName: String
    public var partner1LastName: String
    public var partner2FirstName: String?
    public var partner2LastName: String?
    public var email: String?
    public var phone: String?
    public var weddingDate: CalendarDay
    public var venueName: String?
    public var venueCity: String?
    /// `inquiry`, `proposal`, `booked`, `completed` or `cancelled`.
    public var status: String
    public var guestEstimate: Int?
    /// Guests on the client's guest lists.
    public var guestCount: Int
    public var notes: String?
    public var updatedAt: Date

    public init(
        id: Int,
        organizationId: Int,
        partner1FirstName: String,
        partner1LastName: String,
        partner2FirstName: String?,
        partner2LastName: String?,
        email: String?,
        phone: String?,
        weddingDate: CalendarDay,
        venueName: String?,
        venueCity: String?,
        status: String,
        guestEstimate: Int?,
        guestCount: Int,
        notes: String?,
        updatedAt: Date
    ) {
        self.id = id
        self.organizationId = organizationId
        self.partner1FirstName = partner1FirstName
        self.partner1LastName = partner1LastName
        self.partner2FirstName = partner2FirstName
        self.partner2LastName = partner2LastName
        self.email = email
        self.phone = phone
        self.weddingDate = weddingDate
        self.venueName = venueName
        self.venueCity = venueCity
        self.status = status
        self.guestEstimate = guestEstimate
        self.guestCount = guestCount
        self.notes = notes
        self.updatedAt = updatedAt
    }

    /// The statuses a client can have.
    public static let statuses = ["inquiry", "proposal", "booked", "completed", "cancelled"]
}

/// One page of clients, and the cursor of the next (absent on the last page).
public struct ClientPage: Codable, Sendable, Equatable {
    public var clients: [Client]
    public var nextCursor: String?

    public init(clients: [Client], nextCursor: String?) {
        self.clients = clients
        self.nextCursor = nextCursor
    }
}

/// `PATCH /api/clients/{id}`: the fields to change; absent (or null) fields are left as they are.
public struct ClientPatch: Codable, Sendable, Equatable {
    public var partner1FirstName: String?
    public var partner1LastName: String?
    public var partner2FirstName: String?
    public var partner2LastName: String?
    public var email: String?
    public var phone: String?
    public var weddingDate: CalendarDay?
    public var venueName: String?
    public var venueCity: String?
    public var status: String?
    public var guestEstimate: Int?
    public var notes: String?

    public init(
        partner1FirstName: String? = nil,
        partner1LastName: String? = nil,
        partner2FirstName: String? = nil,
        partner2LastName: String? = nil,
        email: String? = nil,
        phone: String? = nil,
        weddingDate: CalendarDay? = nil,
        venueName: String? = nil,
        venueCity: String? = nil,
        status: String? = nil,
        guestEstimate: Int? = nil,
        notes: String? = nil
    ) {
        self.partner1FirstName = partner1FirstName
        self.partner1LastName = partner1LastName
        self.partner2FirstName = partner2FirstName
        self.partner2LastName = partner2LastName
        self.email = email
        self.phone = phone
        self.weddingDate = weddingDate
        self.venueName = venueName
        self.venueCity = venueCity
        self.status = status
        self.guestEstimate = guestEstimate
        self.notes = notes
    }
}

extension Client: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "organizationId": .id, "partner1FirstName": .string(), "partner1LastName": .string(),
                "partner2FirstName": .optionalString, "partner2LastName": .optionalString, "email": .optionalString,
                "phone": .optionalString, "weddingDate": .date, "venueName": .optionalString,
                "venueCity": .optionalString,
                "status": .string(enumeration: Client.statuses), "guestEstimate": .nullable(.integer()),
                "guestCount": .integer(minimum: 0), "notes": .optionalString, "updatedAt": .dateTime,
            ],
            required: [
                "id", "organizationId", "partner1FirstName", "partner1LastName", "weddingDate", "status", "guestCount",
                "updatedAt",
            ]
        )
    }
}

extension ClientPage: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["clients": .array(.reference(Client.openAPIName)), "nextCursor": .optionalString],
            required: ["clients"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [Client.self] }
}

extension ClientPatch: OpenAPISchemaProviding {
    /// Every field optional: absent or `null` leaves it as it is (a patch naming none changes nothing).
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "partner1FirstName": .nullable(APIFields.personName.schema),
                "partner1LastName": .nullable(APIFields.personName.schema),
                "partner2FirstName": .nullable(APIFields.optionalName.schema),
                "partner2LastName": .nullable(APIFields.optionalName.schema),
                "email": .nullable(EmailRule.schema), "phone": .nullable(APIFields.phone.schema),
                "weddingDate": .nullable(APIFields.daySchema),
                "venueName": .nullable(APIFields.optionalName.schema),
                "venueCity": .nullable(APIFields.optionalName.schema),
                "status": .nullable(.string(enumeration: Client.statuses)),
                "guestEstimate": .nullable(.integer(in: APIFields.guestEstimate)),
                "notes": .nullable(APIFields.notes.schema),
            ],
            required: []
        )
    }
}
