import Logging
import ServiceLifecycle
import Synchronization
import WedSyncConnectionPool

/// A primary and its read replicas, as a service sees its database: writes go to the primary, reads spread over
/// the replicas (round robin, skipping a replica that cannot be reached) and fall back to the primary when there
/// is no replica or none can be reached.
///
/// Replicas are plain PostgreSQL streaming replicas, or PgBouncer in front of them: nothing WedSync-specific.
public final class PostgresDatabase: Service, Sendable {
    public let primary: PostgresPool
    public let replicas: [PostgresPool]
    private let nextReplica = Atomic<Int>(0)

    public init(primary: PostgresPool, replicas: [PostgresPool] = []) {
        self.primary = primary
        self.replicas = replicas
    }

    /// Builds the pools from URLs (`database.url`, `database.replica-urls`).
    public convenience init(
        primaryURL: String,
        replicaURLs: [String] = [],
        poolConfiguration: ConnectionPoolConfiguration = .init(),
        logger: Logger
    ) throws(PostgresError) {
        let primary = PostgresPool(
            name: "primary",
            configuration: try PostgresConfiguration(url: primaryURL),
            poolConfiguration: poolConfiguration,
            logger: logger
        )
        var replicas: [PostgresPool] = []
        for (index, url) in replicaURLs.enumerated() {
            replicas.append(
                PostgresPool(
                    name: "replica-\(index + 1)",
                    configuration: try PostgresConfiguration(url: url),
                    poolConfiguration: poolConfiguration,
                    logger: logger
                )
            )
        }
        self.init(primary: primary, replicas: replicas)
    }

    /// The pool for statements that write, or must read their own writes.
    public var write: PostgresPool { primary }

    /// The pool for statements that may read slightly stale data.
    public var read: PostgresPool {
        guard !replicas.isEmpty else { return primary }
        let start = nextReplica.add(1, ordering: .relaxed).oldValue
        for offset in 0..<replicas.count {
            let replica = replicas[(start + offset) % replicas.count]
            if !replica.isUnreachable { return replica }
        }
        return primary
    }

    /// Runs a read-only statement on a replica; when that replica cannot be reached, on the primary instead (the
    /// replica is then skipped by ``read`` until it accepts connections again).
    public func readQuery(_ query: PostgresQuery) async throws -> PostgresRows {
        let pool = read
        guard pool !== primary else { return try await primary.query(query) }
        do {
            return try await pool.query(query)
        } catch let error as PostgresError where error.code == .connectionFailed {
            return try await primary.query(query)
        }
    }

    /// Every pool, primary first.
    public var pools: [PostgresPool] { [primary] + replicas }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for pool in pools {
                group.addTask { try await pool.run() }
            }
        }
    }

    /// Closes every pool, for callers that do not run the database as a `Service`.
    public func shutdown() async {
        for pool in pools { await pool.shutdown() }
    }
}
