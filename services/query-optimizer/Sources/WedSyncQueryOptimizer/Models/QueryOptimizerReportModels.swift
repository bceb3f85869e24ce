import Foundation
import WedSyncModels

/// A statement a request ran again and again (an N+1), grouped over the requests of one route.
public struct NPlusOnePattern: Codable, Sendable, Equatable {
    /// The route template the requests served.
    public var route: String
    /// The repeated statement, constants as `?` and parameters as `$n`.
    public var fingerprint: String
    /// Requests that ran it at least the threshold's times.
    public var requests: Int
    /// Its executions in those requests.
    public var executions: Int
    /// The most times one request ran it.
    public var maximumPerRequest: Int
    /// Time spent in it across those requests, and per request on average.
    public var totalTimeMs: Double
    public var meanTimePerRequestMs: Double
    /// One request that did it, to find in the logs.
    public var exampleRequestId: String
    public var lastSeen: Date
    /// The one statement to run instead.
    public var batchedForm: String

    public init(
        route: String,
        fingerprint: String,
        requests: Int,
        executions: Int,
        maximumPerRequest: Int,
        totalTimeMs: Double,
        meanTimePerRequestMs: Double,
        exampleRequestId: String,
        lastSeen: Date,
        batchedForm: String
    ) {
        self.route = route
        self.fingerprint = fingerprint
        self.requests = requests
        self.executions = executions
        self.maximumPerRequest = maximumPerRequest
        self.totalTimeMs = totalTimeMs
        self.meanTimePerRequestMs = meanTimePerRequestMs
        self.exampleRequestId = exampleRequestId
        self.lastSeen = lastSeen
        self.batchedForm = batchedForm
    }
}

/// `GET /v1/n-plus-one`: the requests of the window that ran one statement `threshold` times or more.
public struct NPlusOneReport: Codable, Sendable, Equatable {
    public var threshold: Int
    public var windowSeconds: Int
    /// Requests whose statements were reported in the window.
    public var requestsSeen: Int
    /// Those that ran a statement at least `threshold` times.
    public var requestsFlagged: Int
    /// Most time spent first.
    public var patterns: [NPlusOnePattern]

    public init(
        threshold: Int,
        windowSeconds: Int,
        requestsSeen: Int,
        requestsFlagged: Int,
        patterns: [NPlusOnePattern]
    ) {
        self.threshold = threshold
        self.windowSeconds = windowSeconds
        self.requestsSeen = requestsSeen
        self.requestsFlagged = requestsFlagged
        self.patterns = patterns
    }
}

/// One statement of `pg_stat_statements` (top-level statements of the configured database).
public struct WorkloadStatement: Codable, Sendable, Equatable {
    /// `pg_stat_statements.queryid`, as text.
    public var queryId: String
    /// The text PostgreSQL keeps (its constants as `$n`), with any constant it kept folded to `?` and whitespace
    /// made single spaces.
    public var query: String
    public var calls: Int
    public var totalTimeMs: Double
    public var meanTimeMs: Double
    public var rows: Int
    /// Its share of the workload's total execution time, 0 to 1.
    public var shareOfTotalTime: Double
    /// Shared buffer hits over hits and reads; `nil` when it read no blocks.
    public var cacheHitRatio: Double?

    public init(
        queryId: String,
        query: String,
        calls: Int,
        totalTimeMs: Double,
        meanTimeMs: Double,
        rows: Int,
        shareOfTotalTime: Double,
        cacheHitRatio: Double?
    ) {
        self.queryId = queryId
        self.query = query
        self.calls = calls
        self.totalTimeMs = totalTimeMs
        self.meanTimeMs = meanTimeMs
        self.rows = rows
        self.shareOfTotalTime = shareOfTotalTime
        self.cacheHitRatio = cacheHitRatio
    }
}

/// An index proven on the whole workload: the planner's cost of each statement it serves, without and with it.
public struct WorkloadRecommendation: Codable, Sendable, Equatable {
    public struct Served: Codable, Sendable, Equatable {
        public var queryId: String
        public var costBefore: Double
        public var costAfter: Double

        public init(queryId: String, costBefore: Double, costAfter: Double) {
            self.queryId = queryId
            self.costBefore = costBefore
            self.costAfter = costAfter
        }
    }

    /// The table's schema (the workload's statements are planned with `VERBOSE`, which names it).
    public var schema: String?
    public var table: String
    public var columns: [String]
    public var predicate: String?
    /// The share of the workload's execution time the index is expected to save (each statement's cost cut
    /// weighed by its share of the time), 0 to 1.
    public var workloadImprovement: Double
    public var estimatedSizeBytes: Int
    public var createStatement: String
    /// The statements whose cost it cuts, most time first.
    public var served: [Served]

