import Foundation
import WedSyncModels
import WedSyncServiceKit

/// `POST /v1/analyze`: a statement to explain, with its parameters.
public struct AnalyzeRequest: Codable, Sendable, Equatable {
    public var sql: String
    /// The `$1`, `$2`... values: strings, numbers, booleans or null.
    public var params: [JSONValue]?
    /// `false`: plain `EXPLAIN` (estimates only, nothing runs), for statements too costly to run. Default true.
    public var analyze: Bool?
    /// Explain-analyze a write (it runs, inside a transaction that is rolled back). Needs the admin token.
    public var allowWrite: Bool?
    /// Try hypothetical indexes and recommend those that cut the cost. Default true.
    public var recommend: Bool?
    /// A statement timeout for this statement, shorter than the service's (`optimizer.statement-timeout-ms`).
    public var timeoutMs: Double?
    /// The schemas the statement's unqualified names are looked up in, in order (`SET search_path`), for a
    /// statement written for another schema's tables. Default: the optimizer role's own search path.
    public var searchPath: [String]?

    public init(
        sql: String,
        params: [JSONValue]? = nil,
        analyze: Bool? = nil,
        allowWrite: Bool? = nil,
        recommend: Bool? = nil,
        timeoutMs: Double? = nil,
        searchPath: [String]? = nil
    ) {
        self.sql = sql
        self.params = params
        self.analyze = analyze
        self.allowWrite = allowWrite
        self.recommend = recommend
        self.timeoutMs = timeoutMs
        self.searchPath = searchPath
    }
}

extension JSONValue {
    /// A parameter's value in PostgreSQL's text format; `nil` for null. Only scalars are parameters (the route
    /// refuses arrays and objects); their JSON text stands in for them.
    var postgresText: String? {
        switch self {
        case .string(let value): value
        case .number(let value): value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): value ? "t" : "f"
        case .null: nil
        case .array, .object: (try? WedSyncJSON.makeEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Whether it is a string, a number, a boolean or null: what a statement's parameter may be.
    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }
}

/// One node of a plan, as PostgreSQL's `EXPLAIN (FORMAT JSON)` gives it, with the fields findings use.
public struct PlanNode: Codable, Sendable, Equatable {
    public var nodeType: String
    /// The table a scan reads, and its schema (with `VERBOSE`).
    public var relation: String?
    public var schema: String?
    /// The name the plan's expressions qualify this table's columns with: the statement's alias, made unique
    /// across the statement (`c`, `c_1`).
    public var alias: String?
    /// How the node feeds its parent: `Outer`, `Inner`, `SubPlan`, `InitPlan`, `Subquery`, `Member`.
    public var parentRelationship: String?
    /// A subplan's name (`SubPlan 1`, `CTE totals`), which the parent's expressions refer to.
    public var subplanName: String?
    /// The common table expression a `CTE Scan` reads.
    public var cteName: String?
    public var indexName: String?
    public var joinType: String?
    public var startupCost: Double
    public var totalCost: Double
    public var planRows: Double
    /// Per loop, as PostgreSQL counts them (with ANALYZE).
    public var actualRows: Double?
    public var actualLoops: Double?
    public var actualTotalTimeMs: Double?
    public var filter: String?
    public var rowsRemovedByFilter: Double?
    public var indexCondition: String?
    public var joinCondition: String?
    public var sortKey: [String]?
    /// An aggregate's grouping columns (`Group Key`).
    public var groupKey: [String]?
    public var sortMethod: String?
    public var sortSpaceType: String?
    public var hashBatches: Double?
    public var sharedHitBlocks: Double?
    public var sharedReadBlocks: Double?
    public var tempWrittenBlocks: Double?
    /// The columns and expressions the node returns (with `VERBOSE`): `c.id`, `c.name`.
    public var output: [String]?
    /// An index-only scan's rows that had to be fetched from the table (pages not all-visible).
    public var heapFetches: Double?
    public var children: [PlanNode]

