import Foundation
import HTTPTypes
import Logging
import Synchronization
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Index recommendations for a whole workload: the top statements of `pg_stat_statements`, each planned
/// generically (its `$n` unknown, as a prepared statement's generic plan), and indexes chosen greedily by how much
/// of the workload's time they save, each statement's cost cut weighed by its share of the time. A cut counts only
/// where it is enough for that statement (the advisor's ``MinimumImprovement``, the rule `/v1/analyze` applies to
/// one statement). One index that serves many statements is worth more than one that serves a single one, and an
/// index whose work an earlier choice already does is worth nothing more.
public struct WorkloadAdvisor: Sendable {
    let runner: ExplainRunner
    let advisor: IndexAdvisor
    let logger: Logger
    /// Statements planned, most time first.
    public var statements = 50
    /// Indexes recommended at most.
    public var maximumIndexes = 8
    /// Candidates tried at most, across the workload.
    public var maximumCandidates = 60
    /// How long planning may take: past it, the indexes chosen so far are the answer.
    public var timeLimit: Duration = .seconds(60)
    /// Search paths to plan a statement under when the role's own does not give it the same query identifier
    /// `pg_stat_statements` recorded (its tables were found in other schemas): each is tried in order, and the
    /// one whose plan has the statement's identifier wins. A statement none matches is planned under the first
    /// path that plans it, the role's own first. (Identifiers match for statements sent with `$n` parameters of
    /// types PostgreSQL infers, as this repo's services send them.)
    public var searchPaths: [[String]] = []
    /// One planning at a time: it holds a connection and works the database.
    let running = Running()

    /// Whether a planning is under way.
    final class Running: Sendable {
        private let flag = Mutex(false)

        /// Takes the flag; `false` when it is taken already.
        func enter() -> Bool {
            flag.withLock { busy in
                busy
                    ? false
                    : {
                        busy = true; return true
                    }()
            }
        }
        func leave() { flag.withLock { $0 = false } }
    }

    public init(runner: ExplainRunner, advisor: IndexAdvisor, logger: Logger) {
        self.runner = runner
        self.advisor = advisor
        self.logger = logger
    }

    /// A planned statement.
    struct Planned {
        var statement: WorkloadStatement
        /// The text PostgreSQL keeps, which is what is planned.
        var text: String
        /// The search path it is planned under; `nil`: the role's own.
        var searchPath: [String]?
        var tables: Set<RelationName>
        var baseline: Double
        var current: Double
    }

