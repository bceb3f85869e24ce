import Foundation
import WedSyncModels
import WedSyncServiceKit

/// `POST /v1/recommendations/apply`: an index to build, described by its parts (never as DDL): the table, its
/// key columns with their operator classes, `INCLUDE` columns, a partial index's predicate (`column = constant`
/// terms joined by AND), and the statements it is for, planned before and after.
public struct ApplyRequest: Codable, Sendable, Equatable {
    public var schema: String
    public var table: String
    public var columns: [String]
    /// Key column → operator class: `text_pattern_ops` or `varchar_pattern_ops`.
    public var operatorClasses: [String: String]?
    public var include: [String]?
    public var predicate: String?
    public var unique: Bool?
    /// Statements (with their parameters) whose plans should use the index: planned before and after the build.
    public var statements: [Statement]?
    /// How long the build may wait for a lock (default 5,000 ms): a build behind a long transaction gives up
    /// rather than stall the writers queued behind it.
    public var lockTimeoutMs: Double?
    /// How long the build may take (default 3,600,000 ms).
    public var statementTimeoutMs: Double?

    public struct Statement: Codable, Sendable, Equatable {
        public var sql: String
        public var params: [JSONValue]?

        public init(sql: String, params: [JSONValue]? = nil) {
            self.sql = sql
            self.params = params
        }
    }

    public init(
        schema: String,
        table: String,
        columns: [String],
        operatorClasses: [String: String]? = nil,
        include: [String]? = nil,
        predicate: String? = nil,
        unique: Bool? = nil,
        statements: [Statement]? = nil,
        lockTimeoutMs: Double? = nil,
        statementTimeoutMs: Double? = nil
    ) {
        self.schema = schema
        self.table = table
        self.columns = columns
        self.operatorClasses = operatorClasses
        self.include = include
        self.predicate = predicate
        self.unique = unique
        self.statements = statements
        self.lockTimeoutMs = lockTimeoutMs
        self.statementTimeoutMs = statementTimeoutMs
    }
}

/// An index build and what came of it (`GET /v1/jobs/{id}`).
public struct ApplyJob: Codable, Sendable, Equatable {
    public var id: String
    /// `building`, `replanning`, `done` or `failed`.
    public var state: String
    public var createStatement: String
    public var startedAt: Date
    public var finishedAt: Date?
    /// `pg_stat_progress_create_index` as last read: the phase and its counters.
    public var phase: String?
    public var blocksDone: Int?
    public var blocksTotal: Int?
    public var tuplesDone: Int?
    public var tuplesTotal: Int?
    /// Every phase seen, in order.
    public var phasesSeen: [String]
    /// The failure's SQLSTATE and condition, and whether an invalid index it left was dropped.
    public var error: String?
    public var sqlState: String?
    public var invalidIndexDropped: Bool?
    /// The statements given, planned before the build and after it.
    public var statements: [Planned]

    public struct Planned: Codable, Sendable, Equatable {
        public var sql: String
        public var costBefore: Double
        public var costAfter: Double?
        /// Whether the plan after the build reads the new index.
        public var usesIndex: Bool?

        public init(sql: String, costBefore: Double, costAfter: Double? = nil, usesIndex: Bool? = nil) {
            self.sql = sql
            self.costBefore = costBefore
            self.costAfter = costAfter
            self.usesIndex = usesIndex
        }
    }

    public init(id: String, createStatement: String, startedAt: Date, statements: [Planned]) {
        self.id = id
        self.state = "building"
        self.createStatement = createStatement
        self.startedAt = startedAt
        self.phasesSeen = []
        self.statements = statements
    }
}

extension ApplyRequest: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let name = TextRule(1...63).schema
        let statement = JSONSchema.object(
            [
                "sql": AnalyzeRequest.sqlRule.schema,
                "params": .nullable(
                    .array(
                        .oneOf([
                            AnalyzeRequest.parameterRule.schema, .number, .boolean,
                            .constrained(.any, ["type": "null"]),
                        ]),
                        count: 0...1_000
                    )
                ),
            ],
            required: ["sql"]
        )
        return .object(
            [
                "schema": name, "table": name, "columns": .array(name, count: 1...32),
                "operatorClasses": .nullable(.map(.string(enumeration: IndexApplier.operatorClasses.sorted()))),
                "include": .nullable(.array(name, count: 0...32)),
                "predicate": .described(
                    .nullable(TextRule(1...1_000).schema),
                    "`column = constant` terms joined by AND"
                ),
                "unique": .nullable(.boolean),
                "statements": .nullable(.array(statement, count: 0...20)),
                "lockTimeoutMs": .nullable(.number(in: 1...600_000)),
                "statementTimeoutMs": .nullable(.number(in: 1...86_400_000)),
            ],
            required: ["schema", "table", "columns"]
        )
    }
}

extension ApplyJob: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let planned = JSONSchema.object(
            ["sql": .string(), "costBefore": .number, "costAfter": .number, "usesIndex": .boolean],
            required: ["sql", "costBefore"]
        )
        return .object(
            [
                "id": .string(), "state": .string(enumeration: ["building", "replanning", "done", "failed"]),
                "createStatement": .string(), "startedAt": .string(format: "date-time"),
                "finishedAt": .string(format: "date-time"), "phase": .string(), "blocksDone": .integer(),
                "blocksTotal": .integer(), "tuplesDone": .integer(), "tuplesTotal": .integer(),
                "phasesSeen": .array(.string()), "error": .string(), "sqlState": .string(),
                "invalidIndexDropped": .boolean, "statements": .array(planned),
            ],
            required: ["id", "state", "createStatement", "startedAt", "phasesSeen", "statements"]
        )
    }
}