    public init(
        nodeType: String,
        relation: String? = nil,
        schema: String? = nil,
        alias: String? = nil,
        parentRelationship: String? = nil,
        subplanName: String? = nil,
        cteName: String? = nil,
        indexName: String? = nil,
        joinType: String? = nil,
        startupCost: Double = 0,
        totalCost: Double = 0,
        planRows: Double = 0,
        actualRows: Double? = nil,
        actualLoops: Double? = nil,
        actualTotalTimeMs: Double? = nil,
        filter: String? = nil,
        rowsRemovedByFilter: Double? = nil,
        indexCondition: String? = nil,
        joinCondition: String? = nil,
        sortKey: [String]? = nil,
        groupKey: [String]? = nil,
        sortMethod: String? = nil,
        sortSpaceType: String? = nil,
        hashBatches: Double? = nil,
        sharedHitBlocks: Double? = nil,
        sharedReadBlocks: Double? = nil,
        tempWrittenBlocks: Double? = nil,
        output: [String]? = nil,
        heapFetches: Double? = nil,
        children: [PlanNode] = []
    ) {
        self.nodeType = nodeType
        self.relation = relation
        self.schema = schema
        self.alias = alias
        self.parentRelationship = parentRelationship
        self.subplanName = subplanName
        self.cteName = cteName
        self.indexName = indexName
        self.joinType = joinType
        self.startupCost = startupCost
        self.totalCost = totalCost
        self.planRows = planRows
        self.actualRows = actualRows
        self.actualLoops = actualLoops
        self.actualTotalTimeMs = actualTotalTimeMs
        self.filter = filter
        self.rowsRemovedByFilter = rowsRemovedByFilter
        self.indexCondition = indexCondition
        self.joinCondition = joinCondition
        self.sortKey = sortKey
        self.groupKey = groupKey
        self.sortMethod = sortMethod
        self.sortSpaceType = sortSpaceType
        self.hashBatches = hashBatches
        self.sharedHitBlocks = sharedHitBlocks
        self.sharedReadBlocks = sharedReadBlocks
        self.tempWrittenBlocks = tempWrittenBlocks
        self.output = output
        self.heapFetches = heapFetches
        self.children = children
    }

    /// This node and every node below it, depth first.
    public var allNodes: [PlanNode] { [self] + children.flatMap(\.allNodes) }

    /// The table the node reads, with its schema when the plan gives it.
    public var relationName: RelationName? { relation.map { RelationName(schema: schema, name: $0) } }
}

/// Something in a plan worth acting on.
public struct PlanFinding: Codable, Sendable, Equatable {
    /// `seq_scan_selective`, `row_estimate_off`, `sort_spill`, `hash_spill`, `nested_loop_many_loops`,
    /// `missing_fk_index`, `index_only_scan_possible` or `index_only_heap_fetches`.
    public var kind: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// The plan node: its type and relation (`Seq Scan on clients`).
    public var node: String
    public var message: String

    public init(kind: String, severity: String, node: String, message: String) {
        self.kind = kind
        self.severity = severity
        self.node = node
        self.message = message
    }
}

/// An index the planner would use, proven with a hypothetical index (hypopg).
public struct IndexRecommendation: Codable, Sendable, Equatable {
    /// The table's schema, when the plan named it (it does: the optimizer explains with `VERBOSE`).
    public var schema: String?
    public var table: String
    public var columns: [String]
    /// A partial index's predicate, when the query filters on a constant.
    public var predicate: String?
    /// Columns the index stores beside its key (`INCLUDE`), so an index-only scan answers.
    public var include: [String]?
    /// The planner's total cost of the statement without and with the index.
    public var costBefore: Double
    public var costAfter: Double
    /// The share of the cost the index saves, 0 to 1.
    public var improvement: Double
    /// hypopg's estimate of the index's size.
    public var estimatedSizeBytes: Int
    public var createStatement: String

    public init(
        schema: String? = nil,
        table: String,
        columns: [String],
        predicate: String?,
        include: [String]? = nil,
        costBefore: Double,
        costAfter: Double,
        improvement: Double,
        estimatedSizeBytes: Int,
        createStatement: String
    ) {
        self.schema = schema
        self.table = table
        self.columns = columns
        self.predicate = predicate
        self.include = include
        self.costBefore = costBefore
        self.costAfter = costAfter
        self.improvement = improvement
        self.estimatedSizeBytes = estimatedSizeBytes
        self.createStatement = createStatement
    }
}

/// What `POST /v1/analyze` answers.
public struct AnalyzeResponse: Codable, Sendable, Equatable {
    /// Whether the statement ran (`EXPLAIN ANALYZE`) or was only planned.
    public var analyzed: Bool
    public var plan: PlanNode
    public var totalCost: Double
    public var executionTimeMs: Double?
    public var planningTimeMs: Double?
    /// Whether any node reads through an index.
    public var indexUsage: Bool
    /// Whether any node reads a whole table (a sequential scan).
    public var fullTableScan: Bool
    public var findings: [PlanFinding]
    public var recommendations: [IndexRecommendation]
    /// Two indexes that together cut the cost well below what the best one alone does (a join served on both
    /// sides), when there are such.
    public var combinations: [IndexCombination]

    public init(
        analyzed: Bool,
        plan: PlanNode,
        totalCost: Double,
        executionTimeMs: Double?,
        planningTimeMs: Double?,
        indexUsage: Bool,
        fullTableScan: Bool,
        findings: [PlanFinding],
        recommendations: [IndexRecommendation],
        combinations: [IndexCombination] = []
    ) {
        self.analyzed = analyzed
        self.plan = plan
        self.totalCost = totalCost
        self.executionTimeMs = executionTimeMs
        self.planningTimeMs = planningTimeMs
        self.indexUsage = indexUsage
        self.fullTableScan = fullTableScan
        self.findings = findings
        self.recommendations = recommendations
        self.combinations = combinations
    }
}

/// Indexes that serve a statement together, proven together with hypopg.
public struct IndexCombination: Codable, Sendable, Equatable {
    /// Each index's `CREATE INDEX CONCURRENTLY` statement.
    public var createStatements: [String]
    public var costBefore: Double
    public var costAfter: Double
    public var improvement: Double