    public init(
        schema: String? = nil,
        table: String,
        columns: [String],
        predicate: String?,
        workloadImprovement: Double,
        estimatedSizeBytes: Int,
        createStatement: String,
        served: [Served]
    ) {
        self.schema = schema
        self.table = table
        self.columns = columns
        self.predicate = predicate
        self.workloadImprovement = workloadImprovement
        self.estimatedSizeBytes = estimatedSizeBytes
        self.createStatement = createStatement
        self.served = served
    }
}

/// `GET /v1/workload`: the top statements of `pg_stat_statements` and the indexes that would serve them best.
public struct WorkloadReport: Codable, Sendable, Equatable {
    /// Statements `pg_stat_statements` holds for the database, and their total execution time.
    public var statements: Int
    public var totalTimeMs: Double
    public var topByTotalTime: [WorkloadStatement]
    public var topByMeanTime: [WorkloadStatement]
    public var topByCalls: [WorkloadStatement]
    /// Statements planned for the recommendations, and those that could not be (a parameter's type unknown, a plan
    /// past the statement timeout, a statement PostgreSQL refused).
    public var planned: Int
    public var unplannable: Int
    /// Chosen greedily: each the one that saves the most of what the ones before it left.
    public var recommendations: [WorkloadRecommendation]

    public init(
        statements: Int,
        totalTimeMs: Double,
        topByTotalTime: [WorkloadStatement],
        topByMeanTime: [WorkloadStatement],
        topByCalls: [WorkloadStatement],
        planned: Int,
        unplannable: Int,
        recommendations: [WorkloadRecommendation]
    ) {
        self.statements = statements
        self.totalTimeMs = totalTimeMs
        self.topByTotalTime = topByTotalTime
        self.topByMeanTime = topByMeanTime
        self.topByCalls = topByCalls
        self.planned = planned
        self.unplannable = unplannable
        self.recommendations = recommendations
    }
}

/// An index and how much it is used.
public struct IndexUsage: Codable, Sendable, Equatable {
    public var table: String
    public var index: String
    public var sizeBytes: Int
    /// Scans since the statistics were reset.
    public var scans: Int
    /// `pg_get_indexdef`.
    public var definition: String

    public init(table: String, index: String, sizeBytes: Int, scans: Int, definition: String) {
        self.table = table
        self.index = index
        self.sizeBytes = sizeBytes
        self.scans = scans
        self.definition = definition
    }
}

/// An index another one makes needless: the same key columns (`duplicate`), or its columns leading the other's
/// (`prefix`).
public struct RedundantIndex: Codable, Sendable, Equatable {
    public var table: String
    public var index: String
    public var coveredBy: String
    /// `duplicate` or `prefix`.
    public var reason: String
    public var sizeBytes: Int
    public var dropStatement: String

    public init(table: String, index: String, coveredBy: String, reason: String, sizeBytes: Int, dropStatement: String)
    {
        self.table = table
        self.index = index
        self.coveredBy = coveredBy
        self.reason = reason
        self.sizeBytes = sizeBytes
        self.dropStatement = dropStatement
    }
}

/// `GET /v1/indexes`.
public struct IndexHealthReport: Codable, Sendable, Equatable {
    /// When the database's statistics were last reset: "unused" means since then.
    public var statisticsSince: Date?
    /// Never scanned, not enforcing a constraint; largest first.
    public var unused: [IndexUsage]
    public var redundant: [RedundantIndex]
    /// Shared buffer hits over hits and reads of every index; `nil` before any read.
    public var indexCacheHitRatio: Double?

    public init(statisticsSince: Date?, unused: [IndexUsage], redundant: [RedundantIndex], indexCacheHitRatio: Double?)
    {
        self.statisticsSince = statisticsSince
        self.unused = unused
        self.redundant = redundant
        self.indexCacheHitRatio = indexCacheHitRatio
    }
}

/// One table's scans, cache use and estimated bloat.
public struct TableHealth: Codable, Sendable, Equatable {
    public var table: String
    public var rows: Int
    public var sizeBytes: Int
    public var sequentialScans: Int
    public var indexScans: Int
    /// Rows read by sequential scans since the statistics reset.
    public var rowsReadSequentially: Int
    /// Sequential scans over all scans, 0 to 1.
    public var sequentialScanShare: Double
    /// Heap block hits over hits and reads; `nil` before any read.
    public var cacheHitRatio: Double?
    public var deadRows: Int
    /// The table's size beyond what its live rows need at its fill factor (from `pg_stats` widths).
    public var estimatedBloatBytes: Int
    public var bloatShare: Double
    public var lastVacuum: Date?
    /// Findings on it: `sequential_scans_dominate`, `bloated`, `low_cache_hit_ratio`.
    public var findings: [String]

