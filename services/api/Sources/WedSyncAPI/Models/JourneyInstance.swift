import Foundation
import WedSyncModels

/// A client's progress through one of the supplier's workflows.
public struct JourneyInstance: Codable, Sendable, Equatable {
    public var id: Int
    public var clientId: Int
    public var journeyName: String
    public var currentStage: String
    public var stageIndex: Int
    public var stageCount: Int
    /// `active`, `paused` or `completed`.
    public var status: String
    public var startedAt: Date
    public var updatedAt: Date

    public init(
        id: Int,
        clientId: Int,
        journeyName: String,
        currentStage: String,
        stageIndex: Int,
        stageCount: Int,
        status: String,
        startedAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.clientId = clientId
        self.journeyName = journeyName
        self.currentStage = currentStage
        self.stageIndex = stageIndex
        self.stageCount = stageCount
        self.status = status
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }
}

/// The journeys of one client (`GET /api/journey-instances?client_id=`).
public struct JourneyInstancesResponse: Codable, Sendable, Equatable {
    public var clientId: Int
    public var journeyInstances: [JourneyInstance]

    public init(clientId: Int, journeyInstances: [JourneyInstance]) {
        self.clientId = clientId
        self.journeyInstances = journeyInstances
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
