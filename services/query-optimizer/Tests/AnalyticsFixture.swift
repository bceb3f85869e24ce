import Foundation
import Logging
import WedSyncPostgres
import WedSyncQueryOptimizer
import WedSyncTestSupport

/// The analytical workload of `tests/fixtures/optimizer` in a database of its own on the test server, and an
/// optimizer on it as its least-privilege role: the snowflake schema `olap` (eight tables around 400,000 sales,
/// and `olap.clients`, named as a table of `public` is), vacuumed and analyzed, under a collation other than C
/// (`C.UTF-8`, as most deployments run one), where `LIKE 'prefix%'` needs `text_pattern_ops`. Its own database,
/// so its statements are nobody else's workload. Its tables belong to an owner role, which the optimizer's apply
/// role may take (`infrastructure/postgres/optimizer-apply-role.sql`). Every page is all-visible, as a settled table's are: the
/// planner then costs index-only scans as it would in production.
final class AnalyticsFixture: Sendable {
    /// The database, as its owner (a superuser).
    let url: String
    let pool: PostgresPool
    let service: ServiceProcess
    /// The workload's queries, by name (`Q1`...).
    let queries: [NamedStatement]

    static let shared = Task { try await AnalyticsFixture() }

    init() async throws {
        let server = try TestEnvironment.databaseURL()
        let name = "qa_\(UUID().uuidString.prefix(8).lowercased())"
        let logger = Logger(label: "test")
        let admin = PostgresPool(name: "admin", configuration: try PostgresConfiguration(url: server), logger: logger)
        try await admin.withConnection {
            try await $0.simpleQuery(
                "CREATE DATABASE \(name) TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        }
        await admin.shutdown()
        url = server.replacingOccurrences(of: "/wedsync", with: "/\(name)")
        let root = URL(fileURLWithPath: try TestEnvironment.scriptsDirectory()).deletingLastPathComponent()
        let fixtures = root.appendingPathComponent("tests/fixtures/optimizer")
        queries = NamedStatement.parse(
            try String(contentsOf: fixtures.appendingPathComponent("olap-queries.sql"), encoding: .utf8)
        )
        _ = try await libsh(
            #"""
            psql "$1" -qX -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION hypopg; CREATE EXTENSION pg_stat_statements' \
                -f "$2" -c 'ANALYZE' >/dev/null
            # VACUUM marks a page all-visible once no snapshot in the cluster (a standby's, through its feedback)
            # can still miss its rows: vacuumed again until every page of the schema is, as a settled table's are.
            for attempt in $(seq 1 120); do
                psql "$1" -qX -v ON_ERROR_STOP=1 -c 'VACUUM' >/dev/null
                [ "$(psql "$1" -qAtX -c "SELECT bool_and(relallvisible >= relpages) FROM pg_class
                    WHERE relnamespace = 'olap'::regnamespace AND relkind = 'r'")" = t ] && exit 0
                sleep 0.5
            done
            echo "the olap schema's pages never became all-visible" >&2
            exit 1
            """#,
            url,
            fixtures.appendingPathComponent("olap-schema.sql").path
        )
        pool = PostgresPool(name: "fixture", configuration: try PostgresConfiguration(url: url), logger: logger)
        let role = "\(name)_optimizer"
        try await libsh(#"ws_grant_optimizer_role "$1" "$2""#, url, role)
        // The schema's tables belong to an owner role, as a DBA sets them up; the optimizer builds indexes as a role
        // that may take that owner's role, and no other (public's tables stay the superuser's).
        let owner = "\(name)_olap_owner"
        let applier = "\(name)_apply"
        try await pool.withConnection { connection in
            try await connection.simpleQuery(
                """
                CREATE ROLE \(owner) NOLOGIN; ALTER SCHEMA olap OWNER TO \(owner);
                DO $$ DECLARE t record; BEGIN
                    FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'olap'::regnamespace AND c.relkind = 'r' LOOP
                        EXECUTE format('ALTER TABLE olap.%I OWNER TO \(owner)', t.relname);
                    END LOOP;
                END $$
                """
            )
        }
        try await libsh(#"ws_grant_optimizer_apply_role "$1" "$2" "$3""#, url, applier, owner)
        service = try ServiceProcess(
            "wedsync-query-optimizer",
            environment: [
                "WEDSYNC_DATABASE_URL": url.replacingOccurrences(
                    of: "postgres://postgres@",
                    with: "postgres://\(role)@"
                ),
                "WEDSYNC_OPTIMIZER_STATEMENT_TIMEOUT_MS": "20000", "WEDSYNC_OPTIMIZER_REPORT_INTERVAL_SECONDS": "0",
                "WEDSYNC_OPTIMIZER_APPLY_DATABASE_URL": url.replacingOccurrences(
                    of: "postgres://postgres@",
                    with: "postgres://\(applier)@"
                ),
                "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await service.waitUntil("/ready")
    }

    /// The query named `name` (`Q3`).
    func query(_ name: String) throws -> String {
        guard let query = queries.first(where: { $0.name == name }) else {
            throw QueryOptimizerFixture.Failure(description: "no query \(name) in olap-queries.sql")
        }
        return query.sql
    }
}