    public init(
        table: String,
        rows: Int,
        sizeBytes: Int,
        sequentialScans: Int,
        indexScans: Int,
        rowsReadSequentially: Int,
        sequentialScanShare: Double,
        cacheHitRatio: Double?,
        deadRows: Int,
        estimatedBloatBytes: Int,
        bloatShare: Double,
        lastVacuum: Date?,
        findings: [String]
    ) {
        self.table = table
        self.rows = rows
        self.sizeBytes = sizeBytes
        self.sequentialScans = sequentialScans
        self.indexScans = indexScans
        self.rowsReadSequentially = rowsReadSequentially
        self.sequentialScanShare = sequentialScanShare
        self.cacheHitRatio = cacheHitRatio
        self.deadRows = deadRows
        self.estimatedBloatBytes = estimatedBloatBytes
        self.bloatShare = bloatShare
        self.lastVacuum = lastVacuum
        self.findings = findings
    }
}

/// `GET /v1/tables`.
public struct TableHealthReport: Codable, Sendable, Equatable {
    /// Heap block hits over hits and reads of every table; `nil` before any read.
    public var tableCacheHitRatio: Double?
    /// Largest first.
    public var tables: [TableHealth]

    public init(tableCacheHitRatio: Double?, tables: [TableHealth]) {
        self.tableCacheHitRatio = tableCacheHitRatio
        self.tables = tables
    }
}

/// A server process of the database, as `pg_stat_activity` shows it (its statement with constants as `?`).
public struct DatabaseSession: Codable, Sendable, Equatable {
    public var pid: Int
    public var state: String
    public var applicationName: String
    /// How long its transaction has been open, in seconds.
    public var transactionSeconds: Double?
    public var waitEventType: String?
    public var waitEvent: String?
    public var query: String

    public init(
        pid: Int,
        state: String,
        applicationName: String,
        transactionSeconds: Double?,
        waitEventType: String?,
        waitEvent: String?,
        query: String
    ) {
        self.pid = pid
        self.state = state
        self.applicationName = applicationName
        self.transactionSeconds = transactionSeconds
        self.waitEventType = waitEventType
        self.waitEvent = waitEvent
        self.query = query
    }
}

/// One service's connection pool, from its `/metrics`.
public struct ServicePoolHealth: Codable, Sendable, Equatable {
    public var service: String
    public var pool: String
    /// Whether the service answered; the figures are zero when it did not.
    public var up: Bool
    public var inUse: Double
    public var idle: Double
    public var maximum: Double
    public var waiting: Double
    public var acquireTimeouts: Double
    public var acquireP99Ms: Double?

    public init(
        service: String,
        pool: String,
        up: Bool,
        inUse: Double,
        idle: Double,
        maximum: Double,
        waiting: Double,
        acquireTimeouts: Double,
        acquireP99Ms: Double?
    ) {
        self.service = service
        self.pool = pool
        self.up = up
        self.inUse = inUse
        self.idle = idle
        self.maximum = maximum
        self.waiting = waiting
        self.acquireTimeouts = acquireTimeouts
        self.acquireP99Ms = acquireP99Ms
    }
}

/// Whether the pools, the database or neither holds requests back.
public struct BottleneckVerdict: Codable, Sendable, Equatable {
    /// `pool`, `database` or `none`.
    public var bottleneck: String
    public var reasons: [String]

    public init(bottleneck: String, reasons: [String]) {
        self.bottleneck = bottleneck
        self.reasons = reasons
    }
}

/// `GET /v1/connections`.
public struct ConnectionHealthReport: Codable, Sendable, Equatable {
    public var maxConnections: Int
    /// Connections to the server, all databases.
    public var connections: Int
    /// This database's client connections by state (`active`, `idle`, `idle in transaction`...).
    public var byState: [String: Int]
    /// Sessions waiting on a lock.
    public var waiting: [DatabaseSession]
    /// Transactions open longer than the configured limit, longest first.
    public var longTransactions: [DatabaseSession]
    public var pools: [ServicePoolHealth]
    public var verdict: BottleneckVerdict