    /// The workload report: the top `top` statements by total time, mean time and calls, and, with `recommend`, the
    /// recommendations (planning the statements with hypothetical indexes).
    public func report(top: Int = 10, recommend: Bool = true) async throws -> WorkloadReport {
        let count = statements
        let searchPaths = self.searchPaths
        let minimum = advisor.minimumImprovement
        let maximum = maximumIndexes
        let candidatesLimit = maximumCandidates
        let advisor = self.advisor
        let logger = self.logger
        let deadline = ContinuousClock.now + timeLimit
        if recommend {
            guard running.enter() else {
                // The caller's request conflicts with one in progress (409, as Kubernetes answers a conflicting write),
                // not a failure of the service.
                throw ServiceError(
                    .conflict,
                    code: "analysis_running",
                    message: "a workload analysis is already running",
                    headers: [.retryAfter: "10"]
                )
            }
        }
        defer { if recommend { running.leave() } }
        return try await runner.transaction { connection in
            let entries = try await StatementStatistics.read(on: connection)
            let all = entries.map(\.statement)
            let totalTime = all.reduce(0) { $0 + $1.totalTimeMs }
            func report(planned: Int, unplannable: Int, recommendations: [WorkloadRecommendation]) -> WorkloadReport {
                WorkloadReport(
                    statements: all.count,
                    totalTimeMs: totalTime,
                    topByTotalTime: Array(all.prefix(top)),
                    topByMeanTime: Array(all.sorted { $0.meanTimeMs > $1.meanTimeMs }.prefix(top)),
                    topByCalls: Array(all.sorted { $0.calls > $1.calls }.prefix(top)),
                    planned: planned,
                    unplannable: unplannable,
                    recommendations: recommendations
                )
            }
            guard recommend else { return report(planned: 0, unplannable: 0, recommendations: []) }
            try await connection.simpleQuery("SET LOCAL plan_cache_mode = force_generic_plan")
            let hypopg = try await Hypopg.find(on: connection)
            var planned: [Planned] = []
            var plans: [(PlanNode, String)] = []
            var unplannable = 0
            for entry in entries.prefix(count) where ContinuousClock.now < deadline {
                guard
                    let (output, searchPath) = try await Self.genericPlan(
                        entry,
                        searchPaths: searchPaths,
                        on: connection
                    )
                else {
                    unplannable += 1
                    continue
                }
                let tables = Set(output.plan.allNodes.compactMap(\.relationName))
                planned.append(
                    Planned(
                        statement: entry.statement,
                        text: entry.text,
                        searchPath: searchPath,
                        tables: tables,
                        baseline: output.plan.totalCost,
                        current: output.plan.totalCost
                    )
                )
                plans.append((output.plan, entry.text))
            }
            var recommendations: [WorkloadRecommendation] = []
            if let hypopg, !planned.isEmpty {
                let catalog = try await CatalogReader.facts(for: Set(planned.flatMap(\.tables)), on: connection)
                var candidates: [IndexAdvisor.Candidate] = []
                for (plan, sql) in plans {
                    for candidate in advisor.candidates(plan, catalog: catalog, sql: sql)
                    where !candidates.contains(candidate) && candidate.predicate == nil {
                        candidates.append(candidate)
                    }
                }
                candidates = Array(candidates.prefix(candidatesLimit))
                // Under a savepoint: hypopg off the search path (or refusing) costs the recommendations, not the report.
                try await connection.simpleQuery("SAVEPOINT recommendations")
                do {
                    try await hypopg.reset(on: connection)
                    recommendations = try await Self.choose(
                        candidates,
                        for: &planned,
                        hypopg: hypopg,
                        pathsSet: !searchPaths.isEmpty,
                        workloadTime: totalTime,
                        minimum: minimum,
                        maximum: maximum,
                        deadline: deadline,
                        on: connection,
                        logger: logger
                    )
                    try await connection.simpleQuery("RELEASE SAVEPOINT recommendations")
                } catch let error as PostgresError where error.code == .server && error.sqlState == "42883" {
                    try await connection.simpleQuery("ROLLBACK TO SAVEPOINT recommendations")
                    logger.warning(
                        "hypopg could not be used: no workload recommendations",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
            return report(planned: planned.count, unplannable: unplannable, recommendations: recommendations)
        }
    }

    /// Lazy greedy choice: each round takes the candidate with the highest saving given those chosen so far
    /// (savings only shrink as indexes are added, so a candidate's last saving bounds its next); a chosen one stays
    /// as a hypothetical index for the rounds after it.
    static func choose(
        _ candidates: [IndexAdvisor.Candidate],
        for planned: inout [Planned],
        hypopg: Hypopg,
        pathsSet: Bool,
        workloadTime total: Double,
        minimum: MinimumImprovement,
        maximum: Int,
        deadline: ContinuousClock.Instant,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [WorkloadRecommendation] {
        // A statement's weight: its share of the whole workload's time (what `workloadImprovement` says).
        guard total > 0 else { return [] }
        // Each candidate's saving when last tried, the round it was tried in, and what that trial found.
        var bounds = candidates.map {
            (candidate: $0, saving: Double.infinity, round: -1, costs: [Int: Double](), size: Int64(0))
        }
        var chosen: [WorkloadRecommendation] = []
        for round in 0..<maximum {
            var picked: (index: Int, costs: [Int: Double], size: Int64)?
            while !bounds.isEmpty {
                guard ContinuousClock.now < deadline else {
                    logger.warning(
                        "workload analysis stopped at its time limit",
                        metadata: ["chosen": "\(chosen.count)"]
                    )
                    return chosen
                }
                bounds.sort { $0.saving > $1.saving }
                // Tried this round and still on top: nothing else can beat it, its bound being its saving.
                if bounds[0].round == round {
                    picked = (0, bounds[0].costs, bounds[0].size)
                    break
                }
                guard
                    let tried = try await trial(
                        bounds[0].candidate,
                        planned: planned,
                        hypopg: hypopg,
                        pathsSet: pathsSet,
                        on: connection
                    )
                else {
                    bounds.removeFirst()
                    continue
                }
                // (A cut too small for its statement counts nothing: savings still only shrink as indexes are added.)
                let saving = planned.indices.reduce(0.0) { sum, index in
                    guard let after = tried.costs[index],
                        minimum.accepts(before: planned[index].current, after: after)
                    else { return sum }
                    return sum + planned[index].statement.totalTimeMs / total * (planned[index].current - after)
                        / planned[index].baseline
                }
                bounds[0].saving = saving
                bounds[0].round = round
                bounds[0].costs = tried.costs
                bounds[0].size = tried.size
                if bounds.count == 1 || saving >= bounds[1].saving {
                    picked = (0, tried.costs, tried.size)
                    break
                }
            }
            guard let picked, bounds[picked.index].saving > 0 else { break }
            let candidate = bounds[picked.index].candidate
            // Every cut counts from now on (so it is never credited again); a cut the rule accepts is "served".
            var served: [WorkloadRecommendation.Served] = []
            for (index, after) in picked.costs where after < planned[index].current {
                if minimum.accepts(before: planned[index].current, after: after) {
                    served.append(
                        .init(
                            queryId: planned[index].statement.queryId,
                            costBefore: planned[index].current,
                            costAfter: after
                        )
                    )
                }
                planned[index].current = after
            }
            served.sort { a, b in
                let first = planned.first { $0.statement.queryId == a.queryId }?.statement.totalTimeMs ?? 0
                let second = planned.first { $0.statement.queryId == b.queryId }?.statement.totalTimeMs ?? 0
                return first > second
            }
            chosen.append(
                WorkloadRecommendation(
                    schema: candidate.table.schema,
                    table: candidate.table.name,
                    columns: candidate.columns,
                    predicate: nil,
                    workloadImprovement: bounds[picked.index].saving,
                    estimatedSizeBytes: Int(picked.size),
                    createStatement: candidate.statement(concurrently: true) + ";",
                    served: served
                )
            )
            // The chosen index stays, hypothetically, for the rounds after.
            _ = try await hypopg.create(candidate.statement(concurrently: false), on: connection)
            bounds.remove(at: picked.index)
            logger.debug(
                "workload index chosen",
                metadata: ["table": "\(candidate.table)", "columns": "\(candidate.columns)"]
            )
        }
        return chosen
    }

    /// The statements' costs with `candidate` added as a hypothetical index (those that touch its table), and the
    /// index's estimated size; `nil` when PostgreSQL refuses the candidate.
    static func trial(
        _ candidate: IndexAdvisor.Candidate,
        planned: [Planned],
        hypopg: Hypopg,
        pathsSet: Bool,
        on connection: PostgresConnection
    ) async throws -> (costs: [Int: Double], size: Int64)? {
        try await connection.simpleQuery("SAVEPOINT candidate")
        let oid: Int64
        do {
            oid = try await hypopg.create(candidate.statement(concurrently: false), on: connection)
            try await connection.simpleQuery("RELEASE SAVEPOINT candidate")
        } catch let error as PostgresError where error.code == .server && !Task.isCancelled {
            try await connection.simpleQuery("ROLLBACK TO SAVEPOINT candidate")
            return nil
        }
        var costs: [Int: Double] = [:]
        for (index, statement) in planned.enumerated() where statement.tables.contains(candidate.table) {
            if pathsSet { try await setSearchPath(statement.searchPath, on: connection) }
            if let output = try await genericPlan(statement.text, on: connection) {
                costs[index] = output.plan.totalCost
            }
        }
        let size = try await hypopg.size(oid, on: connection)
        try await hypopg.drop(oid, on: connection)
        return (costs, size)
    }

    /// The generic plan of a `pg_stat_statements` entry, and the search path it was planned under (`nil`: the
    /// role's own): the first of the role's own and `searchPaths` whose plan has the entry's query identifier,
    /// else the first that plans it.
    static func genericPlan(
        _ entry: StatementStatistics.Entry,
        searchPaths: [[String]],
        on connection: PostgresConnection
    ) async throws -> (ExplainOutput, [String]?)? {
        var first: (ExplainOutput, [String]?)?
        for path in [nil] + searchPaths.map(Optional.some) {
            if !searchPaths.isEmpty { try await setSearchPath(path, on: connection) }
            guard let output = try await genericPlan(entry.text, on: connection) else { continue }
            if output.queryIdentifier == entry.statement.queryId { return (output, path) }
            if first == nil { first = (output, path) }
        }
        return first
    }

    /// The transaction's search path: `schemas`, or the role's own for `nil`.
    static func setSearchPath(_ schemas: [String]?, on connection: PostgresConnection) async throws {
        if let schemas {
            try await ExplainRunner.setSearchPath(schemas, on: connection)
        } else {
            try await connection.simpleQuery("SET LOCAL search_path TO DEFAULT")
        }
    }

    /// The generic plan of a statement with `$n` parameters of unknown value: prepared afresh (so hypothetical
    /// indexes count) and explained with nulls under `plan_cache_mode = force_generic_plan`. `nil` when it cannot
    /// be planned (a parameter whose type PostgreSQL cannot tell, several statements, a statement that is gone).
    static func genericPlan(_ sql: String, on connection: PostgresConnection) async throws -> ExplainOutput? {
        let tokens = SQLLexer.tokens(sql)
        guard !tokens.contains(.symbol(";")) else { return nil }
        let parameters =
            tokens.compactMap { token -> Int? in
                if case .parameter(let text) = token { return Int(text.dropFirst()) }
                return nil
            }.max() ?? 0
        let arguments =
            parameters == 0 ? "" : "(" + Array(repeating: "NULL", count: parameters).joined(separator: ", ") + ")"
        try await connection.simpleQuery("SAVEPOINT generic")
        do {
            try await connection.simpleQuery("PREPARE wedsync_generic AS \(sql)")
            let rows = try await connection.query(
                PostgresQuery(sql: "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE wedsync_generic\(arguments)"),
                prepared: false
            )
            try await connection.simpleQuery("DEALLOCATE wedsync_generic; RELEASE SAVEPOINT generic")
            guard let row = rows.first else { return nil }
            return try ExplainOutput(json: try row.decode(String.self, at: 0))
        } catch let error as PostgresError where error.code == .server && !Task.isCancelled {
            // One statement too slow to plan (57014) or refused is unplannable, not the end of the analysis. A
            // prepared statement outlives a rolled-back savepoint.
            try await connection.simpleQuery("ROLLBACK TO SAVEPOINT generic")
            let prepared = try await connection.query(
                "SELECT 1 FROM pg_prepared_statements WHERE name = 'wedsync_generic'",
                prepared: false
            )
            if !prepared.isEmpty { try await connection.simpleQuery("DEALLOCATE wedsync_generic") }
            return nil
        }
    }
}
