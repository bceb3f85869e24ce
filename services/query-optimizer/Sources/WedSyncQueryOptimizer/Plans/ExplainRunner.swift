import Foundation
import HTTPTypes
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Runs everything the optimizer does on the target database: always inside a transaction that is rolled back,
/// under a statement timeout, read-only unless a write was allowed (by an admin). `EXPLAIN` of a caller's
/// statement (with ANALYZE it really runs), the workload's generic plans, and the health readers' catalog reads.
public struct ExplainRunner: Sendable {
    public let pool: PostgresPool
    /// The statement timeout of each statement the optimizer runs.
    public let timeout: Duration

    public init(pool: PostgresPool, timeout: Duration = .seconds(10)) {
        self.pool = pool
        self.timeout = timeout
    }

    /// Whether `sql` only reads: one statement starting with SELECT, WITH (no data-modifying part), VALUES or TABLE.
    /// The transaction is read-only besides, so a statement that slips past still cannot write.
    public static func isReadOnly(_ sql: String) -> Bool {
        let words = SQLLexer.tokens(sql).compactMap { token -> String? in
            if case .identifier(let word) = token { return word.lowercased() }
            return nil
        }
        guard let first = words.first, ["select", "with", "values", "table"].contains(first) else { return false }
        return !words.contains {
            ["insert", "update", "delete", "merge", "into", "truncate", "copy", "lock"].contains($0)
        }
    }

    /// Functions a statement explained here may not call, whatever its role may do: they signal other sessions,
    /// read or write files, reload or change the server's configuration, open sessions elsewhere (dblink, foreign
    /// data), or take locks and resources beyond the transaction. The optimizer's role lacks most of these rights
    /// anyway (`infrastructure/postgres/optimizer-role.sql`); this refusal answers at once with a 400, before
    /// anything runs, and covers what a role can do to its own sessions (ending them).
    public static let refusedFunctions: Set<String> = [
        "pg_terminate_backend", "pg_cancel_backend", "pg_signal_backend", "pg_reload_conf", "pg_rotate_logfile",
        "pg_promote",
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
        "pg_ls_tmpdir",
        "pg_ls_archive_statusdir", "pg_file_write", "pg_file_rename", "pg_file_unlink", "lo_import", "lo_export",
        "lo_from_bytea", "lo_put", "lo_create", "lo_unlink", "pg_switch_wal", "pg_create_restore_point",
        "pg_start_backup",
        "pg_backup_start", "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
        "pg_drop_replication_slot",
        "pg_replication_origin_create", "pg_log_backend_memory_contexts", "set_config", "pg_sleep_until",
        "pg_notify", "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_send_query", "dblink_open",
        "pg_stat_reset", "pg_stat_statements_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
        "hypopg_create_index", "hypopg_drop_index", "hypopg_reset", "txid_current", "pg_current_xact_id",
    ]

    /// The first function of ``refusedFunctions`` that `sql` calls (a name followed by `(`), if any.
    public static func refusedFunction(in sql: String) -> String? {
        let tokens = SQLLexer.tokens(sql)
        for (index, token) in tokens.enumerated() where index + 1 < tokens.count {
            guard case .identifier(let name) = token, tokens[index + 1] == .symbol("(") else { continue }
            if refusedFunctions.contains(name.lowercased()) { return name.lowercased() }
        }
        return nil
    }

    /// The plan of `sql` with `params`, on a connection of its own; `body` may use the same connection (and its
    /// transaction) before it is rolled back, to try hypothetical indexes.
    ///
    /// The caller's statement runs under a savepoint that is rolled back at once, so settings it changes
    /// (`set_config('statement_timeout', ...)`) do not outlive it; the timeout is set again for `body`. After the
    /// transaction, what outlives a rollback is cleared (``clearSession(_:)``). A connection that cannot be cleared
    /// is closed rather than returned to the pool.
    /// `statementTimeout` bounds the caller's statement when shorter than the runner's own timeout; `searchPath`
    /// replaces the role's search path for the whole transaction (the statement, its catalog and its
    /// hypothetical indexes).
    public func explain<Extra: Sendable>(
        _ sql: String,
        params: [String?],
        analyze: Bool,
        allowWrite: Bool,
        statementTimeout: Duration? = nil,
        searchPath: [String]? = nil,
        then body: @Sendable (PostgresConnection, ExplainOutput) async throws -> Extra
    ) async throws -> (ExplainOutput, Extra) {
        let milliseconds = Int(saturating: timeout / .milliseconds(1))
        let statementMilliseconds =
            statementTimeout.map { min(milliseconds, max(1, Int(saturating: $0 / .milliseconds(1)))) } ?? milliseconds
        return try await transaction(allowWrite: allowWrite) { connection in
            if let searchPath { try await Self.setSearchPath(searchPath, on: connection) }
            try await connection.simpleQuery("SET LOCAL statement_timeout = \(statementMilliseconds); SAVEPOINT caller")
            let output: ExplainOutput
            do {
                output = try await Self.plan(sql, params: params, analyze: analyze, verbose: true, on: connection)
            } catch {
                throw Self.clientError(error)
            }
            try await connection.simpleQuery(
                "ROLLBACK TO SAVEPOINT caller; SET LOCAL statement_timeout = \(milliseconds)"
            )
            return (output, try await body(connection, output))
        }
    }

