import WedSyncRedis
import WedSyncServiceKit

/// Redis answers `PING`.
public struct RedisReadinessCheck: ReadinessCheck {
    public let name: String
    public let isCritical: Bool
    let client: RedisClient

    public init(name: String = "redis", client: RedisClient, critical: Bool) {
        self.name = name
        self.client = client
        self.isCritical = critical
    }

    public func check() async throws -> ReadinessOutcome {
        try await client.ping()
        return .up
    }
}
