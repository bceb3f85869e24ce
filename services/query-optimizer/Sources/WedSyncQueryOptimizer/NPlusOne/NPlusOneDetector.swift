import Foundation
import Synchronization
import WedSyncModels

/// Finds N+1s in the statements services report per request (`POST /v1/query-events`): a request that ran the
/// same statement (by fingerprint, constants folded) ``threshold`` times or more.
///
/// It keeps, for each request of the last ``window``, how often it ran each statement and for how long; a request
/// can be reported in several batches. Memory is bounded: at most ``maximumRequests`` requests (the oldest go
/// first) and ``maximumStatementsPerRequest`` distinct statements each.
public final class NPlusOneDetector: Sendable {
    public let threshold: Int
    public let window: Duration
    public let maximumRequests: Int
    public let maximumStatementsPerRequest = 100
    /// Statements held across all requests: with fingerprints of at most 1,000 characters, a bound on memory
    /// whatever is posted.
    public let maximumStatements = 100_000

    struct Statement {
        var count = 0
        var totalMs = 0.0
    }

    struct Request {
        var route: String
        var lastSeen: Date
        var statements: [String: Statement] = [:]
    }

    private struct State {
        var requests: [String: Request] = [:]
        var statements = 0
    }

    private let state = Mutex(State())

    public init(threshold: Int = 5, window: Duration = .seconds(900), maximumRequests: Int = 50_000) {
        self.threshold = threshold
        self.window = window
        self.maximumRequests = maximumRequests
    }

    /// The first event of `events` the shared event contract refuses (``MetricEvent/problem``, the check the
    /// API made before sending it), as `events[3].durationMs: ...`; `nil` when all are fine.
    public static func problem(in events: [MetricEvent]) -> String? {
        for (index, event) in events.enumerated() {
            if let problem = event.problem { return "events[\(index)].\(problem)" }
        }
        return nil
    }

    /// Takes the query events among `events`; those without a request id cannot be told apart and are skipped. A
    /// timestamp in the future counts as now, so no request outlives the window.
    public func record(_ events: [MetricEvent], now: Date = Date()) {
        let queries = events.compactMap { event -> DatabaseQueryEvent? in
            guard case .databaseQuery(let query) = event, let id = query.requestId, !id.isEmpty else { return nil }
            return query
        }
        guard !queries.isEmpty else { return }
        let folded = queries.map { StatementFingerprint.normalize($0.fingerprint) }
        let limit = maximumRequests
        let statementsLimit = maximumStatementsPerRequest
        let totalLimit = maximumStatements
        state.withLock { state in
            for (query, fingerprint) in zip(queries, folded) {
                let id = String(query.requestId!.prefix(128))
                let seen = min(query.timestamp, now)
                var request =
                    state.requests[id] ?? Request(route: String((query.route ?? "unknown").prefix(256)), lastSeen: seen)
                request.lastSeen = max(request.lastSeen, seen)
                if request.statements[fingerprint] == nil {
                    guard request.statements.count < statementsLimit else {
                        state.requests[id] = request
                        continue
                    }
                    state.statements += 1
                }
                request.statements[fingerprint, default: Statement()].count += 1
                request.statements[fingerprint, default: Statement()].totalMs += max(query.durationMs, 0)
                state.requests[id] = request
            }
            // Over a bound by a tenth: the oldest requests go, down to nine tenths of it.
            if state.requests.count > limit + limit / 10 || state.statements > totalLimit + totalLimit / 10 {
                var kept: [String: Request] = [:]
                var statements = 0
                for (id, request) in state.requests.sorted(by: { $0.value.lastSeen > $1.value.lastSeen }) {
                    guard kept.count < limit - limit / 10,
                        statements + request.statements.count <= totalLimit - totalLimit / 10
                    else { break }
                    kept[id] = request
                    statements += request.statements.count
                }
                state.requests = kept
                state.statements = statements
            }
        }
    }

    /// The N+1s of the last ``window`` before `now`, grouped by route and statement, most time spent first.
    public func report(now: Date = Date()) -> NPlusOneReport {
        let cutoff = now.addingTimeInterval(-Double(window / .milliseconds(1)) / 1000)
        let threshold = self.threshold
        let (seen, flagged, groups) = state.withLock { state -> (Int, Int, [String: NPlusOnePattern]) in
            state.requests = state.requests.filter { $0.value.lastSeen >= cutoff }
            state.statements = state.requests.values.reduce(0) { $0 + $1.statements.count }
            let requests = state.requests
            var flagged = 0
            var groups: [String: NPlusOnePattern] = [:]
            for (id, request) in requests {
                var repeated = false
                for (fingerprint, statement) in request.statements where statement.count >= threshold {
                    repeated = true
                    let key = request.route + "\u{0}" + fingerprint
                    var pattern =
                        groups[key]
                        ?? NPlusOnePattern(
                            route: request.route,
                            fingerprint: fingerprint,
                            requests: 0,
                            executions: 0,
                            maximumPerRequest: 0,
                            totalTimeMs: 0,
                            meanTimePerRequestMs: 0,
                            exampleRequestId: id,
                            lastSeen: request.lastSeen,
                            batchedForm: ""
                        )
                    pattern.requests += 1
                    pattern.executions += statement.count
                    pattern.totalTimeMs += statement.totalMs
                    if statement.count > pattern.maximumPerRequest {
                        pattern.maximumPerRequest = statement.count
                        pattern.exampleRequestId = id
                    }
                    pattern.lastSeen = max(pattern.lastSeen, request.lastSeen)
                    groups[key] = pattern
                }
                if repeated { flagged += 1 }
            }
            return (requests.count, flagged, groups)
        }
        let patterns = groups.values.map { pattern -> NPlusOnePattern in
            var pattern = pattern
            pattern.meanTimePerRequestMs = pattern.totalTimeMs / Double(pattern.requests)
            pattern.batchedForm = StatementFingerprint.batchedForm(of: pattern.fingerprint)
            return pattern
        }.sorted {
            $0.totalTimeMs != $1.totalTimeMs ? $0.totalTimeMs > $1.totalTimeMs : $0.fingerprint < $1.fingerprint
        }
        return NPlusOneReport(
            threshold: threshold,
            windowSeconds: Int(saturating: window / .seconds(1)),
            requestsSeen: seen,
            requestsFlagged: flagged,
            patterns: patterns
        )
    }
}
