import Foundation
import WedSyncModels
import WedSyncPostgres

/// Reads the configured database's top-level statements from `pg_stat_statements`, without the optimizer's own
/// (EXPLAIN, catalog and statistics reads: anything naming a `pg_` relation or function) and without
/// transaction control, utility statements and DDL, which no index serves.
public enum StatementStatistics {
    /// Why the workload cannot be read.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The first words of statements an index can serve.
    static let served: Set<String> = ["select", "with", "insert", "update", "delete", "values", "table", "merge"]

    /// A statement as the report shows it (constants folded, in case PostgreSQL kept them: `SELECT ... INTO` is a
    /// utility statement whose text stays as written), and the text as PostgreSQL keeps it, for planning only.
    public struct Entry: Sendable {
        public var statement: WorkloadStatement
        public var text: String
        /// Its slowest run.
        public var maxTimeMs: Double
    }

    /// Every statement the extension holds for the database, most execution time first; with `slowerThanMs`,
    /// only those that ran that long at least once.
    public static func read(
        on connection: PostgresConnection,
        limit: Int = 5_000,
        slowerThanMs: Double? = nil
    ) async throws -> [Entry] {
        guard try await CatalogReader.hasExtension("pg_stat_statements", on: connection) else {
            throw Unavailable(
                description:
                    "pg_stat_statements is not installed in the target database: add it to shared_preload_libraries and CREATE EXTENSION pg_stat_statements"
            )
        }
        let rows: PostgresRows
        do {
            rows = try await connection.query(
                PostgresQuery(
                    sql: """
                        SELECT s.queryid::text, s.query, s.calls::bigint, s.total_exec_time::float8, s.mean_exec_time::float8, s.rows::bigint,
                            s.shared_blks_hit::bigint, s.shared_blks_read::bigint, s.max_exec_time::float8
                        FROM pg_stat_statements s
                        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.toplevel AND s.calls > 0
                            AND s.query !~* '^\\s*(explain|prepare|execute|deallocate|begin|start|commit|end|rollback|abort|savepoint|release|set|reset|show|create|alter|drop|vacuum|analyze|grant|revoke|lock|truncate|copy|listen|notify|discard|checkpoint|do|call)\\M'
                            AND s.query !~* '\\m(pg_\\w+|hypopg\\w*|current_database|current_setting)\\M'
                            AND ($2::float8 IS NULL OR s.max_exec_time >= $2::float8)
                        ORDER BY s.total_exec_time DESC LIMIT $1
                        """,
                    binds: [limit, slowerThanMs]
                ),
                prepared: false
            )
        } catch let error as PostgresError where ["55000", "42P01", "42883", "42501"].contains(error.sqlState ?? "") {
            // Created but not loaded (shared_preload_libraries), in a schema off the search path, or not readable.
            throw Unavailable(
                description:
                    "pg_stat_statements cannot be read (SQLSTATE \(error.sqlState ?? "")): load it with shared_preload_libraries, keep its schema on the search_path, and grant pg_read_all_stats"
            )
        }
        var entries: [Entry] = []
        for row in rows {
            // Only statements an index can serve. PostgreSQL keeps a utility statement's text as written (an
            // `ALTER ROLE ... PASSWORD` included), so anything else never leaves this function; the first word is
            // read past comments and parentheses, which the SQL filter above cannot do.
            let text = try row.decode(String.self, at: 1)
            guard let first = StatementFingerprint.firstKeyword(text), Self.served.contains(first) else { continue }
            let hits = try row.decode(Int64.self, at: 6)
            let reads = try row.decode(Int64.self, at: 7)
            let statement = WorkloadStatement(
                queryId: try row.decode(String.self, at: 0),
                query: StatementFingerprint.normalize(text),
                calls: Int(try row.decode(Int64.self, at: 2)),
                totalTimeMs: try row.decode(Double.self, at: 3),
                meanTimeMs: try row.decode(Double.self, at: 4),
                rows: Int(try row.decode(Int64.self, at: 5)),
                shareOfTotalTime: 0,
                cacheHitRatio: hits + reads > 0 ? Double(hits) / Double(hits + reads) : nil
            )
            entries.append(Entry(statement: statement, text: text, maxTimeMs: try row.decode(Double.self, at: 8)))
        }
        let total = entries.reduce(0) { $0 + $1.statement.totalTimeMs }
        return entries.map { entry in
            var entry = entry
            entry.statement.shareOfTotalTime = total > 0 ? entry.statement.totalTimeMs / total : 0
            return entry
        }
    }
}
