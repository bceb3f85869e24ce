import Foundation
import Logging
import NIOHTTP1
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The query optimizer's test database, made once for its suites, and the processes around it.
///
/// - A database of its own on the test server, without the right indexes: a million clients, half with a guest
///   list, 200,000 payments (a foreign key without an index, an index on `paid_on`), and `notes` with
///   duplicate, redundant and unused indexes and 70% of its rows deleted, never vacuumed (bloat). A small
///   `work_mem`, so sorts and hashes spill on modest inputs.
/// - A second tenant's schema, `tenant_b`, with tables of the same names and columns: 400,000 clients of 400
///   organizations (their primary key and nothing else) and 200,000 guest lists.
/// - A metrics service (its alert rules fire on the optimizer's findings), and a WedSync API on the shared test
///   database, whose pools the optimizer reads.
/// - The optimizer, as its own least-privilege role (`infrastructure/postgres/optimizer-role.sql`): a 20-second
///   statement timeout (a test of the timeout asks for less), transactions open over a second count as long,
///   statements over 100 ms slow, findings sent (and slow statements captured) every second.
final class QueryOptimizerFixture: Sendable {
    /// The database, as its owner (a superuser).
    let url: String
    /// The optimizer's role, and the database as that role.
    let role: String
    let optimizerURL: String
    let pool: PostgresPool
    let service: ServiceProcess
    let metrics: ServiceProcess
    let api: ServiceProcess

    static let shared = Task { try await QueryOptimizerFixture() }

