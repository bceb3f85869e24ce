import WedSyncModels
import WedSyncServiceKit

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
                "table": .string(), "columns": .array(.string()), "predicate": .string(),
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
                "connections": .reference(ConnectionHealthReport.openAPIName), "errors": .map(.string()),
            ],
            required: ["generatedAt", "database", "findings", "nPlusOne", "errors"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [
            WorkloadReport.self, NPlusOneReport.self, IndexHealthReport.self, TableHealthReport.self,
            ConnectionHealthReport.self,
        ]
    }
}
