import Foundation
import Logging
import Synchronization
import Testing
import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncTestSupport

@Suite("PostgreSQL client against a real server", .timeLimit(.minutes(2)))
struct PostgresPoolTests {
    static func makePool(
        maximum: Int = 4,
        acquireTimeout: Duration = .seconds(5),
        applicationName: String? = nil
    ) throws -> PostgresPool {
        var configuration = try PostgresConfiguration(url: try TestEnvironment.databaseURL())
        if let applicationName { configuration.options["application_name"] = applicationName }
        return PostgresPool(
            name: "test",
            configuration: configuration,
            poolConfiguration: ConnectionPoolConfiguration(
                minimumConnections: 0,
                maximumConnections: maximum,
                acquireTimeout: acquireTimeout
            ),
            logger: Logger(label: "test")
        )
    }

    @Test("Rows decode into Swift values, NULL into optionals")
    func decoding() async throws {
        let pool = try Self.makePool()
        defer { Task { await pool.shutdown() } }
        let table = TestEnvironment.uniqueName("clients")
        try await pool.withConnection { connection in
            try await connection.simpleQuery(
                "CREATE TEMP TABLE \(table) (id int PRIMARY KEY, name text, wedding timestamptz, guests int, vip boolean)"
            )
            let wedding = Date(timeIntervalSince1970: 1_781_359_200)
            try await connection.execute(
                "INSERT INTO \(unescaped: table) VALUES (\(1), \("Ava & Ben"), \(wedding), \(120), \(true))"
            )
            try await connection.execute(
                "INSERT INTO \(unescaped: table) VALUES (\(2), \("Cy O'Neil"), \(Date?.none), \(Int?.none), \(false))"
            )
            let rows = try await connection.query(
                "SELECT id, name, wedding, guests, vip FROM \(unescaped: table) ORDER BY id"
            )
            #expect(rows.count == 2)
            let (id, name, date, guests, vip) = try rows[0].decode((Int, String, Date?, Int?, Bool).self)
            #expect(id == 1 && name == "Ava & Ben" && date == wedding && guests == 120 && vip)
            #expect(try rows[1].decode(Date?.self, column: "wedding") == nil)
            #expect(try rows[1].decode(String.self, column: "name") == "Cy O'Neil")
            #expect(throws: PostgresError.self) { try rows[1].decode(Int.self, column: "guests") }
            #expect(throws: PostgresError.self) { try rows[0].decode(Int.self, column: "nope") }
            let ids = try await connection.query("SELECT id FROM \(unescaped: table) WHERE id = ANY(\([1, 2, 3]))")
            #expect(ids.count == 2)
        }
    }

    @Test("A statement is prepared once per connection and executed by name after that")
    func preparedOnce() async throws {
        let pool = try Self.makePool(maximum: 1)
        defer { Task { await pool.shutdown() } }
        let sql = "SELECT $1::int + 1 AS next -- \(TestEnvironment.uniqueName("prepared"))"
        for value in 0..<5 {
            let rows = try await pool.query(PostgresQuery(sql: sql, binds: [value]))
            #expect(try rows[0].decode(Int.self, at: 0) == value + 1)
        }
        let prepared = try await pool.query("SELECT count(*)::int FROM pg_prepared_statements WHERE statement = \(sql)")
        #expect(try prepared[0].decode(Int.self, at: 0) == 1)
    }

