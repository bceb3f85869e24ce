import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import WedSyncConnectionPool

/// A pool of connections to one PostgreSQL server, and the way every WedSync service talks to it.
///
/// ```swift
/// let pool = PostgresPool(name: "primary", configuration: try PostgresConfiguration(url: url), logger: logger)
/// // run it as a Service (it reaps idle connections and keeps the minimum open), then:
/// let rows = try await pool.query("SELECT id, name FROM clients WHERE organization_id = \(orgID)")
/// ```
/// The pool owns a thread pool sized to its maximum connections, on which every blocking libpq call runs.
/// Errors are ``PostgresError``s (a body's own errors pass through unchanged).
public final class PostgresPool: Service, Sendable {
    /// The pool's name in statistics and logs (`primary`, `replica-1`).
    public let name: String
    public let configuration: PostgresConfiguration
    private let pool: ConnectionPool<Factory>
    private let threadPool: NIOThreadPool
    private let reachability = Reachability()
    private let logger: Logger

    /// - Parameters:
    ///   - poolConfiguration: sizes and timeouts; the defaults suit a service instance.
    ///   - preparedStatementLimit: statements kept prepared per connection before the oldest is deallocated.
    public init(
        name: String,
        configuration: PostgresConfiguration,
        poolConfiguration: ConnectionPoolConfiguration = .init(),
        preparedStatementLimit: Int = 256,
        logger: Logger
    ) {
        self.name = name
        self.configuration = configuration
        self.logger = logger
        let threadPool = NIOThreadPool(numberOfThreads: poolConfiguration.maximumConnections)
        threadPool.start()
        self.threadPool = threadPool
        self.pool = ConnectionPool(
            name: "postgres-\(name)",
            configuration: poolConfiguration,
            factory: Factory(
                configuration: configuration,
                threadPool: threadPool,
                preparedStatementLimit: preparedStatementLimit,
                reachability: reachability
            ),
            logger: logger
        )
    }

    // MARK: Service

    /// Keeps the pool at its minimum and reaps idle connections until graceful shutdown, then closes every
    /// connection (in-flight borrowers finish first: connections close as they come back).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.pool.runMaintenance()
        }
        await shutdown()
    }

    /// Closes the pool for callers that do not run it as a `Service` (command-line tools, tests).
    public func shutdown() async {
        pool.shutdown()
        try? await threadPool.shutdownGracefully()
    }

    // MARK: Statements

    /// Runs a statement on a pooled connection and returns its rows.
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { connection in try await connection.query(query) }
    }

    /// Runs a statement on a pooled connection and returns how many rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { connection in try await connection.execute(query) }
    }

    /// Lends a connection to `body`. A transaction `body` leaves open is rolled back; a connection that failed is
    /// closed rather than returned.
    public func withConnection<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await pool.withConnection(reusableAfter: {
                !(($0 as? PostgresError)?.isConnectionFailure ?? false)
            }) {
                connection in
                do {
                    let result = try await body(connection)
                    await Self.rollBackIfOpen(connection)
                    return result
                } catch {
                    await Self.rollBackIfOpen(connection)
                    throw error
                }
            }
        } catch let error as ConnectionPoolError {
            throw PostgresError(error.code == .acquireTimeout ? .poolTimeout : .shutdown, error.description)
        }
    }

    /// Ends a transaction the borrower left open, so the next borrower starts clean. Should that fail, the
    /// connection is no longer usable and the pool closes it.
    private static func rollBackIfOpen(_ connection: PostgresConnection) async {
        guard connection.isInTransaction else { return }
        await rollBack(connection)
    }

    /// `ROLLBACK`, even when the calling task is cancelled (a cancelled request must still leave its connection
    /// clean): it runs in a task of its own.
    private static func rollBack(_ connection: PostgresConnection) async {
        await Task { _ = try? await connection.simpleQuery("ROLLBACK") }.value
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func withTransaction<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection { connection in
            try await connection.simpleQuery("BEGIN")
            do {
                let result = try await body(connection)
                try await connection.simpleQuery("COMMIT")
                return result
            } catch {
                await Self.rollBack(connection)
                throw error
            }
        }
    }

    /// Streams the rows of `query` through a server-side cursor, `batchSize` rows at a time, so memory stays flat
    /// however many rows there are. The stream is valid only inside `body`.
    public func withCursor<Result>(
        _ query: PostgresQuery,
        batchSize: Int = 1_000,
        _ body: (PostgresRowStream) async throws -> Result
    ) async throws -> Result {
        precondition(batchSize > 0, "a cursor fetches at least one row at a time")
        return try await withTransaction { connection in
            try await connection.execute(
                PostgresQuery(
                    sql: "DECLARE wedsync_cursor NO SCROLL CURSOR FOR \(query.sql)",
                    encodedBinds: query.binds
                ),
                prepared: false
            )
            let result = try await body(
                PostgresRowStream(connection: connection, cursor: "wedsync_cursor", batchSize: batchSize)
            )
            try await connection.simpleQuery("CLOSE wedsync_cursor")
            return result
        }
    }

    /// Loads rows with `COPY ... FROM STDIN` on a pooled connection; see ``PostgresConnection/copyIn(_:_:)``.
    @discardableResult
    public func copyIn(_ sql: String, _ produce: (PostgresCopyWriter) async throws -> Void) async throws -> Int {
        try await withConnection { connection in try await connection.copyIn(sql, produce) }
    }

    /// One round trip, for readiness checks.
    public func ping() async throws {
        try await withConnection { connection in try await connection.simpleQuery("SELECT 1") }
    }

    // MARK: State

    /// Size, use, waiters and acquire latency of the pool now.
    public var statistics: ConnectionPoolStatistics { pool.statistics }

    /// Whether the last attempt to open a connection failed (the server is likely down). Which replicas serve
    /// reads is the replica monitor's finding (``PostgresDatabase/isInRotation(_:)``), not this.
    public var isUnreachable: Bool { reachability.lastConnectFailed.load(ordering: .relaxed) }
}

extension PostgresPool {
    /// Whether the last attempt to connect failed, shared by the pool and its factory.
    final class Reachability: Sendable {
        let lastConnectFailed = Atomic(false)
    }

    struct Factory: ConnectionFactory {
        let configuration: PostgresConfiguration
        let threadPool: NIOThreadPool
        let preparedStatementLimit: Int
        let reachability: Reachability

        func makeConnection() async throws -> PostgresConnection {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration,
                    threadPool: threadPool,
                    preparedStatementLimit: preparedStatementLimit
                )
                reachability.lastConnectFailed.store(false, ordering: .relaxed)
                return connection
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                reachability.lastConnectFailed.store(true, ordering: .relaxed)
                throw error
            }
        }

        func ping(_ connection: PostgresConnection) async -> Bool {
            await connection.ping()
        }
    }
}
