import NIOHTTP1
import WedSyncModels

/// Another WedSync service answers `GET /health`.
public struct ServiceReadinessCheck: ReadinessCheck {
    public let name: String
    public let isCritical: Bool
    let client: ServiceClient

    public init(client: ServiceClient, critical: Bool) {
        self.name = client.name
        self.client = client
        self.isCritical = critical
    }

    public func check() async throws -> ReadinessOutcome {
        _ = try await client.send(.GET, "/health")
        return .up
    }
}