    init() async throws {
        let server = try TestEnvironment.databaseURL()
        let name = "qo_\(UUID().uuidString.prefix(8).lowercased())"
        let logger = Logger(label: "test")
        let admin = PostgresPool(name: "admin", configuration: try PostgresConfiguration(url: server), logger: logger)
        try await admin.withConnection { try await $0.simpleQuery("CREATE DATABASE \(name)") }
        await admin.shutdown()
        url = server.replacingOccurrences(of: "/wedsync", with: "/\(name)")
        pool = PostgresPool(name: "fixture", configuration: try PostgresConfiguration(url: url), logger: logger)
        try await pool.withConnection { connection in
            try await connection.simpleQuery(
                """
                CREATE EXTENSION IF NOT EXISTS hypopg; CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                CREATE TABLE clients (id bigint PRIMARY KEY, organization_id bigint NOT NULL, name text NOT NULL, wedding_date date NOT NULL,
                    status text NOT NULL, budget integer NOT NULL);
                CREATE TABLE guest_lists (id bigint PRIMARY KEY, client_id bigint NOT NULL UNIQUE, guest_count integer NOT NULL);
                INSERT INTO clients SELECT g, 1 + g % 1000, 'client ' || g, date '2026-01-01' + (g % 730),
                    (ARRAY['active', 'archived', 'lead'])[1 + g % 3], g % 5000 FROM generate_series(1, 1000000) g;
                INSERT INTO guest_lists SELECT g, g, 20 + g % 280 FROM generate_series(1, 1000000, 2) g;
                ALTER TABLE guest_lists ADD FOREIGN KEY (client_id) REFERENCES clients (id);
                CREATE TABLE payments (id bigint PRIMARY KEY, client_id bigint NOT NULL REFERENCES clients (id), amount integer NOT NULL,
                    paid_on date NOT NULL, method text NOT NULL);
                INSERT INTO payments SELECT g, 1 + (g * 7) % 1000000, 100 + g % 900, date '2026-01-01' + (g % 365),
                    (ARRAY['card', 'transfer'])[1 + g % 2] FROM generate_series(1, 200000) g;
                CREATE INDEX payments_paid_on ON payments (paid_on);
                CREATE TABLE notes (id bigint PRIMARY KEY, client_id bigint NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)
                    WITH (autovacuum_enabled = false);
                INSERT INTO notes SELECT g, g % 5000, repeat('note ', 10) || g, timestamptz '2026-01-01' + g * interval '1 minute'
                    FROM generate_series(1, 100000) g;
                CREATE INDEX notes_created ON notes (created_at);
                CREATE INDEX notes_created_again ON notes (created_at);
                CREATE INDEX notes_created_client ON notes (created_at, client_id);
                CREATE INDEX notes_body ON notes (body);
                DELETE FROM notes WHERE id % 10 < 7;
                CREATE SCHEMA tenant_b;
                CREATE TABLE tenant_b.clients (LIKE clients INCLUDING DEFAULTS, PRIMARY KEY (id));
                CREATE TABLE tenant_b.guest_lists (LIKE guest_lists INCLUDING DEFAULTS, PRIMARY KEY (id), UNIQUE (client_id));
                INSERT INTO tenant_b.clients SELECT g, 1 + g % 400, 'client ' || g, date '2026-01-01' + (g % 730),
                    (ARRAY['active', 'archived', 'lead'])[1 + g % 3], g % 5000 FROM generate_series(1, 400000) g;
                INSERT INTO tenant_b.guest_lists SELECT g, g, 20 + g % 280 FROM generate_series(1, 400000, 2) g;
                ALTER DATABASE \(name) SET work_mem = '1MB';
                """
            )
            // The inserts' and the delete's counts reach the statistics before ANALYZE sets them.
            try await connection.simpleQuery("SELECT pg_stat_force_next_flush()")
            try await connection.simpleQuery("SELECT 1")
            try await connection.simpleQuery(
                "ANALYZE clients; ANALYZE guest_lists; ANALYZE payments; ANALYZE notes; ANALYZE tenant_b.clients; ANALYZE tenant_b.guest_lists"
            )
        }
        // The optimizer connects as its own least-privilege role, made by the shipped script, as the stack makes it.
        role = "\(name)_optimizer"
        try await libsh(#"ws_grant_optimizer_role "$1" "$2""#, url, role)
        optimizerURL = url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@")
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-optimizer-\(name).yaml").path
        try """
        rules:
          - {name: NPlusOne\(name), metric: findings, match: {kind: n_plus_one}, condition: '> 0', window: 20s, for: 0s, severity: warning}
        """.write(toFile: rules, atomically: true, encoding: .utf8)
        metrics = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": TestEnvironment.temporaryPath("metrics-test", suffix: ".sqlite3"),
                "WEDSYNC_METRICS_ALERTS_FILE": rules, "WEDSYNC_ADMIN_TOKEN": GatewayProcess.adminToken,
                "WEDSYNC_METRICS_ALERTS_EVALUATION_MS": "200", "WEDSYNC_METRICS_SYSTEM_SAMPLE_MS": "0",
                "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        api = try ServiceProcess(
            "wedsync-api",
            environment: [
                "WEDSYNC_ADMIN_TOKEN": GatewayProcess.adminToken, "WEDSYNC_DATABASE_URL": server,
                "WEDSYNC_API_QUERY_EVENTS": "false",
                "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await metrics.waitUntil("/ready")
        try await api.waitUntil("/ready")
        service = try ServiceProcess(
            "wedsync-query-optimizer",
            environment: [
                "WEDSYNC_DATABASE_URL": optimizerURL, "WEDSYNC_OPTIMIZER_STATEMENT_TIMEOUT_MS": "20000",
                "WEDSYNC_OPTIMIZER_LONG_TRANSACTION_SECONDS": "1", "WEDSYNC_OPTIMIZER_REPORT_INTERVAL_SECONDS": "1",
                "WEDSYNC_OPTIMIZER_POOL_TARGETS": "api=\(api.baseURL),ghost=http://127.0.0.1:9",
                "WEDSYNC_OPTIMIZER_WORKLOAD_SEARCH_PATHS": "tenant_b", "WEDSYNC_OPTIMIZER_SLOW_STATEMENT_MS": "100",
                "WEDSYNC_METRICS_URL": metrics.baseURL,
                "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await service.waitUntil("/ready")
    }

    /// `GET` on the optimizer with the admin token, decoded.
    func get<Value: Decodable>(_ path: String, as type: Value.Type) async throws -> Value {
        let answer = try await HTTP.send(.GET, service.baseURL + path, headers: GatewayProcess.admin)
        guard answer.status == 200 else { throw Failure(description: "GET \(path): \(answer.status) \(answer.text)") }
        return try WedSyncJSON.makeDecoder().decode(Value.self, from: answer.data)
    }

    /// Posts `events` as the API reports them, with the API's own credential.
    func post(_ events: [MetricEvent]) async throws -> HTTP.Answer {
        let body = String(
            decoding: try WedSyncJSON.makeEncoder().encode(MetricEventBatch(events: events)),
            as: UTF8.self
        )
        return try await HTTP.send(
            .POST,
            service.baseURL + APIPath.QueryOptimizer.queryEvents,
            headers: [("Content-Type", "application/json")] + TestCredentials.asService("wedsync-api"),
            body: body
        )
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
