import WedSyncModels
import WedSyncServiceKit

extension AnalyzeRequest: OpenAPISchemaProviding {
    /// One statement of up to 100,000 characters, line breaks and tabs allowed.
    static let sqlRule = TextRule(1...100_000, multiline: true, needsContent: true)
    /// A text parameter: PostgreSQL takes no NUL in text.
    static let parameterRule = TextRule(0...100_000, multiline: true)

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
            ],
            required: ["sql"]
        )
    }
}

extension PlanNode: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "nodeType": .string(), "relation": .string(), "alias": .string(), "indexName": .string(),
                "joinType": .string(), "startupCost": .number,
                "totalCost": .number, "planRows": .number, "actualRows": .number, "actualLoops": .number,
                "actualTotalTimeMs": .number, "filter": .string(),
                "rowsRemovedByFilter": .number, "indexCondition": .string(), "joinCondition": .string(),
                "sortKey": .array(.string()), "sortMethod": .string(),
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
                "table": .string(), "columns": .array(.string()), "predicate": .string(), "costBefore": .number,
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
            ],
            required: ["analyzed", "plan", "totalCost", "indexUsage", "fullTableScan", "findings", "recommendations"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [PlanNode.self, PlanFinding.self, IndexRecommendation.self]
    }
}
