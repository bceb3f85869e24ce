import Foundation
import WedSyncModels
import WedSyncServiceKit

/// One guest of a client's guest list.
public struct Guest: Codable, Sendable, Equatable {
    public var id: Int
    public var guestListId: Int
    public var clientId: Int
    public var firstName: String
    public var lastName: String
    public var email: String?
    /// `pending`, `attending`, `declined` or `maybe`.
    public var rsvpStatus: String
    public var dietaryRequirements: String?
    public var tableNumber: Int?
    public var plusOne: Bool
    public var updatedAt: Date

    public init(
        id: Int,
        guestListId: Int,
        clientId: Int,
        firstName: String,
        lastName: String,
        email: String?,
        rsvpStatus: String,
        dietaryRequirements: String?,
        tableNumber: Int?,
        plusOne: Bool,
        updatedAt: Date
    ) {
        self.id = id
        self.guestListId = guestListId
        self.clientId = clientId
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.rsvpStatus = rsvpStatus
        self.dietaryRequirements = dietaryRequirements
        self.tableNumber = tableNumber
        self.plusOne = plusOne
        self.updatedAt = updatedAt
    }

    /// The RSVP answers a guest can have.
    public static let rsvpStatuses = ["pending", "attending", "declined", "maybe"]
}

/// A client's guest list and its guests (`GET /api/guest-lists?client_id=`).
public struct GuestList: Codable, Sendable, Equatable {
    public var id: Int
    public var clientId: Int
    public var name: String
    public var guests: [Guest]

    public init(id: Int, clientId: Int, name: String, guests: [Guest]) {
        self.id = id
        self.clientId = clientId
        self.name = name
        self.guests = guests
    }
}

/// The guest lists of one client.
public struct GuestListsResponse: Codable, Sendable, Equatable {
    public var clientId: Int
    public var guestLists: [GuestList]

    public init(clientId: Int, guestLists: [GuestList]) {
        self.clientId = clientId
        self.guestLists = guestLists
    }
}

/// `POST /api/guests`: a new guest on one of the caller's guest lists.
public struct GuestCreate: Codable, Sendable, Equatable {
    public var guestListId: Int
    public var firstName: String
    public var lastName: String
    public var email: String?
    public var rsvpStatus: String?
    public var dietaryRequirements: String?
    public var tableNumber: Int?
    public var plusOne: Bool?

    public init(
        guestListId: Int,
        firstName: String,
        lastName: String,
        email: String? = nil,
        rsvpStatus: String? = nil,
        dietaryRequirements: String? = nil,
        tableNumber: Int? = nil,
        plusOne: Bool? = nil
    ) {
        self.guestListId = guestListId
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.rsvpStatus = rsvpStatus
        self.dietaryRequirements = dietaryRequirements
        self.tableNumber = tableNumber
        self.plusOne = plusOne
    }
}

/// `PATCH /api/guests/{id}`: the fields to change; absent (or null) fields are left as they are.
public struct GuestPatch: Codable, Sendable, Equatable {
    public var firstName: String?
    public var lastName: String?
    public var email: String?
    public var rsvpStatus: String?
    public var dietaryRequirements: String?
    public var tableNumber: Int?
    public var plusOne: Bool?

    public init(
        firstName: String? = nil,
        lastName: String? = nil,
        email: String? = nil,
        rsvpStatus: String? = nil,
        dietaryRequirements: String? = nil,
        tableNumber: Int? = nil,
        plusOne: Bool? = nil
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.rsvpStatus = rsvpStatus
        self.dietaryRequirements = dietaryRequirements
        self.tableNumber = tableNumber
        self.plusOne = plusOne
    }
}

extension Guest: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "guestListId": .id, "clientId": .id, "firstName": .string(), "lastName": .string(),
                "email": .optionalString, "rsvpStatus": .string(enumeration: Guest.rsvpStatuses),
                "dietaryRequirements": .optionalString, "tableNumber": .nullable(.integer(minimum: 1)),
                "plusOne": .boolean, "updatedAt": .dateTime,
            ],
            required: ["id", "guestListId", "clientId", "firstName", "lastName", "rsvpStatus", "plusOne", "updatedAt"]
        )
    }
}

extension GuestList: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["id": .id, "clientId": .id, "name": .string(), "guests": .array(.reference(Guest.openAPIName))],
            required: ["id", "clientId", "name", "guests"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [Guest.self] }
}

extension GuestListsResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["clientId": .id, "guestLists": .array(.reference(GuestList.openAPIName))],
            required: ["clientId", "guestLists"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [GuestList.self, Guest.self] }
}

extension GuestCreate: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "guestListId": APIFields.idSchema, "firstName": APIFields.personName.schema,
                "lastName": APIFields.personName.schema,
                "email": .nullable(EmailRule.schema), "rsvpStatus": .nullable(.string(enumeration: Guest.rsvpStatuses)),
                "dietaryRequirements": .nullable(APIFields.dietaryRequirements.schema),
                "tableNumber": .nullable(.integer(in: APIFields.tableNumber)),
                "plusOne": .nullable(.boolean),
            ],
            required: ["guestListId", "firstName", "lastName"]
        )
    }
}

extension GuestPatch: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "firstName": .nullable(APIFields.personName.schema), "lastName": .nullable(APIFields.personName.schema),
                "email": .nullable(EmailRule.schema), "rsvpStatus": .nullable(.string(enumeration: Guest.rsvpStatuses)),
                "dietaryRequirements": .nullable(APIFields.dietaryRequirements.schema),
                "tableNumber": .nullable(.integer(in: APIFields.tableNumber)),
                "plusOne": .nullable(.boolean),
            ],
            required: []
        )
    }
}