    public init(createStatements: [String], costBefore: Double, costAfter: Double, improvement: Double) {
        self.createStatements = createStatements
        self.costBefore = costBefore
        self.costAfter = costAfter
        self.improvement = improvement
    }
}

extension IndexCombination: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "createStatements": .array(.string()), "costBefore": .number, "costAfter": .number,
                "improvement": .number,
            ],
            required: ["createStatements", "costBefore", "costAfter", "improvement"]
        )
    }
}

extension AnalyzeRequest: OpenAPISchemaProviding {
    /// One statement of up to 100,000 characters, line breaks and tabs allowed.
    static let sqlRule = TextRule(1...100_000, multiline: true, needsContent: true)
    /// A text parameter: PostgreSQL takes no NUL in text.
    static let parameterRule = TextRule(0...100_000, multiline: true)
    /// A schema's name in the search path: PostgreSQL's identifiers are at most 63 bytes.
    static let schemaRule = TextRule(1...63)
    /// Schemas in the search path at most.
    static let searchPathLength = 16

    public static var openAPISchema: JSONSchema {
        .object(
            [
                "sql": .described(sqlRule.schema, "one statement, with $1, $2... for its parameters"),
                "params": .nullable(
                    .array(
                        .oneOf([parameterRule.schema, .number, .boolean, .constrained(.any, ["type": "null"])]),
                        count: 0...1_000
                    )
                ),
                "analyze": .described(.nullable(.boolean), "false: plain EXPLAIN, nothing runs (default true)"),
                "allowWrite": .described(
                    .nullable(.boolean),
                    "explain-analyze a write, rolled back; needs the admin token"
                ),
                "recommend": .described(.nullable(.boolean), "try hypothetical indexes (default true)"),
                "timeoutMs": .described(
                    .nullable(.number(in: 1...3_600_000)),
                    "a shorter statement timeout for this statement, 1 to 3600000 ms"
                ),
                "searchPath": .described(
                    .nullable(.array(schemaRule.schema, count: 0...searchPathLength)),
                    "the schemas unqualified names are looked up in, in order (default: the optimizer role's search path)"
                ),
            ],
            required: ["sql"]
        )
    }
}

extension PlanNode: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "nodeType": .string(), "relation": .string(), "schema": .string(), "alias": .string(),
                "parentRelationship": .string(), "subplanName": .string(), "cteName": .string(), "indexName": .string(),
                "joinType": .string(), "startupCost": .number,
                "totalCost": .number, "planRows": .number, "actualRows": .number, "actualLoops": .number,
                "actualTotalTimeMs": .number, "filter": .string(),
                "rowsRemovedByFilter": .number, "indexCondition": .string(), "joinCondition": .string(),
                "sortKey": .array(.string()), "groupKey": .array(.string()), "sortMethod": .string(),
                "sortSpaceType": .string(), "hashBatches": .number, "sharedHitBlocks": .number,
                "sharedReadBlocks": .number, "tempWrittenBlocks": .number,
                "output": .array(.string()), "heapFetches": .number,
                "children": .array(.reference(PlanNode.openAPIName)),
            ],
            required: ["nodeType", "startupCost", "totalCost", "planRows", "children"]
        )
    }
}

extension PlanFinding: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "kind": .string(), "severity": .string(enumeration: ["info", "warning", "critical"]), "node": .string(),
                "message": .string(),
            ],
            required: ["kind", "severity", "node", "message"]
        )
    }
}

extension IndexRecommendation: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "schema": .string(), "table": .string(), "columns": .array(.string()), "predicate": .string(),
                "include": .array(.string()), "costBefore": .number,
                "costAfter": .number, "improvement": .number,
                "estimatedSizeBytes": .integer(), "createStatement": .string(),
            ],
            required: [
                "table", "columns", "costBefore", "costAfter", "improvement", "estimatedSizeBytes", "createStatement",
            ]
        )
    }
}

extension AnalyzeResponse: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "analyzed": .boolean, "plan": .reference(PlanNode.openAPIName), "totalCost": .number,
                "executionTimeMs": .number, "planningTimeMs": .number,
                "indexUsage": .boolean, "fullTableScan": .boolean,
                "findings": .array(.reference(PlanFinding.openAPIName)),
                "recommendations": .array(.reference(IndexRecommendation.openAPIName)),
                "combinations": .array(.reference(IndexCombination.openAPIName)),
            ],
            required: [
                "analyzed", "plan", "totalCost", "indexUsage", "fullTableScan", "findings", "recommendations",
                "combinations",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [PlanNode.self, PlanFinding.self, IndexRecommendation.self, IndexCombination.self]
    }
}
