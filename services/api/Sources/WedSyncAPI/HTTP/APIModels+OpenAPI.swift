import WedSyncModels
import WedSyncServiceKit

// The OpenAPI schemas of the API's bodies, next to the routes that send them.

extension JSONSchema {
    fileprivate static let date = JSONSchema.string(format: "date")
    fileprivate static let dateTime = JSONSchema.string(format: "date-time")
    fileprivate static let id = JSONSchema.integer(minimum: 1)
    fileprivate static let optionalString = JSONSchema.nullable(.string())
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

extension JourneyInstance: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "clientId": .id, "journeyName": .string(), "currentStage": .string(),
                "stageIndex": .integer(minimum: 0), "stageCount": .integer(minimum: 1),
                "status": .string(enumeration: ["active", "paused", "completed"]), "startedAt": .dateTime,
                "updatedAt": .dateTime,
            ],
            required: [
                "id", "clientId", "journeyName", "currentStage", "stageIndex", "stageCount", "status", "startedAt",
                "updatedAt",
            ]
        )
    }
}

extension JourneyInstancesResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["clientId": .id, "journeyInstances": .array(.reference(JourneyInstance.openAPIName))],
            required: ["clientId", "journeyInstances"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [JourneyInstance.self] }
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

extension DashboardCounts: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let counts = [
            "clients", "activeClients", "upcomingWeddings30Days", "upcomingWeddings365Days", "inquiries", "booked",
            "guests", "rsvpAttending", "rsvpDeclined", "rsvpPending", "activeJourneys",
        ]
        var properties = Dictionary(uniqueKeysWithValues: counts.map { ($0, JSONSchema.integer(minimum: 0)) })
        properties["organizationId"] = .id
        properties["refreshedAt"] = .dateTime
        return .object(properties, required: counts + ["organizationId", "refreshedAt"])
    }
}
