import Foundation
import WedSyncModels

/// `EXPLAIN (FORMAT JSON)`'s output: the plan tree and, with ANALYZE, the planning and execution times.
public struct ExplainOutput: Sendable, Equatable {
    public var plan: PlanNode
    public var planningTimeMs: Double?
    public var executionTimeMs: Double?
    /// The statement's query identifier (`compute_query_id`, which `pg_stat_statements` turns on), as
    /// `pg_stat_statements.queryid` gives it; `VERBOSE` prints it.
    public var queryIdentifier: String?

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the JSON text PostgreSQL gave: `[{"Plan": {...}, "Planning Time": 0.1, "Execution Time": 2.3}]`.
    public init(json text: String) throws(Malformed) {
        guard let data = text.data(using: .utf8),
            let top = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]], let first = top.first,
            let plan = first["Plan"] as? [String: Any]
        else { throw Malformed(description: "not EXPLAIN (FORMAT JSON) output") }
        self.plan = Self.node(plan)
        planningTimeMs = first["Planning Time"] as? Double
        executionTimeMs = first["Execution Time"] as? Double
        // From the text: a 64-bit identifier read as JSON may be rounded to a double's precision.
        queryIdentifier = text.firstMatch(of: /"Query Identifier": (-?[0-9]+)/).map { String($0.1) }
    }

    static func node(_ object: [String: Any]) -> PlanNode {
        func number(_ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
        func text(_ key: String) -> String? { object[key] as? String }
        return PlanNode(
            nodeType: text("Node Type") ?? "Unknown",
            relation: text("Relation Name"),
            schema: text("Schema"),
            alias: text("Alias"),
            parentRelationship: text("Parent Relationship"),
            subplanName: text("Subplan Name"),
            cteName: text("CTE Name"),
            indexName: text("Index Name"),
            joinType: text("Join Type"),
            startupCost: number("Startup Cost") ?? 0,
            totalCost: number("Total Cost") ?? 0,
            planRows: number("Plan Rows") ?? 0,
            actualRows: number("Actual Rows"),
            actualLoops: number("Actual Loops"),
            actualTotalTimeMs: number("Actual Total Time"),
            filter: text("Filter"),
            rowsRemovedByFilter: number("Rows Removed by Filter"),
            indexCondition: text("Index Cond") ?? text("Recheck Cond"),
            joinCondition: text("Hash Cond") ?? text("Merge Cond") ?? text("Join Filter"),
            sortKey: object["Sort Key"] as? [String],
            groupKey: object["Group Key"] as? [String],
            sortMethod: text("Sort Method"),
            sortSpaceType: text("Sort Space Type"),
            hashBatches: number("Hash Batches"),
            sharedHitBlocks: number("Shared Hit Blocks"),
            sharedReadBlocks: number("Shared Read Blocks"),
            tempWrittenBlocks: number("Temp Written Blocks"),
            output: object["Output"] as? [String],
            heapFetches: number("Heap Fetches"),
            children: (object["Plans"] as? [[String: Any]] ?? []).map(node)
        )
    }
}