    public init(
        maxConnections: Int,
        connections: Int,
        byState: [String: Int],
        waiting: [DatabaseSession],
        longTransactions: [DatabaseSession],
        pools: [ServicePoolHealth],
        verdict: BottleneckVerdict
    ) {
        self.maxConnections = maxConnections
        self.connections = connections
        self.byState = byState
        self.waiting = waiting
        self.longTransactions = longTransactions
        self.pools = pools
        self.verdict = verdict
    }
}

/// One line of the report's summary: something to act on, from any section.
public struct ReportFinding: Codable, Sendable, Equatable {
    /// `n_plus_one`, `workload_index`, `unused_index`, `redundant_index`, `sequential_scans_dominate`, `bloated_table`,
    /// `low_cache_hit_ratio`, `lock_waits`, `long_transaction`, `pool_bottleneck`, `database_bottleneck`.
    public var kind: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// What it is about: a table, an index, a route.
    public var subject: String
    public var message: String

    public init(kind: String, severity: String, subject: String, message: String) {
        self.kind = kind
        self.severity = severity
        self.subject = subject
        self.message = message
    }
}

/// `GET /v1/report`: every analysis of the configured database at once.
public struct OptimizerReport: Codable, Sendable, Equatable {
    public var generatedAt: Date
    /// The database's name (never its URL).
    public var database: String
    /// Most severe first.
    public var findings: [ReportFinding]
    public var workload: WorkloadReport?
    public var nPlusOne: NPlusOneReport
    public var indexes: IndexHealthReport?
    public var tables: TableHealthReport?
    public var connections: ConnectionHealthReport?
    /// Statements captured slower than `optimizer.slow-statement-ms`, with their plans.
    public var slowStatements: SlowStatementsReport?
    /// Sections that could not be made, and why.
    public var errors: [String: String]

    public init(
        generatedAt: Date,
        database: String,
        findings: [ReportFinding],
        workload: WorkloadReport?,
        nPlusOne: NPlusOneReport,
        indexes: IndexHealthReport?,
        tables: TableHealthReport?,
        connections: ConnectionHealthReport?,
        slowStatements: SlowStatementsReport? = nil,
        errors: [String: String]
    ) {
        self.generatedAt = generatedAt
        self.database = database
        self.findings = findings
        self.workload = workload
        self.nPlusOne = nPlusOne
        self.indexes = indexes
        self.tables = tables
        self.connections = connections
        self.slowStatements = slowStatements
        self.errors = errors
    }
}

extension NPlusOnePattern: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "fingerprint": .string(), "requests": .integer(), "executions": .integer(),
                "maximumPerRequest": .integer(),
                "totalTimeMs": .number, "meanTimePerRequestMs": .number, "exampleRequestId": .string(),
                "lastSeen": .string(format: "date-time"),
                "batchedForm": .string(),
            ],
            required: [
                "route", "fingerprint", "requests", "executions", "maximumPerRequest", "totalTimeMs",
                "meanTimePerRequestMs", "exampleRequestId", "lastSeen", "batchedForm",
            ]
        )
    }
}

extension NPlusOneReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "threshold": .integer(), "windowSeconds": .integer(), "requestsSeen": .integer(),
                "requestsFlagged": .integer(),
                "patterns": .array(.reference(NPlusOnePattern.openAPIName)),
            ],
            required: ["threshold", "windowSeconds", "requestsSeen", "requestsFlagged", "patterns"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [NPlusOnePattern.self] }
}

extension WorkloadStatement: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "queryId": .string(), "query": .string(), "calls": .integer(), "totalTimeMs": .number,
                "meanTimeMs": .number, "rows": .integer(),
                "shareOfTotalTime": .number, "cacheHitRatio": .number,
            ],
            required: ["queryId", "query", "calls", "totalTimeMs", "meanTimeMs", "rows", "shareOfTotalTime"]
        )
    }
}

extension WorkloadRecommendation: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let served = JSONSchema.object(
            ["queryId": .string(), "costBefore": .number, "costAfter": .number],
            required: ["queryId", "costBefore", "costAfter"]
        )
        return .object(
            [
                "schema": .string(), "table": .string(), "columns": .array(.string()), "predicate": .string(),
                "workloadImprovement": .number, "estimatedSizeBytes": .integer(),
                "createStatement": .string(), "served": .array(served),
            ],
            required: ["table", "columns", "workloadImprovement", "estimatedSizeBytes", "createStatement", "served"]
        )
    }
}

