import Foundation
import Logging
import Testing
import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncTestSupport

@Suite("PostgreSQL client across a server restart", .serialized, .timeLimit(.minutes(2)))
struct PostgresRestartTests {
    @Test("The pool recovers after PostgreSQL restarts mid-test")
    func recoversAfterRestart() async throws {
        let server = try await PrivatePostgres.start()
        let pool = PostgresPool(
            name: "restart",
            configuration: try PostgresConfiguration(url: server.url),
            // Fifty borrowers queue for four fresh connections after the restart: on a machine busy with the other
            // suites that takes longer than the default 5 s wait, which is not what this test measures.
            poolConfiguration: ConnectionPoolConfiguration(
                minimumConnections: 0,
                maximumConnections: 4,
                acquireTimeout: .seconds(60)
            ),
            logger: Logger(label: "test")
        )
        defer { Task { await pool.shutdown() } }

        // Fill the pool with connections to the server as it is now.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await pool.query("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }
        #expect(pool.statistics.idle == 4)
        let before = try await pool.query("SELECT pg_postmaster_start_time()::text")

        // A statement in flight when the server goes down fails (it does not hang)...
        let inFlight = Task { try await pool.query("SELECT pg_sleep(30)") }
        #expect(await eventually { pool.statistics.inUse == 1 })
        try await server.restart()
        do {
            _ = try await inFlight.value
            Issue.record("a statement survived the restart")
        } catch let error as PostgresError {
            #expect(error.isConnectionFailure, "\(error)")
        }

        // ...and the very next statement runs on a fresh connection: the dead ones are noticed on borrow.
        let after = try await pool.query("SELECT pg_postmaster_start_time()::text")
        #expect(try after[0].decode(String.self, at: 0) != before[0].decode(String.self, at: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let rows = try await pool.query("SELECT \(index)::int")
                    #expect(try rows[0].decode(Int.self, at: 0) == index)
                }
            }
            try await group.waitForAll()
        }
        #expect(pool.statistics.connectionsClosed >= 4)
    }

    @Test("While the server is down, calls fail fast with a connection error, and succeed once it is back")
    func serverDown() async throws {
        let server = try await PrivatePostgres.start()
        let pool = PostgresPool(
            name: "down",
            configuration: try PostgresConfiguration(url: server.url),
            // A borrower's wait far longer than the bound below: failing fast is not mistaken for giving up.
            poolConfiguration: ConnectionPoolConfiguration(
                minimumConnections: 0,
                maximumConnections: 2,
                acquireTimeout: .seconds(60)
            ),
            logger: Logger(label: "test")
        )
        defer { Task { await pool.shutdown() } }
        _ = try await pool.query("SELECT 1")
        try await server.stop()
        let start = ContinuousClock.now
        do {
            _ = try await pool.query("SELECT 1")
            Issue.record("a query succeeded with the server stopped")
        } catch let error as PostgresError {
            #expect(error.code == .connectionFailed)
        }
        #expect(ContinuousClock.now - start < .seconds(20), "the call waited for the pool rather than failing fast")
        #expect(pool.isUnreachable)
        try await server.start()
        _ = try await pool.query("SELECT 1")
        #expect(!pool.isUnreachable)
    }
}
