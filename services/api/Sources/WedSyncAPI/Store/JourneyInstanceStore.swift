import Foundation
import WedSyncModels
import WedSyncPostgres

/// The journey instances resource (`/api/journey-instances`): its statement and the decoding of its rows. The
/// statement runs through ``RecordingDatabase``, so it is timed into the request's ``QueryLog``.
struct JourneyInstanceStore: Sendable {
    let database: RecordingDatabase

    /// The journeys of a live client of `organization`, in the order they started; `nil` when there is no such
    /// client.
    func journeys(client clientID: Int, organization: Int) async throws -> [JourneyInstance]? {
        let rows = try await database.read(
            """
            SELECT c.id, j.id, j.journey_name, j.current_stage, j.stage_index, j.stage_count, j.status, j.started_at, j.updated_at
            FROM clients c LEFT JOIN journey_instances j ON j.client_id = c.id
            WHERE c.id = \(clientID) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
            ORDER BY j.started_at, j.id
            """
        )
        guard !rows.isEmpty else { return nil }
        return try rows.compactMap { row in
            guard let id = try row.decode(Int?.self, at: 1) else { return nil }
            return JourneyInstance(
                id: id,
                clientId: clientID,
                journeyName: try row.decode(String.self, at: 2),
                currentStage: try row.decode(String.self, at: 3),
                stageIndex: try row.decode(Int.self, at: 4),
                stageCount: try row.decode(Int.self, at: 5),
                status: try row.decode(String.self, at: 6),
                startedAt: try row.decode(Date.self, at: 7),
                updatedAt: try row.decode(Date.self, at: 8)
            )
        }
    }
}