extension WorkloadReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let statements = JSONSchema.array(.reference(WorkloadStatement.openAPIName))
        return .object(
            [
                "statements": .integer(), "totalTimeMs": .number, "topByTotalTime": statements,
                "topByMeanTime": statements, "topByCalls": statements,
                "planned": .integer(), "unplannable": .integer(),
                "recommendations": .array(.reference(WorkloadRecommendation.openAPIName)),
            ],
            required: [
                "statements", "totalTimeMs", "topByTotalTime", "topByMeanTime", "topByCalls", "planned", "unplannable",
                "recommendations",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [WorkloadStatement.self, WorkloadRecommendation.self]
    }
}

extension IndexHealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let usage = JSONSchema.object(
            [
                "table": .string(), "index": .string(), "sizeBytes": .integer(), "scans": .integer(),
                "definition": .string(),
            ],
            required: ["table", "index", "sizeBytes", "scans", "definition"]
        )
        let redundant = JSONSchema.object(
            [
                "table": .string(), "index": .string(), "coveredBy": .string(),
                "reason": .string(enumeration: ["duplicate", "prefix"]),
                "sizeBytes": .integer(), "dropStatement": .string(),
            ],
            required: ["table", "index", "coveredBy", "reason", "sizeBytes", "dropStatement"]
        )
        return .object(
            [
                "statisticsSince": .string(format: "date-time"), "unused": .array(usage),
                "redundant": .array(redundant), "indexCacheHitRatio": .number,
            ],
            required: ["unused", "redundant"]
        )
    }
}

extension TableHealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let table = JSONSchema.object(
            [
                "table": .string(), "rows": .integer(), "sizeBytes": .integer(), "sequentialScans": .integer(),
                "indexScans": .integer(),
                "rowsReadSequentially": .integer(), "sequentialScanShare": .number, "cacheHitRatio": .number,
                "deadRows": .integer(),
                "estimatedBloatBytes": .integer(), "bloatShare": .number, "lastVacuum": .string(format: "date-time"),
                "findings": .array(
                    .string(enumeration: ["sequential_scans_dominate", "bloated", "low_cache_hit_ratio"])
                ),
            ],
            required: [
                "table", "rows", "sizeBytes", "sequentialScans", "indexScans", "sequentialScanShare", "deadRows",
                "estimatedBloatBytes", "bloatShare", "findings",
            ]
        )
        return .object(["tableCacheHitRatio": .number, "tables": .array(table)], required: ["tables"])
    }
}

extension ConnectionHealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let session = JSONSchema.object(
            [
                "pid": .integer(), "state": .string(), "applicationName": .string(), "transactionSeconds": .number,
                "waitEventType": .string(),
                "waitEvent": .string(), "query": .string(),
            ],
            required: ["pid", "state", "applicationName", "query"]
        )
        let pool = JSONSchema.object(
            [
                "service": .string(), "pool": .string(), "up": .boolean, "inUse": .number, "idle": .number,
                "maximum": .number, "waiting": .number,
                "acquireTimeouts": .number, "acquireP99Ms": .number,
            ],
            required: ["service", "pool", "up", "inUse", "idle", "maximum", "waiting", "acquireTimeouts"]
        )
        let verdict = JSONSchema.object(
            ["bottleneck": .string(enumeration: ["pool", "database", "none"]), "reasons": .array(.string())],
            required: ["bottleneck", "reasons"]
        )
        return .object(
            [
                "maxConnections": .integer(), "connections": .integer(), "byState": .map(.integer()),
                "waiting": .array(session),
                "longTransactions": .array(session), "pools": .array(pool), "verdict": verdict,
            ],
            required: ["maxConnections", "connections", "byState", "waiting", "longTransactions", "pools", "verdict"]
        )
    }
}

extension OptimizerReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let finding = JSONSchema.object(
            [
                "kind": .string(), "severity": .string(enumeration: ["info", "warning", "critical"]),
                "subject": .string(), "message": .string(),
            ],
            required: ["kind", "severity", "subject", "message"]
        )
        return .object(
            [
                "generatedAt": .string(format: "date-time"), "database": .string(), "findings": .array(finding),
                "workload": .reference(WorkloadReport.openAPIName), "nPlusOne": .reference(NPlusOneReport.openAPIName),
                "indexes": .reference(IndexHealthReport.openAPIName),
                "tables": .reference(TableHealthReport.openAPIName),
                "connections": .reference(ConnectionHealthReport.openAPIName),
                "slowStatements": .reference(SlowStatementsReport.openAPIName), "errors": .map(.string()),
            ],
            required: ["generatedAt", "database", "findings", "nPlusOne", "errors"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [
            WorkloadReport.self, NPlusOneReport.self, IndexHealthReport.self, TableHealthReport.self,
            ConnectionHealthReport.self, SlowStatementsReport.self,
        ]
    }
}
