import Foundation
import Logging
import Synchronization
import WedSyncModels
import WedSyncPostgres

/// Captures the plans of slow statements, as `auto_explain` logs them but kept where an operator reads them:
/// each statement that ran slower than ``threshold`` (its slowest run in `pg_stat_statements`, or a query event
/// the API reported) gets its generic plan captured once, with the plan's findings; later passes refresh its
/// figures. Only statements `pg_stat_statements` holds are planned, as PostgreSQL recorded them (under the search
/// path whose plan has their query identifier, as the workload plans them): an event's text is matched to them,
/// never planned itself, so what a caller reports cannot make the optimizer plan anything that did not run. At
/// most ``capacity`` statements are kept, the slowest, by query identifier (one text run in two schemas is two).
public final class SlowStatementCapture: Sendable {
    let runner: ExplainRunner
    /// A run this long (milliseconds) makes a statement slow.
    public let threshold: Double
    public let capacity: Int
    /// Search paths a statement may have run under (``WorkloadAdvisor/searchPaths``).
    let searchPaths: [[String]]
    /// New plans captured per pass at most: the rest wait for the next.
    let plansPerPass = 20
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        /// By query identifier.
        var captured: [String: SlowStatement] = [:]
        /// Fingerprints the API reported slow, not matched to a statement yet: their slowest run.
        var reported: [String: Double] = [:]
        /// Statements let go over capacity: not planned again.
        var dropped: Set<String> = []
    }

    public init(
        runner: ExplainRunner,
        thresholdMs: Double,
        capacity: Int = 200,
        searchPaths: [[String]] = [],
        logger: Logger
    ) {
        self.runner = runner
        self.threshold = thresholdMs
        self.capacity = capacity
        self.searchPaths = searchPaths
        self.logger = logger
    }

    /// Notes the API's query events slower than the threshold, for the next pass.
    public func record(_ events: [MetricEvent]) {
        let slow = events.compactMap { event -> (String, Double)? in
            guard case .databaseQuery(let query) = event, query.durationMs.isFinite, query.durationMs >= threshold
            else { return nil }
            return (query.fingerprint, query.durationMs)
        }
        guard !slow.isEmpty else { return }
        let capacity = self.capacity
        state.withLock { state in
            for (fingerprint, milliseconds) in slow
            where state.reported[fingerprint] != nil || state.reported.count < capacity {
                state.reported[fingerprint] = max(state.reported[fingerprint] ?? 0, milliseconds)
            }
        }
    }

    /// The statements captured, slowest first.
    public func statements() -> SlowStatementsReport {
        let all = state.withLock { Array($0.captured.values) }
        return SlowStatementsReport(
            thresholdMs: threshold,
            statements: all.sorted { ($0.maxTimeMs, $1.fingerprint) > ($1.maxTimeMs, $0.fingerprint) }
        )
    }

    /// One pass: reads `pg_stat_statements`, takes the statements over the threshold and those the reported events
    /// name (by fingerprint), and plans those not captured yet, in a transaction rolled back like every other.
    public func capture(now: Date = Date()) async throws {
        let threshold = self.threshold
        let searchPaths = self.searchPaths
        let known = state.withLock { state in (state.captured, state.reported, state.dropped) }
        let limit = plansPerPass
        let analyzer = PlanAnalyzer()
        let found = try await runner.transaction {
            connection -> (
                new: [SlowStatement], seen: [String: (entry: StatementStatistics.Entry, maxMs: Double)],
                matched: Set<String>
            ) in
            try await connection.simpleQuery("SET LOCAL plan_cache_mode = force_generic_plan")
            // pg_stat_statements may be missing or unloaded: then there is nothing to plan.
            var statistics: [StatementStatistics.Entry] = []
            try await connection.simpleQuery("SAVEPOINT statistics")
            do {
                statistics = try await StatementStatistics.read(
                    on: connection,
                    limit: 5_000,
                    slowerThanMs: known.1.isEmpty ? threshold : nil
                )
                try await connection.simpleQuery("RELEASE SAVEPOINT statistics")
            } catch is StatementStatistics.Unavailable {
                try await connection.simpleQuery("ROLLBACK TO SAVEPOINT statistics")
            }
            // The slow ones, each with its slowest run as pg_stat_statements or an event saw it.
            var slow: [String: (entry: StatementStatistics.Entry, maxMs: Double, source: String)] = [:]
            var matched = Set<String>()
            for entry in statistics {
                let reported = known.1[DatabaseQueryEvent.fingerprint(of: entry.text)]
                if reported != nil { matched.insert(DatabaseQueryEvent.fingerprint(of: entry.text)) }
                let maxMs = max(entry.maxTimeMs, reported ?? 0)
                guard maxMs >= threshold else { continue }
                let source = entry.maxTimeMs >= threshold ? "pg_stat_statements" : "query_events"
                slow[entry.statement.queryId] = (entry, maxMs, source)
            }
            var new: [SlowStatement] = []
            for (queryId, item) in slow.sorted(by: { $0.value.maxMs > $1.value.maxMs })
            where known.0[queryId] == nil && !known.2.contains(queryId) && new.count < limit {
                var statement = SlowStatement(
                    fingerprint: DatabaseQueryEvent.fingerprint(of: item.entry.text),
                    query: item.entry.statement.query,
                    queryId: queryId,
                    source: item.source,
                    maxTimeMs: item.maxMs,
                    meanTimeMs: item.entry.statement.meanTimeMs,
                    calls: item.entry.statement.calls,
                    capturedAt: now,
                    plan: nil,
                    totalCost: nil,
                    findings: [],
                    unplannable: nil
                )
                if let (output, _) = try await WorkloadAdvisor.genericPlan(
                    item.entry,
                    searchPaths: searchPaths,
                    on: connection
                ) {
                    let tables = Set(output.plan.allNodes.compactMap(\.relationName))
                    let catalog = try await CatalogReader.facts(for: tables, on: connection)
                    statement.plan = output.plan
                    statement.totalCost = output.plan.totalCost
                    statement.findings = analyzer.findings(output.plan, catalog: catalog)
                } else {
                    statement.unplannable =
                        "PostgreSQL could not plan it generically (a parameter of unknown type, or a statement that is gone)"
                }
                new.append(statement)
            }
            return (new, slow.mapValues { ($0.entry, $0.maxMs) }, matched)
        }
        let capacity = self.capacity
        state.withLock { state in
            for statement in found.new {
                if let queryId = statement.queryId { state.captured[queryId] = statement }
            }
            for fingerprint in found.matched { state.reported[fingerprint] = nil }
            for (queryId, item) in found.seen {
                guard var statement = state.captured[queryId] else { continue }
                statement.maxTimeMs = max(statement.maxTimeMs, item.maxMs)
                statement.meanTimeMs = item.entry.statement.meanTimeMs
                statement.calls = item.entry.statement.calls
                state.captured[queryId] = statement
            }
            // Over capacity: the fastest go, and are not planned again.
            if state.captured.count > capacity {
                let sorted = state.captured.sorted { $0.value.maxTimeMs > $1.value.maxTimeMs }
                for (queryId, _) in sorted.dropFirst(capacity) {
                    state.captured[queryId] = nil
                    if state.dropped.count < capacity * 10 { state.dropped.insert(queryId) }
                }
            }
        }
        if !found.new.isEmpty {
            logger.info("slow statements captured", metadata: ["count": "\(found.new.count)"])
        }
    }
}