    /// `body` on a connection of its own, inside a transaction (read-only unless `allowWrite`) under the statement
    /// timeout, always rolled back; then what outlives a rollback is cleared (advisory locks, hypothetical
    /// indexes, prepared statements), or the connection closed.
    public func transaction<Result: Sendable>(
        allowWrite: Bool = false,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await pool.withConnection { connection in
            let milliseconds = Int(saturating: timeout / .milliseconds(1))
            try await connection.simpleQuery(allowWrite ? "BEGIN" : "BEGIN READ ONLY")
            do {
                try await connection.simpleQuery("SET LOCAL statement_timeout = \(milliseconds)")
                let result = try await body(connection)
                try await connection.simpleQuery("ROLLBACK")
                try await Self.clearSession(connection)
                return result
            } catch {
                try? await connection.simpleQuery("ROLLBACK")
                try? await Self.clearSession(connection)
                throw error
            }
        }
    }

    /// `SET LOCAL search_path` to `schemas`, each quoted: a name is a name, never a list or `$user`. `pg_catalog`
    /// comes first whatever the caller's order: the optimizer's own queries in the transaction (`unnest`,
    /// `to_regclass`, `=`) never resolve to a look-alike in a schema someone can create in.
    static func setSearchPath(_ schemas: [String], on connection: PostgresConnection) async throws {
        let path = (["pg_catalog"] + schemas.filter { $0 != "pg_catalog" }).map {
            "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ", ")
        _ = try await connection.query(
            PostgresQuery(sql: "SELECT set_config('search_path', $1, true)", binds: [path]),
            prepared: false
        )
    }

    /// Clears what a rollback leaves: the prepared statement of generic plans, advisory locks the statement took,
    /// hypothetical indexes; closes the connection when that fails, so the pool opens a clean one. (Only the
    /// optimizer's own prepared statement goes: the connection's cache of prepared statements stays valid.)
    static func clearSession(_ connection: PostgresConnection) async throws {
        do {
            let state = try await connection.query(
                """
                SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = 'wedsync_generic'),
                    (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'),
                    pg_advisory_unlock_all() IS NULL
                """,
                prepared: false
            )
            if try state.first?.decode(Bool.self, at: 0) == true {
                try await connection.simpleQuery("DEALLOCATE wedsync_generic")
            }
            if let schema = try state.first?.decode(String?.self, at: 1) {
                try await Hypopg(schema: schema).reset(on: connection)
            }
        } catch {
            connection.close()
            throw error
        }
    }

    /// One `EXPLAIN (FORMAT JSON)` on `connection`, with ANALYZE and BUFFERS when `analyze`, and each node's output
    /// columns when `verbose`.
    static func plan(
        _ sql: String,
        params: [String?],
        analyze: Bool,
        verbose: Bool = false,
        on connection: PostgresConnection
    ) async throws -> ExplainOutput {
        let options = (analyze ? "ANALYZE, BUFFERS, " : "") + (verbose ? "VERBOSE, " : "") + "FORMAT JSON"
        let rows = try await connection.query(
            PostgresQuery(sql: "EXPLAIN (\(options)) \(sql)", encodedBinds: params),
            prepared: false
        )
        guard let row = rows.first else { throw ExplainOutput.Malformed(description: "EXPLAIN gave no rows") }
        return try ExplainOutput(json: try row.decode(String.self, at: 0))
    }

    /// The statement's own failures are the caller's: a 4xx with the SQLSTATE and its condition name, never the
    /// server's own text (it quotes the values involved: a cast of `string_agg(email, ',')` to int would echo
    /// every email). ``PostgresError/message`` is that data-free description.
    static func clientError(_ error: any Error) -> any Error {
        guard let error = error as? PostgresError, error.code == .server, let state = error.sqlState else {
            return error
        }
        let message = "SQLSTATE \(state): " + String(error.message.prefix(300))
        switch state {
        case "57014":
            return ServiceError(
                .unprocessableContent,
                code: "statement_timeout",
                message: "the statement ran past the timeout: explain it with \"analyze\": false"
            )
        case "25006":
            return ServiceError(
                .forbidden,
                code: "write_refused",
                message: "the statement writes; a write is explained only with allowWrite and the admin token"
            )
        case "42501":
            return ServiceError(
                .forbidden,
                code: "permission_denied",
                message: "the optimizer's role may not do that: \(message)"
            )
        case let state where ["42", "22", "21", "0A"].contains(state.prefix(2)) || state == "08P01":
            return ServiceError.badRequest("the statement was refused: \(message)", code: "invalid_sql")
        case let state where ["23", "54", "P0", "2F", "38", "39", "40"].contains(state.prefix(2)):
            return ServiceError(
                .unprocessableContent,
                code: "statement_failed",
                message: "the statement failed: \(message)"
            )
        case let state where state.hasPrefix("53"):
            return ServiceError.unavailable(
                "the database is short of resources: \(message)",
                code: "database_busy",
                retryAfterSeconds: 5
            )
        default:
            return error
        }
    }
}
