import Foundation
import Logging
import Synchronization
import WedSyncModels
import WedSyncPostgres

/// Captures the plans of slow statements, as `auto_explain` logs them but kept where an operator reads them:
/// each statement that ran slower than ``threshold`` (its slowest run in `pg_stat_statements`, or a query event
/// the API reported) gets its generic plan captured once, with the plan's findings, kept by its fingerprint;
/// later passes refresh its figures. At most ``capacity`` statements are kept, the slowest.
public final class SlowStatementCapture: Sendable {
    let runner: ExplainRunner
    /// A run this long (milliseconds) makes a statement slow.
    public let threshold: Double
    public let capacity: Int
    /// New plans captured per pass at most: the rest wait for the next.
    let plansPerPass = 20
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        var captured: [String: SlowStatement] = [:]
        /// Fingerprints the API reported slow, not captured yet: their slowest run.
        var reported: [String: Double] = [:]
    }

    public init(runner: ExplainRunner, thresholdMs: Double, capacity: Int = 200, logger: Logger) {
        self.runner = runner
        self.threshold = thresholdMs
        self.capacity = capacity
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
            for (fingerprint, milliseconds) in slow {
                if var known = state.captured[fingerprint] {
                    known.maxTimeMs = max(known.maxTimeMs, milliseconds)
                    state.captured[fingerprint] = known
                } else if state.reported[fingerprint] != nil || state.reported.count < capacity {
                    state.reported[fingerprint] = max(state.reported[fingerprint] ?? 0, milliseconds)
                }
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

    /// One pass: reads `pg_stat_statements` for statements over the threshold, matches the reported events to
    /// them by fingerprint, and plans those not captured yet, in a transaction rolled back like every other.
    public func capture(now: Date = Date()) async throws {
        let threshold = self.threshold
        let known = state.withLock { state in (Set(state.captured.keys), state.reported) }
        let limit = plansPerPass
        let analyzer = PlanAnalyzer()
        let found = try await runner.transaction {
            connection -> (new: [SlowStatement], seen: [String: StatementStatistics.Entry]) in
            try await connection.simpleQuery("SET LOCAL plan_cache_mode = force_generic_plan")
            // pg_stat_statements may be missing or unloaded: the API's events still count.
            var entries: [StatementStatistics.Entry] = []
            var statistics: [StatementStatistics.Entry] = []
            try await connection.simpleQuery("SAVEPOINT statistics")
            do {
                entries = try await StatementStatistics.read(on: connection, limit: 500, slowerThanMs: threshold)
                if !known.1.isEmpty { statistics = try await StatementStatistics.read(on: connection, limit: 5_000) }
                try await connection.simpleQuery("RELEASE SAVEPOINT statistics")
            } catch is StatementStatistics.Unavailable {
                try await connection.simpleQuery("ROLLBACK TO SAVEPOINT statistics")
            }
            var byFingerprint: [String: StatementStatistics.Entry] = [:]
            for entry in statistics { byFingerprint[DatabaseQueryEvent.fingerprint(of: entry.text)] = entry }
            // The slow ones: pg_stat_statements' first, then the events' (matched to their statistics when there).
            var wanted: [(fingerprint: String, entry: StatementStatistics.Entry?, source: String, maxMs: Double)] = []
            for entry in entries {
                wanted.append(
                    (DatabaseQueryEvent.fingerprint(of: entry.text), entry, "pg_stat_statements", entry.maxTimeMs)
                )
            }
            for (fingerprint, milliseconds) in known.1 where !wanted.contains(where: { $0.fingerprint == fingerprint })
            {
                let entry = byFingerprint[fingerprint]
                wanted.append((fingerprint, entry, "query_events", max(milliseconds, entry?.maxTimeMs ?? 0)))
            }
            var new: [SlowStatement] = []
            for item in wanted where !known.0.contains(item.fingerprint) && new.count < limit {
                let text = item.entry?.text ?? item.fingerprint
                var statement = SlowStatement(
                    fingerprint: item.fingerprint,
                    query: StatementFingerprint.normalize(text),
                    queryId: item.entry?.statement.queryId,
                    source: item.source,
                    maxTimeMs: item.maxMs,
                    meanTimeMs: item.entry?.statement.meanTimeMs,
                    calls: item.entry?.statement.calls,
                    capturedAt: now,
                    plan: nil,
                    totalCost: nil,
                    findings: [],
                    unplannable: nil
                )
                // An event's text cut short (`SELECT … FROM`, ` #hash`) is no statement to plan.
                if item.entry == nil, item.fingerprint.contains("…") || item.fingerprint.contains(" #") {
                    statement.unplannable = "the event's text was cut short and pg_stat_statements does not hold it"
                } else if ExplainRunner.refusedFunction(in: text) != nil {
                    statement.unplannable = "it calls a function that acts beyond its transaction"
                } else if let output = try await WorkloadAdvisor.genericPlan(text, on: connection) {
                    let tables = Set(output.plan.allNodes.compactMap(\.relationName))
                    let catalog = try await CatalogReader.facts(for: tables, on: connection)
                    statement.plan = output.plan
                    statement.totalCost = output.plan.totalCost
                    statement.findings = analyzer.findings(output.plan, catalog: catalog)
                } else {
                    statement.unplannable =
                        "PostgreSQL could not plan it generically (a parameter of unknown type, or several statements)"
                }
                new.append(statement)
            }
            var seen: [String: StatementStatistics.Entry] = [:]
            for item in wanted { if let entry = item.entry { seen[item.fingerprint] = entry } }
            return (new, seen)
        }
        let capacity = self.capacity
        state.withLock { state in
            for statement in found.new {
                state.captured[statement.fingerprint] = statement
                state.reported[statement.fingerprint] = nil
            }
            for (fingerprint, entry) in found.seen {
                guard var statement = state.captured[fingerprint] else { continue }
                statement.maxTimeMs = max(statement.maxTimeMs, entry.maxTimeMs)
                statement.meanTimeMs = entry.statement.meanTimeMs
                statement.calls = entry.statement.calls
                state.captured[fingerprint] = statement
            }
            // Over capacity: the fastest go.
            if state.captured.count > capacity {
                let kept = state.captured.values.sorted { $0.maxTimeMs > $1.maxTimeMs }.prefix(capacity)
                state.captured = Dictionary(uniqueKeysWithValues: kept.map { ($0.fingerprint, $0) })
            }
        }
        if !found.new.isEmpty {
            logger.info("slow statements captured", metadata: ["count": "\(found.new.count)"])
        }
    }
}
