import Foundation
import Logging
import Testing
import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncTestSupport

/// Against a real streaming replica of the test server (`pg_basebackup -R`) and PgBouncer in transaction mode in
/// front of both: the lag budget, read-your-writes, a replica lost mid-query, and statements through PgBouncer.
@Suite("Replicas and PgBouncer against real servers", .serialized, .timeLimit(.minutes(3)))
struct ReplicaRoutingTests {
    static let logger = Logger(label: "test")

    static func pool(_ name: String, _ url: String, maximum: Int = 4) throws -> PostgresPool {
        PostgresPool(
            name: name,
            configuration: try PostgresConfiguration(url: url),
            poolConfiguration: ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: maximum),
            logger: logger
        )
    }

    static func database(replicaURL: String, maximumLag: Duration) throws -> PostgresDatabase {
        PostgresDatabase(
            primary: try pool("primary", TestEnvironment.databaseURL()),
            replicas: [try pool("replica-1", replicaURL)],
            maximumLag: maximumLag,
            logger: logger
        )
    }

    /// Checks the replicas until `condition` holds: at most 30 s, for a machine busy with other suites.
    static func checkUntil(
        _ database: PostgresDatabase,
        _ what: String,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            await database.checkReplicas()
            if try await condition() { return }
            guard ContinuousClock.now < deadline else { throw ServiceProcessError(message: "never: \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether a read under `key` was served by a standby.
    static func readFromStandby(_ database: PostgresDatabase, key: String? = nil) async throws -> Bool {
        try await database.readQuery("SELECT pg_is_in_recovery()", key: key)[0].decode(Bool.self, at: 0)
    }

    @Test("Log positions parse, order and print as PostgreSQL writes them")
    func lsn() throws {
        let position = try #require(PostgresLSN("16/B374D848"))
        #expect(position.value == 0x16_B374_D848)
        #expect(position.description == "16/B374D848")
        #expect(PostgresLSN("0/0")! < PostgresLSN("0/1")!)
        #expect(PostgresLSN("1/0")! > PostgresLSN("0/FFFFFFFF")!)
        for bad in ["", "16", "16/", "/1", "G/1", "1/2/3", "123456789/0"] { #expect(PostgresLSN(bad) == nil, "\(bad)") }
    }

    @Test("Reads leave a replica further behind than the lag budget, and return once it catches up")
    func lagBudget() async throws {
        try await ReplicaControl.exclusively {
            let database = try Self.database(replicaURL: TestEnvironment.replicaURL(), maximumLag: .milliseconds(300))
            defer { Task { await database.shutdown() } }
            let replica = database.replicas[0]
            let table = TestEnvironment.uniqueName("lag")
            try await database.primary.execute("CREATE TABLE \(unescaped: table) (id int)")
            try await Self.checkUntil(database, "the replica in rotation") { database.isInRotation(replica) }
            #expect(try await Self.readFromStandby(database))

            try await ReplicaControl.withReplayPaused {
                // Writes the replica receives but does not apply: its lag grows from the first one.
                try await database.primary.execute("INSERT INTO \(unescaped: table) VALUES (1)")
                try await Self.checkUntil(database, "the replica past its lag budget") {
                    (database.state(of: replica)?.lag ?? .zero) > .milliseconds(300)
                }
                #expect(!database.isInRotation(replica))
                #expect(database.state(of: replica)?.reachable == true)
                #expect(try await Self.readFromStandby(database) == false, "a read went to a replica past its budget")
            }
            try await Self.checkUntil(database, "the replica caught up") { database.isInRotation(replica) }
            // Within the budget again (other suites write to the primary meanwhile: not necessarily zero).
            #expect((database.state(of: replica)?.lag ?? .seconds(60)) <= .milliseconds(300))
            #expect(try await Self.readFromStandby(database))
            try await database.primary.execute("DROP TABLE \(unescaped: table)")
        }
    }

    @Test("A caller reads its own write from the primary until the replica has replayed it; others stay on the replica")
    func readYourWrites() async throws {
        try await ReplicaControl.exclusively {
            let database = try Self.database(replicaURL: TestEnvironment.replicaURL(), maximumLag: .seconds(60))
            defer { Task { await database.shutdown() } }
            let replica = database.replicas[0]
            let table = TestEnvironment.uniqueName("ryw")
            try await database.primary.execute("CREATE TABLE \(unescaped: table) (id int PRIMARY KEY, note text)")
            try await database.primary.execute("INSERT INTO \(unescaped: table) VALUES (1, 'before')")
            let created = try await database.primaryPosition()
            try await Self.checkUntil(database, "the replica has the row") {
                database.state(of: replica)?.hasReplayed(created) == true && database.isInRotation(replica)
            }
            let note: PostgresQuery = "SELECT note FROM \(unescaped: table) WHERE id = 1"

            try await ReplicaControl.withReplayPaused {
                try await database.primary.execute("UPDATE \(unescaped: table) SET note = 'after' WHERE id = 1")
                await database.recordWrite(key: "organization:1")
                let fence = try #require(database.fence(for: "organization:1"))
                // Still in rotation (well within 60 s), yet behind the write, once a check says so (on a loaded
                // machine one check can outlast its timeout and find the replica unreachable for that round).
                try await Self.checkUntil(database, "the replica in rotation, behind the write") {
                    database.isInRotation(replica) && database.state(of: replica)?.hasReplayed(fence) == false
                }
                let own = try await database.readQuery(note, key: "organization:1")[0].decode(String.self, at: 0)
                #expect(own == "after", "the writer read its organization's row from a replica behind its write")
                // Another organization's read stays on the replica, which shows the old row: the fence, not the
                // replica, is what sent the writer to the primary.
                let other = try await database.readQuery(note, key: "organization:2")[0].decode(String.self, at: 0)
                #expect(other == "before")
                #expect(try await Self.readFromStandby(database, key: "organization:2"))
                #expect(try await Self.readFromStandby(database, key: "organization:1") == false)
            }
            try await Self.checkUntil(database, "the fence dropped once the replica replayed it") {
                database.fence(for: "organization:1") == nil
            }
            #expect(try await Self.readFromStandby(database, key: "organization:1"))
            let replayed = try await database.readQuery(note, key: "organization:1")[0].decode(String.self, at: 0)
            #expect(replayed == "after")
            try await database.primary.execute("DROP TABLE \(unescaped: table)")
        }
    }

    @Test(
        "A replica lost mid-query: the read is answered by the primary, later reads go there, and it returns once back"
    )
    func replicaLost() async throws {
        try await ReplicaControl.exclusively {
            let proxy = try await LatencyProxy(to: TestEnvironment.replicaURL(), delayMs: 0)
            defer { proxy.stop() }
            let application = TestEnvironment.uniqueName("lost")
            let database = try Self.database(
                replicaURL: proxy.url + "?application_name=\(application)",
                maximumLag: .seconds(60)
            )
            defer { Task { await database.shutdown() } }
            let replica = database.replicas[0]
            try await Self.checkUntil(database, "the replica in rotation") { database.isInRotation(replica) }

            // A read that takes a second, running on the replica when the replica goes away.
            let slow = Task {
                try await database.readQuery("SELECT pg_is_in_recovery() FROM pg_sleep(1)")[0].decode(Bool.self, at: 0)
            }
            let running: PostgresQuery = """
                SELECT count(*)::int FROM pg_stat_activity
                WHERE application_name = \(application) AND query LIKE '%pg_sleep(1)%' AND state = 'active'
                """
            let direct = try Self.pool("direct", TestEnvironment.replicaURL(), maximum: 1)
            defer { Task { await direct.shutdown() } }
            let started = try await eventually(timeout: .seconds(30)) {
                try await direct.query(running)[0].decode(Int.self, at: 0) > 0
            }
            try #require(started, "the slow read never ran on the replica")
            proxy.stop()
            #expect(try await slow.value == false, "the interrupted read was not answered by the primary")
            #expect(!database.isInRotation(replica))
            for _ in 0..<20 { #expect(try await Self.readFromStandby(database) == false) }
            await database.checkReplicas()
            #expect(database.state(of: replica)?.reachable == false)

            // The replica reachable again (on the same address): the next checks put it back in the rotation.
            let back = try await LatencyProxy(to: TestEnvironment.replicaURL(), delayMs: 0, listenPort: proxy.port)
            defer { back.stop() }
            try await Self.checkUntil(database, "the replica back in rotation") { database.isInRotation(replica) }
            #expect(try await Self.readFromStandby(database))
        }
    }

    @Test(
        "Through PgBouncer in transaction mode: unnamed statements, transactions and UTC dates; without the switch, a clear refusal"
    )
    func pgbouncer() async throws {
        let pool = try Self.pool("bouncer", TestEnvironment.pgbouncerURL(), maximum: 8)
        defer { Task { await pool.shutdown() } }
        #expect(pool.configuration.pgbouncer)
        // The same statement from many clients at once, many times: a statement prepared by name on one server
        // connection would be missing on the next ("prepared statement does not exist").
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<25 {
                        let sum = try await pool.query("SELECT \(worker)::int + \(round)::int")[0].decode(
                            Int.self,
                            at: 0
                        )
                        #expect(sum == worker + round)
                    }
                }
            }
            try await group.waitForAll()
        }
        let table = TestEnvironment.uniqueName("bouncer")
        try await pool.execute("CREATE TABLE \(unescaped: table) (id int, at timestamptz)")
        let wedding = Date(timeIntervalSince1970: 1_781_359_200)
        try await pool.withTransaction { connection in
            try await connection.execute("INSERT INTO \(unescaped: table) VALUES (1, \(wedding))")
            let inside = try await connection.query("SELECT count(*)::int FROM \(unescaped: table)")
            #expect(try inside[0].decode(Int.self, at: 0) == 1)
        }
        let stored = try await pool.query("SELECT at, at::text FROM \(unescaped: table)")
        #expect(try stored[0].decode(Date.self, at: 0) == wedding)
        #expect(try stored[0].decode(String.self, at: 1).hasSuffix("+00"), "the session's time zone is not UTC")
        try await pool.execute("DROP TABLE \(unescaped: table)")

        // The read side behind PgBouncer is the replica, and the monitor sees it through PgBouncer.
        let read = try Self.pool("bouncer-read", TestEnvironment.pgbouncerReadURL())
        defer { Task { await read.shutdown() } }
        #expect(try await read.query("SELECT pg_is_in_recovery()")[0].decode(Bool.self, at: 0))

        // The same URL without ?pgbouncer=true sends startup options PgBouncer refuses: a connection failure that
        // says so, not a silent default.
        let plain = try Self.pool(
            "plain",
            try TestEnvironment.pgbouncerURL().replacingOccurrences(of: "?pgbouncer=true", with: "")
        )
        defer { Task { await plain.shutdown() } }
        await #expect(throws: PostgresError.self) { try await plain.query("SELECT 1") }
    }
}