    @Test("Server errors carry their SQLSTATE; row values stay out of the description")
    func serverErrors() async throws {
        let pool = try Self.makePool()
        defer { Task { await pool.shutdown() } }
        let table = TestEnvironment.uniqueName("guests")
        try await pool.withConnection { connection in
            try await connection.simpleQuery("CREATE TEMP TABLE \(table) (email text UNIQUE)")
            try await connection.execute("INSERT INTO \(unescaped: table) VALUES (\("ava@example.com"))")
            do {
                try await connection.execute("INSERT INTO \(unescaped: table) VALUES (\("ava@example.com"))")
                Issue.record("a duplicate was accepted")
            } catch let error as PostgresError {
                #expect(error.code == .server)
                #expect(error.sqlState == "23505")
                #expect(error.description.contains("unique_violation"))
                #expect(error.description.contains(table))
                #expect(!error.description.contains("ava@example.com"))
                #expect(error.debugDescription.contains("ava@example.com"))
            }
            // PostgreSQL quotes bad input in its message itself: still kept out of the description.
            do {
                _ = try await connection.query("SELECT \("ann@example.com")::uuid")
                Issue.record("an email was accepted as a uuid")
            } catch let error as PostgresError {
                #expect(error.sqlState == "22P02")
                #expect(!error.description.contains("ann@example.com"))
                #expect(error.serverMessage?.contains("ann@example.com") == true)
            }
            // The connection is still good after a failed statement.
            let rows = try await connection.query("SELECT count(*)::int FROM \(unescaped: table)")
            #expect(try rows[0].decode(Int.self, at: 0) == 1)
        }
        await #expect(throws: PostgresError.self) { _ = try await pool.query("SELEKT 1") }
    }

