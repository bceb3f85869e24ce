import Foundation
import HTTPTypes
import Logging
import Synchronization
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Builds a recommended index on the target database, as a DBA would: `CREATE INDEX CONCURRENTLY` (writers go on
/// writing), under a lock timeout (a build stuck behind a long transaction gives up rather than queue writers
/// behind it) and a statement timeout, watched through `pg_stat_progress_create_index`; a build that fails leaves
/// an invalid index, which is dropped. The statements it was for are planned before and after.
///
/// It connects as a role of its own (`optimizer.apply-database-url`), never the optimizer's: in PostgreSQL 15 only
/// a table's owner (or a member of the owning role) may index it, so that role is made a `NOINHERIT` member of the
/// owner roles of the schemas the DBA grants (`infrastructure/postgres/optimizer-apply-role.sql`), and takes the
/// owner's role (`SET ROLE`) for the build alone. A table whose owner it may not become is 403 `apply_not_granted`.
public final class IndexApplier: Sendable {
    /// The operator classes a key column may take.
    public static let operatorClasses: Set<String> = ["text_pattern_ops", "varchar_pattern_ops"]
    /// The types a predicate's constant may be cast to.
    static let castTypes: Set<String> = [
        "text", "date", "integer", "bigint", "smallint", "numeric", "boolean", "character varying", "timestamp",
        "timestamp with time zone", "timestamp without time zone",
    ]

    let runner: ExplainRunner
    let pool: PostgresPool?
    let logger: Logger
    /// How often the build's progress is read.
    let progressInterval: Duration
    private let jobs = Mutex<[ApplyJob]>([])
    /// The indexes being built (`schema.name`): one build of a name at a time, so a failed build's cleanup can only
    /// ever meet its own invalid index.
    private let building = Mutex<Set<String>>([])
    /// Jobs kept, the newest.
    let capacity = 100

    public init(
        runner: ExplainRunner,
        pool: PostgresPool?,
        progressInterval: Duration = .milliseconds(50),
        logger: Logger
    ) {
        self.runner = runner
        self.pool = pool
        self.progressInterval = progressInterval
        self.logger = logger
    }

    /// A job by its id.
    public func job(_ id: String) -> ApplyJob? { jobs.withLock { $0.first { $0.id == id } } }

    /// The table an apply request names, checked against the catalog.
    struct Target {
        var owner: String
        var candidate: IndexAdvisor.Candidate
        var unique: Bool
    }

    /// Checks `request`, plans its statements, and starts the build; the job as it starts.
    public func submit(_ request: ApplyRequest) async throws -> ApplyJob {
        guard let pool else {
            throw ServiceError(
                .conflict,
                code: "apply_disabled",
                message:
                    "no role to build indexes with: set optimizer.apply-database-url (see docs/security.md, \"Applying a recommendation\")"
            )
        }
        let target = try await check(request)
        // The apply role (the session's, whatever role a connection last took) may become the table's owner, and
        // the owner may create in the schema.
        let granted: Bool
        do {
            granted = try await pool.withConnection { connection in
                try await connection.query(
                    PostgresQuery(
                        sql: """
                            SELECT pg_has_role(session_user, $1, 'MEMBER') AND has_schema_privilege($1, $2, 'CREATE')
                            """,
                        binds: [target.owner, request.schema]
                    ),
                    prepared: false
                ).first?.decode(Bool.self, at: 0) ?? false
            }
        } catch {
            logger.warning("the apply role could not connect", metadata: ["error": "\(error)"])
            throw ServiceError.unavailable(
                "the apply role could not connect to the database",
                code: "apply_unavailable",
                retryAfterSeconds: 5
            )
        }
        guard granted else {
            throw ServiceError(
                .forbidden,
                code: "apply_not_granted",
                message:
                    "the apply role may not build indexes on \(target.candidate.table): make it a member of the table's owner role (docs/security.md)"
            )
        }
        var planned: [ApplyJob.Planned] = []
        for statement in request.statements ?? [] {
            let params = (statement.params ?? []).map(\.postgresText)
            let cost: Double
            do {
                cost = try await runner.transaction { connection in
                    try await ExplainRunner.plan(statement.sql, params: params, analyze: false, on: connection).plan
                        .totalCost
                }
            } catch {
                throw ExplainRunner.clientError(error)
            }
            planned.append(ApplyJob.Planned(sql: statement.sql, costBefore: cost))
        }
        let create = target.candidate.statement(concurrently: true, unique: target.unique)
        let job = ApplyJob(
            id: UUID().uuidString.lowercased(),
            createStatement: create + ";",
            startedAt: Date(),
            statements: planned
        )
        let key = "\(target.candidate.table.schema ?? "").\(target.candidate.name)"
        guard building.withLock({ $0.insert(key).inserted }) else {
            throw ServiceError(
                .conflict,
                code: "apply_running",
                message: "\(target.candidate.name) is being built already",
                headers: [.retryAfter: "10"]
            )
        }
        let capacity = self.capacity
        jobs.withLock { jobs in
            jobs.append(job)
            // Finished jobs go first; a running one stays to be followed.
            while jobs.count > capacity, let finished = jobs.firstIndex(where: { $0.finishedAt != nil }) {
                jobs.remove(at: finished)
            }
        }
        let lockTimeout = Int(request.lockTimeoutMs ?? 5_000)
        let statementTimeout = Int(request.statementTimeoutMs ?? 3_600_000)
        Task {
            await self.build(
                job.id,
                target: target,
                statements: request.statements ?? [],
                lockTimeout: lockTimeout,
                statementTimeout: statementTimeout,
                on: pool
            )
            _ = self.building.withLock { $0.remove(key) }
        }
        return job
    }

    /// The request's table, columns, operator classes and predicate, against the catalog; a 400 or 404 naming what
    /// is wrong. The index's name is the candidate's, with `_2`... when taken.
    func check(_ request: ApplyRequest) async throws -> Target {
        let name = TextRule(1...63)
        _ = try name.check(request.schema, "schema")
        _ = try name.check(request.table, "table")
        guard (1...32).contains(request.columns.count), (request.include ?? []).count <= 32 else {
            throw ServiceError.badRequest("columns: 1 to 32; include: at most 32", code: "invalid_body")
        }
        for column in request.columns + (request.include ?? []) { _ = try name.check(column, "columns") }
        for (column, operatorClass) in request.operatorClasses ?? [:] {
            guard request.columns.contains(column), Self.operatorClasses.contains(operatorClass) else {
                throw ServiceError.badRequest(
                    "operatorClasses: a key column's, one of \(Self.operatorClasses.sorted().joined(separator: ", "))",
                    code: "invalid_body"
                )
            }
        }
        if let lock = request.lockTimeoutMs, !(lock.isFinite && lock >= 1 && lock <= 600_000) {
            throw ServiceError.badRequest("lockTimeoutMs: 1 to 600000", code: "invalid_body")
        }
        if let timeout = request.statementTimeoutMs, !(timeout.isFinite && timeout >= 1 && timeout <= 86_400_000) {
            throw ServiceError.badRequest("statementTimeoutMs: 1 to 86400000", code: "invalid_body")
        }
        guard (request.statements ?? []).count <= 20 else {
            throw ServiceError.badRequest("statements: at most 20", code: "invalid_body")
        }
        for statement in request.statements ?? [] {
            _ = try AnalyzeRequest.sqlRule.check(statement.sql, "statements")
            guard ExplainRunner.isReadOnly(statement.sql), ExplainRunner.refusedFunction(in: statement.sql) == nil,
                (statement.params ?? []).allSatisfy(\.isScalar)
            else {
                throw ServiceError.badRequest(
                    "statements: reads only, without functions acting beyond their transaction, scalar params",
                    code: "invalid_body"
                )
            }
        }
        let table = RelationName(schema: request.schema, name: request.table)
        return try await runner.transaction { connection in
            let rows = try await connection.query(
                PostgresQuery(
                    sql: """
                        SELECT c.oid::bigint, pg_get_userbyid(c.relowner)::text, c.relkind::text
                        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'm')
                        """,
                    binds: [request.schema, request.table]
                ),
                prepared: false
            )
            guard let row = rows.first else { throw ServiceError.notFound("no table \(table)") }
            let oid = try row.decode(Int64.self, at: 0)
            guard try row.decode(String.self, at: 2) != "p" else {
                throw ServiceError.badRequest(
                    "\(table) is partitioned: PostgreSQL builds no index on it CONCURRENTLY; build one on each partition",
                    code: "partitioned_table"
                )
            }
            // Each column and whether it is text (what a pattern operator class takes), one row each.
            var existing: [String: Bool] = [:]
            for column in try await connection.query(
                PostgresQuery(
                    sql: """
                        SELECT a.attname::text, a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
                        FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
                        """,
                    binds: [oid]
                ),
                prepared: false
            ) {
                existing[try column.decode(String.self, at: 0)] = try column.decode(Bool.self, at: 1)
            }
            for column in request.columns + (request.include ?? []) where existing[column] == nil {
                throw ServiceError.badRequest("\(table) has no column \(column)", code: "unknown_column")
            }
            for column in (request.operatorClasses ?? [:]).keys where existing[column] != true {
                throw ServiceError.badRequest(
                    "operatorClasses: \(column) is not text; pattern operator classes take text",
                    code: "invalid_body"
                )
            }
            let predicate = try request.predicate.map { try Self.predicate($0, columns: Set(existing.keys)) }
            var candidate = IndexAdvisor.Candidate(
                table: table,
                columns: request.columns,
                predicate: predicate,
                include: request.include ?? [],
                operatorClasses: request.operatorClasses ?? [:]
            )
            // A name nothing in the schema has.
            let base = candidate.name
            var suffix = 1
            while try await !connection.query(
                PostgresQuery(
                    sql:
                        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                    binds: [request.schema, candidate.name]
                ),
                prepared: false
            ).isEmpty {
                suffix += 1
                let tail = "_\(suffix)"
                var trimmed = base
                while trimmed.utf8.count > 63 - tail.utf8.count { trimmed.removeLast() }
                candidate.indexName = trimmed + tail
            }
            return Target(
                owner: try row.decode(String.self, at: 1),
                candidate: candidate,
                unique: request.unique == true
            )
        }
    }

    /// `status = 'cancelled'::text AND region = 3`, rebuilt from its tokens: each term a known column, `=`, and a
    /// string or number constant (with an optional cast to a plain type); anything else is a 400.
    static func predicate(_ text: String, columns: Set<String>) throws -> String {
        let tokens = SQLLexer.tokens(text, limit: 201)
        var terms: [String] = []
        var index = 0
        func refuse() -> ServiceError {
            ServiceError.badRequest(
                "predicate: `column = constant` terms joined by AND, on the table's columns",
                code: "invalid_predicate"
            )
        }
        guard tokens.count <= 200 else { throw refuse() }
        while index < tokens.count {
            guard case .identifier(let column) = tokens[index], columns.contains(column), index + 2 < tokens.count,
                tokens[index + 1] == .symbol("=")
            else { throw refuse() }
            var constant: String
            switch tokens[index + 2] {
            case .number(let number): constant = number
            case .literal(let literal) where literal.hasPrefix("'") && literal.hasSuffix("'") && literal.count >= 2:
                let inner = literal.dropFirst().dropLast().replacingOccurrences(of: "''", with: "'")
                constant = "'" + inner.replacingOccurrences(of: "'", with: "''") + "'"
            default: throw refuse()
            }
            index += 3
            if index < tokens.count, tokens[index] == .symbol("::") {
                var words: [String] = []
                index += 1
                while index < tokens.count, case .identifier(let word) = tokens[index], word.lowercased() != "and" {
                    words.append(word.lowercased())
                    index += 1
                }
                let type = words.joined(separator: " ")
                guard castTypes.contains(type) else { throw refuse() }
                constant += "::" + type
            }
            terms.append("\(IndexAdvisor.Candidate.quoted(column)) = \(constant)")
            if index < tokens.count {
                guard case .identifier(let word) = tokens[index], word.lowercased() == "and" else { throw refuse() }
                index += 1
                guard index < tokens.count else { throw refuse() }
            }
        }
        guard !terms.isEmpty else { throw refuse() }
        return terms.joined(separator: " AND ")
    }

    /// The build, on a connection of the apply role's own, then the plans after it.
    func build(
        _ id: String,
        target: Target,
        statements: [ApplyRequest.Statement],
        lockTimeout: Int,
        statementTimeout: Int,
        on pool: PostgresPool
    ) async {
        let statement = target.candidate.statement(concurrently: true, unique: target.unique)
        let name = target.candidate.name
        do {
            try await pool.withConnection { connection in
                // Back to the session's own role and settings at the end, or the connection is closed: a pooled
                // connection never stays the owner.
                var reset = false
                defer { if !reset { connection.close() } }
                let pid =
                    try await connection.query("SELECT pg_backend_pid()", prepared: false).first?.decode(
                        Int.self,
                        at: 0
                    ) ?? 0
                // The owner's role for the build alone.
                try await connection.simpleQuery(
                    "SET ROLE \(IndexAdvisor.Candidate.quoted(target.owner)); SET lock_timeout = \(lockTimeout); SET statement_timeout = \(statementTimeout)"
                )
                let watcher = Task { await self.watch(id, pid: pid) }
                var failure: (any Error)?
                do {
                    try await connection.simpleQuery(statement)
                } catch {
                    failure = error
                }
                watcher.cancel()
                if let failure {
                    let state = (failure as? PostgresError)?.sqlState
                    update(id) { job in
                        job.sqlState = state
                        job.error =
                            "SQLSTATE \(state ?? "?"): "
                            + String(((failure as? PostgresError)?.message ?? "\(failure)").prefix(300))
                    }
                    // A failed concurrent build leaves its index behind, invalid: dropped (concurrently, as the owner).
                    let dropped = await Self.dropInvalid(
                        name,
                        schema: target.candidate.table.schema ?? "public",
                        on: connection
                    )
                    update(id) { job in
                        job.invalidIndexDropped = dropped
                        if dropped == nil {
                            job.error =
                                (job.error ?? "") + "; the invalid index \(name) is left: DROP INDEX CONCURRENTLY it"
                        }
                        job.state = "failed"
                        job.finishedAt = Date()
                    }
                    logger.warning("index build failed", metadata: ["index": "\(name)", "sqlState": "\(state ?? "")"])
                }
                try await connection.simpleQuery("RESET statement_timeout; RESET lock_timeout; RESET ROLE")
                reset = true
            }
        } catch {
            update(id) { job in
                if job.finishedAt == nil {
                    job.state = "failed"
                    job.error = job.error ?? String("\(error)".prefix(300))
                    job.finishedAt = Date()
                }
            }
            return
        }
        guard job(id)?.state != "failed" else { return }
        update(id) { $0.state = "replanning" }
        var planned = job(id)?.statements ?? []
        for (index, statement) in statements.enumerated() where index < planned.count {
            let params = (statement.params ?? []).map(\.postgresText)
            if let plan = try? await runner.transaction({ connection in
                try await ExplainRunner.plan(statement.sql, params: params, analyze: false, on: connection).plan
            }) {
                planned[index].costAfter = plan.totalCost
                planned[index].usesIndex = plan.allNodes.contains { $0.indexName == name }
            }
        }
        update(id) { job in
            job.statements = planned
            job.state = "done"
            job.finishedAt = Date()
        }
        logger.info("index built", metadata: ["index": "\(name)"])
    }

    /// Reads the build's progress until cancelled.
    func watch(_ id: String, pid: Int) async {
        while !Task.isCancelled {
            if let row = try? await runner.pool.query(
                PostgresQuery(
                    sql: """
                        SELECT phase, blocks_done::bigint, blocks_total::bigint, tuples_done::bigint, tuples_total::bigint
                        FROM pg_stat_progress_create_index WHERE pid = $1
                        """,
                    binds: [pid]
                )
            ).first {
                let phase = try? row.decode(String.self, at: 0)
                update(id) { job in
                    job.phase = phase
                    job.blocksDone = try? row.decode(Int.self, at: 1)
                    job.blocksTotal = try? row.decode(Int.self, at: 2)
                    job.tuplesDone = try? row.decode(Int.self, at: 3)
                    job.tuplesTotal = try? row.decode(Int.self, at: 4)
                    if let phase, job.phasesSeen.last != phase { job.phasesSeen.append(phase) }
                }
            }
            try? await Task.sleep(for: progressInterval)
        }
    }

    /// Drops the index `name` of `schema` when it is there and invalid: `true` when it did, `false` when there was
    /// none, `nil` when it could not (each try waits 5 s at most for the locks it needs; three tries).
    static func dropInvalid(_ name: String, schema: String, on connection: PostgresConnection) async -> Bool? {
        for _ in 0..<3 {
            do {
                let invalid = try await connection.query(
                    PostgresQuery(
                        sql: """
                            SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                            JOIN pg_namespace n ON n.oid = i.relnamespace
                            WHERE n.nspname = $1 AND i.relname = $2 AND NOT x.indisvalid
                            """,
                        binds: [schema, name]
                    ),
                    prepared: false
                )
                guard !invalid.isEmpty else { return false }
                try await connection.simpleQuery("SET lock_timeout = 5000; SET statement_timeout = 60000")
                try await connection.simpleQuery(
                    "DROP INDEX CONCURRENTLY IF EXISTS \(RelationName(schema: schema, name: name).sql)"
                )
                return true
            } catch {
                continue
            }
        }
        return nil
    }

    private func update(_ id: String, _ change: (inout ApplyJob) -> Void) {
        jobs.withLock { jobs in
            if let index = jobs.firstIndex(where: { $0.id == id }) { change(&jobs[index]) }
        }
    }
}
