import Foundation
import WedSyncModels

/// A statement that ran slower than `optimizer.slow-statement-ms`, with its generic plan captured when it was
/// first seen, and the plan's findings.
public struct SlowStatement: Codable, Sendable, Equatable {
    /// The statement's text as a query event names it (whitespace folded): what both sources are matched by.
    public var fingerprint: String
    /// The text shown, any constant folded to `?`.
    public var query: String
    /// `pg_stat_statements`' identifier: what a statement is kept by.
    public var queryId: String?
    /// Where it was seen slow first: `pg_stat_statements` or `query_events` (the API's).
    public var source: String
    /// Its slowest run, its mean and its calls, as last read.
    public var maxTimeMs: Double
    public var meanTimeMs: Double?
    public var calls: Int?
    public var capturedAt: Date
    /// The generic plan (`EXPLAIN (VERBOSE)` of the statement prepared, its parameters unknown), and its cost;
    /// `nil` with `unplannable` saying why (a parameter of unknown type).
    public var plan: PlanNode?
    public var totalCost: Double?
    public var findings: [PlanFinding]
    public var unplannable: String?

    public init(
        fingerprint: String,
        query: String,
        queryId: String?,
        source: String,
        maxTimeMs: Double,
        meanTimeMs: Double?,
        calls: Int?,
        capturedAt: Date,
        plan: PlanNode?,
        totalCost: Double?,
        findings: [PlanFinding],
        unplannable: String?
    ) {
        self.fingerprint = fingerprint
        self.query = query
        self.queryId = queryId
        self.source = source
        self.maxTimeMs = maxTimeMs
        self.meanTimeMs = meanTimeMs
        self.calls = calls
        self.capturedAt = capturedAt
        self.plan = plan
        self.totalCost = totalCost
        self.findings = findings
        self.unplannable = unplannable
    }
}

/// `GET /v1/slow-statements`: the statements captured, slowest first.
public struct SlowStatementsReport: Codable, Sendable, Equatable {
    public var thresholdMs: Double
    public var statements: [SlowStatement]

    public init(thresholdMs: Double, statements: [SlowStatement]) {
        self.thresholdMs = thresholdMs
        self.statements = statements
    }
}

extension SlowStatement: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "fingerprint": .string(), "query": .string(), "queryId": .string(),
                "source": .string(enumeration: ["pg_stat_statements", "query_events"]), "maxTimeMs": .number,
                "meanTimeMs": .number, "calls": .integer(), "capturedAt": .string(format: "date-time"),
                "plan": .reference(PlanNode.openAPIName), "totalCost": .number,
                "findings": .array(.reference(PlanFinding.openAPIName)), "unplannable": .string(),
            ],
            required: ["fingerprint", "query", "source", "maxTimeMs", "capturedAt", "findings"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [PlanNode.self, PlanFinding.self] }
}

extension SlowStatementsReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["thresholdMs": .number, "statements": .array(.reference(SlowStatement.openAPIName))],
            required: ["thresholdMs", "statements"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [SlowStatement.self] }
}