    @Test("200 concurrent borrowers never open more than the pool's maximum on the server")
    func maximumUnderLoad() async throws {
        let application = TestEnvironment.uniqueName("maxtest")
        let pool = try Self.makePool(maximum: 8, acquireTimeout: .seconds(60), applicationName: application)
        let observer = try Self.makePool(maximum: 1)
        defer {
            Task {
                await pool.shutdown(); await observer.shutdown()
            }
        }
        let peak = Peak()
        let running = Peak()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Sample the server's view while the load runs.
                while running.value.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(1)) }
                while running.value.load(ordering: .relaxed) == 1 {
                    let rows = try await observer.query(
                        "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = \(application)"
                    )
                    peak.value.max(try rows[0].decode(Int.self, at: 0), ordering: .relaxed)
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            running.value.store(1, ordering: .relaxed)
            try await withThrowingTaskGroup(of: Int.self) { borrowers in
                for index in 0..<200 {
                    borrowers.addTask {
                        let rows = try await pool.query("SELECT \(index)::int, pg_sleep(0.005)")
                        return try rows[0].decode(Int.self, at: 0)
                    }
                }
                var served = 0
                for try await _ in borrowers { served += 1 }
                #expect(served == 200)
            }
            running.value.store(2, ordering: .relaxed)
            try await group.waitForAll()
        }
        let observed = peak.value.load(ordering: .relaxed)
        #expect(observed >= 1 && observed <= 8, "the server saw \(observed) connections")
        let statistics = pool.statistics
        #expect(statistics.size <= 8)
        #expect(statistics.acquires == 200)
        #expect(statistics.connectionsOpened <= 8)
    }

    final class Peak: Sendable {
        let value = Atomic(0)
    }

    @Test("A borrower that cannot get a connection in time gets a clear pool timeout")
    func acquireTimeout() async throws {
        let pool = try Self.makePool(maximum: 1, acquireTimeout: .milliseconds(200))
        defer { Task { await pool.shutdown() } }
        let holderDone = Peak()
        let gaveUp = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Holds the only connection until the second borrower has given up (or for a minute, should it not).
                try await pool.withConnection { connection in
                    _ = try await connection.query("SELECT 1")
                    let deadline = ContinuousClock.now + .seconds(60)
                    while !gaveUp.isRaised, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                holderDone.value.store(1, ordering: .relaxed)
            }
            #expect(await eventually { pool.statistics.inUse == 1 })
            do {
                _ = try await pool.query("SELECT 1")
                Issue.record("the second borrower got a connection from a pool of one")
            } catch let error as PostgresError {
                #expect(error.code == .poolTimeout)
                #expect(error.description.contains("no connection became free within 0.2s"))
            }
            // It gave up while the only connection was still busy, not once it came free.
            #expect(holderDone.value.load(ordering: .relaxed) == 0)
            gaveUp.raise()
            try await group.waitForAll()
        }
        #expect(pool.statistics.acquireTimeouts == 1)
    }

    @Test("Transactions commit, roll back on error, and a transaction left open is rolled back")
    func transactions() async throws {
        let pool = try Self.makePool(maximum: 1)
        defer { Task { await pool.shutdown() } }
        let table = TestEnvironment.uniqueName("budget")
        try await pool.execute("CREATE TABLE \(unescaped: table) (amount int)")
        _ = try await pool.withTransaction { connection in
            try await connection.execute("INSERT INTO \(unescaped: table) VALUES (\(100))")
        }
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO \(unescaped: table) VALUES (\(200))")
                throw Abort()
            }
        }
        try await pool.withConnection { connection in
            try await connection.simpleQuery("BEGIN")
            try await connection.execute("INSERT INTO \(unescaped: table) VALUES (\(300))")
        }
        let rows = try await pool.query("SELECT coalesce(sum(amount), 0)::int FROM \(unescaped: table)")
        #expect(try rows[0].decode(Int.self, at: 0) == 100)
        try await pool.execute("DROP TABLE \(unescaped: table)")
    }

    @Test("Reads go to a replica, and to the primary when the replica cannot be reached")
    func readReplicas() async throws {
        let primaryURL = try TestEnvironment.databaseURL()
        let logger = Logger(label: "test")
        let replica = try PostgresDatabase(
            primaryURL: primaryURL,
            replicaURLs: [primaryURL + "?application_name=replica-probe"],
            logger: logger
        )
        defer { Task { await replica.shutdown() } }
        // Before its first check a replica is not in the rotation.
        #expect(replica.read === replica.primary)
        // A check puts it in; on a machine busy with other tests one check may time out, so check until it is in.
        let inRotation = await eventually(timeout: .seconds(30)) {
            await replica.checkReplicas()
            return replica.read !== replica.primary
        }
        #expect(inRotation, "the replica never passed its check")
        let name = try await replica.readQuery("SELECT current_setting('application_name')")
        #expect(try name[0].decode(String.self, at: 0) == "replica-probe")
        #expect(replica.write === replica.primary)

        let deadPort = try freePort()
        let fallback = try PostgresDatabase(
            primaryURL: primaryURL,
            replicaURLs: ["postgres://postgres@127.0.0.1:\(deadPort)/wedsync"],
            logger: logger
        )
        defer { Task { await fallback.shutdown() } }
        let judged = await eventually(timeout: .seconds(30)) {
            await fallback.checkReplicas()
            return fallback.state(of: fallback.replicas[0])?.reachable == false
        }
        #expect(judged, "the dead replica was never checked")
        let answered = try await fallback.readQuery("SELECT 42")
        #expect(try answered[0].decode(Int.self, at: 0) == 42)
        #expect(fallback.read === fallback.primary)
    }

    @Test("A 1,000,000-row cursor stream keeps resident memory growth under 50 MB (a buffered read does not)")
    func cursorMemory() async throws {
        let bench = URL(fileURLWithPath: try TestEnvironment.binDirectory()).appendingPathComponent("wedsync-bench")
            .path
        let url = try TestEnvironment.databaseURL()
        struct Probe: Decodable { let rows: Int; let rssGrowthMB: Double }
        let streamed = try await run(bench, ["cursor-memory", "--database-url", url, "--rows", "1000000"])
        #expect(streamed.status == 0, "\(streamed.output)")
        let cursor = try JSONDecoder().decode(Probe.self, from: Data(streamed.output.utf8))
        #expect(cursor.rows == 1_000_000)
        #expect(cursor.rssGrowthMB < 50, "the cursor stream grew resident memory by \(cursor.rssGrowthMB) MB")

        // The same rows read at once do grow memory: the measurement can see a failure.
        let buffered = try await run(
            bench,
            ["cursor-memory", "--database-url", url, "--rows", "1000000", "--buffered"]
        )
        let whole = try JSONDecoder().decode(Probe.self, from: Data(buffered.output.utf8))
        #expect(whole.rows == 1_000_000)
        #expect(whole.rssGrowthMB > 50)
    }
}
