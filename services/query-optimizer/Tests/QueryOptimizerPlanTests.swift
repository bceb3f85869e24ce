import Foundation
import Testing
import WedSyncModels
import WedSyncTestSupport

@testable import WedSyncQueryOptimizer

/// Plan reading without a database: EXPLAIN JSON, predicates, findings, candidates, the read-only check.
@Suite("Query optimizer: plans, predicates, findings, candidates")
struct QueryOptimizerPlanTests {
    @Test(
        "Columns and operators come out of PostgreSQL's deparsed conditions, with aliases, casts, constants and joins"
    )
    func predicates() {
        let filter =
            "((c.wedding_date >= '2026-06-01'::date) AND (c.wedding_date <= '2026-06-30'::date) AND (c.organization_id = '7'::bigint))"
        let found = PredicateColumns.comparisons(in: filter)
        #expect(found.map(\.column) == ["wedding_date", "wedding_date", "organization_id"])
        #expect(found.map(\.op) == [">=", "<=", "="])
        #expect(found.allSatisfy { $0.qualifier == "c" })
        #expect(found[2].constant == "'7'")
        let cast = PredicateColumns.comparisons(in: "((status)::text = 'active'::text)")
        #expect(cast.first?.column == "status" && cast.first?.constant == "'active'")
        let join = PredicateColumns.comparisons(in: "(g.client_id = c.id)")
        #expect(
            join.first?.column == "client_id" && join.first?.otherQualifier == "c" && join.first?.otherColumn == "id"
        )
        let like = PredicateColumns.comparisons(in: "((name)::text ~~ 'Smith%'::text)")
        #expect(like.first?.op == "LIKE")
        #expect(PredicateColumns.comparisons(in: "(x IS NULL)").isEmpty)
        #expect(
            PredicateColumns.comparisons(in: "(lower((email)::text) = 'x'::text)").isEmpty,
            "neither the function nor the cast's type is a column"
        )
        #expect(PredicateColumns.comparisons(in: "(('a'::text = (status)::text))").isEmpty)
        #expect(PredicateColumns.comparisons(in: "(\"Odd \"\"name\"\"\" = 3)").first?.column == "Odd \"name\"")
        let stamp = PredicateColumns.comparisons(in: "((created_at)::timestamp with time zone >= now())")
        #expect(stamp.first?.column == "created_at" && stamp.first?.op == ">=")
        #expect(PredicateColumns.comparisons(in: "('it''s' = name)").isEmpty, "a literal on the left is not a column")
    }

    @Test(
        "Only statements that read pass the read-only check",
        arguments: [
            ("SELECT 1", true), ("  select * from clients", true), ("WITH a AS (SELECT 1) SELECT * FROM a", true),
            ("VALUES (1)", true),
            ("/* note */ SELECT 1 -- done", true), ("DELETE FROM clients", false),
            ("UPDATE clients SET name = 'x'", false),
            ("INSERT INTO clients VALUES (1)", false),
            ("WITH d AS (DELETE FROM clients RETURNING *) SELECT * FROM d", false),
            ("SELECT * INTO copy_of_clients FROM clients", false), ("TRUNCATE clients", false),
            ("-- SELECT\nDROP TABLE clients", false),
            ("EXPLAIN SELECT 1", false),
        ]
    )
    func readOnly(sql: String, reads: Bool) {
        #expect(ExplainRunner.isReadOnly(sql) == reads)
    }

    static let plan = """
        [{"Plan": {"Node Type": "Hash Join", "Join Type": "Inner", "Startup Cost": 0, "Total Cost": 9000, "Plan Rows": 40, "Actual Rows": 41,
          "Actual Loops": 1, "Hash Cond": "(c.organization_id = o.id)", "Plans": [
            {"Node Type": "Nested Loop", "Join Type": "Left", "Startup Cost": 0, "Total Cost": 8500, "Plan Rows": 4, "Actual Rows": 4100, "Actual Loops": 1,
             "Plans": [
               {"Node Type": "Sort", "Startup Cost": 1, "Total Cost": 2, "Plan Rows": 40, "Actual Rows": 41, "Actual Loops": 1,
                "Sort Key": ["c.wedding_date"], "Sort Method": "external merge", "Sort Space Type": "Disk", "Plans": [
                  {"Node Type": "Seq Scan", "Relation Name": "clients", "Alias": "c", "Startup Cost": 0, "Total Cost": 8000, "Plan Rows": 40,
                   "Actual Rows": 41, "Actual Loops": 1, "Rows Removed by Filter": 999959,
                   "Filter": "((c.status = 'active'::text) AND (c.wedding_date >= '2026-06-01'::date) AND (c.organization_id = '7'::bigint))"}]},
               {"Node Type": "Index Scan", "Relation Name": "guest_lists", "Alias": "g", "Index Name": "guest_lists_pkey", "Startup Cost": 0,
                "Total Cost": 1, "Plan Rows": 1, "Actual Rows": 1, "Actual Loops": 5000, "Index Cond": "(g.client_id = c.id)"}]},
            {"Node Type": "Hash", "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 10, "Hash Batches": 4, "Actual Rows": 10, "Actual Loops": 1, "Plans": [
               {"Node Type": "Seq Scan", "Relation Name": "organizations", "Alias": "o", "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 10,
                "Actual Rows": 10, "Actual Loops": 1}]}]},
         "Planning Time": 0.4, "Execution Time": 812.5}]
        """

    @Test("EXPLAIN JSON reads into a tree with its times")
    func explainJSON() throws {
        let output = try ExplainOutput(json: Self.plan)
        #expect(output.planningTimeMs == 0.4 && output.executionTimeMs == 812.5)
        #expect(
            output.plan.allNodes.map(\.nodeType) == [
                "Hash Join", "Nested Loop", "Sort", "Seq Scan", "Index Scan", "Hash", "Seq Scan",
            ]
        )
        #expect(output.plan.children[0].children[0].children[0].rowsRemovedByFilter == 999_959)
        #expect(output.plan.joinCondition == "(c.organization_id = o.id)")
        #expect(throws: ExplainOutput.Malformed.self) { try ExplainOutput(json: "{}") }
    }

    @Test("Every finding from a plan built to show it")
    func findings() throws {
        let output = try ExplainOutput(json: Self.plan)
        let catalog = CatalogFacts(
            rows: ["clients": 1_000_000, "guest_lists": 500_000],
            foreignKeys: ["guest_lists": ["client_id"]],
            indexes: ["guest_lists": [CatalogFacts.Index(name: "guest_lists_pkey", columns: ["id"], isPartial: false)]]
        )
        let findings = PlanAnalyzer().findings(output.plan, catalog: catalog)
        let kinds = Set(findings.map(\.kind))
        #expect(
            kinds == [
                "seq_scan_selective", "row_estimate_off", "sort_spill", "hash_spill", "nested_loop_many_loops",
                "missing_fk_index",
            ],
            "\(findings)"
        )
        #expect(findings.first { $0.kind == "missing_fk_index" }?.message.contains("guest_lists.client_id") == true)
        // With an index leading with the key, the foreign key is covered.
        var indexed = catalog
        indexed.indexes["guest_lists", default: []].append(
            CatalogFacts.Index(name: "by_client", columns: ["client_id"], isPartial: false)
        )
        #expect(!PlanAnalyzer().findings(output.plan, catalog: indexed).contains { $0.kind == "missing_fk_index" })
        // A small table's scan is no finding.
        #expect(
            !PlanAnalyzer().findings(output.plan, catalog: CatalogFacts(rows: ["clients": 500])).contains {
                $0.kind == "seq_scan_selective"
            }
        )
    }

    @Test(
        "Candidates: equality columns first, then the range, then the sort; partial only for constants in the SQL; covered ones left out"
    )
    func candidates() throws {
        let output = try ExplainOutput(json: Self.plan)
        let sql =
            "SELECT * FROM clients c LEFT JOIN guest_lists g ON g.client_id = c.id WHERE c.status = 'active' AND c.organization_id = $1 AND c.wedding_date >= $2 ORDER BY c.wedding_date"
        let advisor = IndexAdvisor()
        let found = advisor.candidates(output.plan, catalog: CatalogFacts(), sql: sql)
        let clients = found.filter { $0.table == "clients" }
        #expect(clients.first?.columns == ["status", "organization_id", "wedding_date"], "\(clients)")
        #expect(
            clients.contains {
                $0.predicate == "status = 'active'" && $0.columns == ["organization_id", "wedding_date"]
            },
            "a literal in the SQL: partial"
        )
        #expect(
            !clients.contains { $0.predicate?.contains("organization_id") == true },
            "a parameter's value: no partial index"
        )
        #expect(found.contains { $0.table == "guest_lists" && $0.columns == ["client_id"] })
        // An int4 parameter shows unquoted (`= 1`); `$1` in the SQL is no literal 1.
        let unquoted = PlanNode(
            nodeType: "Seq Scan",
            relation: "clients",
            alias: "c",
            filter: "((c.status = 'lead'::text) AND (c.budget = 1))"
        )
        let fromParameter = advisor.candidates(
            unquoted,
            catalog: CatalogFacts(),
            sql: "SELECT * FROM clients c WHERE c.status = 'lead' AND c.budget = $1"
        )
        #expect(fromParameter.contains { $0.predicate == "status = 'lead'" })
        #expect(!fromParameter.contains { $0.predicate?.contains("budget") == true })
        let covered = CatalogFacts(indexes: [
            "clients": [
                CatalogFacts.Index(
                    name: "x",
                    columns: ["status", "organization_id", "wedding_date", "name"],
                    isPartial: false
                )
            ]
        ])
        #expect(
            !advisor.candidates(output.plan, catalog: covered, sql: sql).contains {
                $0.table == "clients" && $0.predicate == nil && $0.columns.first == "status"
            }
        )
        #expect(
            found[0].statement(concurrently: true).hasPrefix(
                "CREATE INDEX CONCURRENTLY idx_clients_status_organization_id_wedding_date ON clients ("
            )
        )
        #expect(IndexAdvisor.Candidate.quoted("Weird Name") == "\"Weird Name\"")
    }

    @Test("The minimum improvement: a tenth of the statement's cost and 100 units, both; never a worse or broken plan")
    func minimumImprovement() {
        let rule = MinimumImprovement()
        #expect(rule.accepts(before: 24_706, after: 17_219), "30% of a full scan")
        #expect(rule.accepts(before: 1_000, after: 900), "a tenth, and 100 units")
        #expect(!rule.accepts(before: 8, after: 4), "half of a cheap statement is under 100 units")
        #expect(!rule.accepts(before: 5_000, after: 4_600), "400 units, under a tenth")
        #expect(!rule.accepts(before: 1_000, after: 1_200) && !rule.accepts(before: 1_000, after: .nan))
        #expect(!rule.accepts(before: 0, after: 0))
        let strict = MinimumImprovement(share: 0.5, cost: 0)
        #expect(!strict.accepts(before: 24_706, after: 17_219) && strict.accepts(before: 8, after: 4))
    }

    @Test("Column references leave out functions, types and keywords")
    func columnReferences() {
        let found = PredicateColumns.columnReferences(
            in: "lower((c.name)::character varying) || count(*) + c.budget * 2 AND status IS NOT NULL"
        )
        #expect(found.map { ($0.qualifier ?? "") + "." + $0.column } == ["c.name", "c.budget", ".status"])
    }

    @Test(
        "Index-only opportunities: INCLUDE for a few missing columns, VACUUM when none is missing or the heap is fetched"
    )
    func indexOnly() {
        let index = CatalogFacts.Index(name: "payments_paid_on", columns: ["paid_on"])
        let catalog = CatalogFacts(
            rows: ["payments": 200_000],
            indexes: ["payments": [index]],
            allVisibleShare: ["payments": 0]
        )
        let bitmap = PlanNode(
            nodeType: "Bitmap Heap Scan",
            relation: "payments",
            alias: "payments",
            planRows: 5_000,
            actualRows: 5_480,
            actualLoops: 1,
            output: ["paid_on", "amount"],
            children: [PlanNode(nodeType: "Bitmap Index Scan", indexName: "payments_paid_on")]
        )
        let include = PlanAnalyzer().findings(bitmap, catalog: catalog).filter { $0.kind == "index_only_scan_possible" }
        #expect(
            include.count == 1
                && include[0].message.contains("CREATE INDEX CONCURRENTLY ON payments (paid_on) INCLUDE (amount)"),
            "\(include)"
        )
        // Every column in the index (a key or INCLUDE): a VACUUM is what it needs.
        var covering = catalog
        covering.indexes["payments"] = [
            CatalogFacts.Index(name: "payments_paid_on", columns: ["paid_on"], included: ["amount"])
        ]
        let vacuum = PlanAnalyzer().findings(bitmap, catalog: covering).filter { $0.kind == "index_only_scan_possible" }
        #expect(vacuum.count == 1 && vacuum[0].message.contains("VACUUM payments"), "\(vacuum)")
        // A few rows, too many missing columns, or no output columns (no VERBOSE): no finding.
        var few = bitmap
        few.actualRows = 3
        var wide = bitmap
        wide.output = ["id", "client_id", "amount", "paid_on", "method"]
        var blind = bitmap
        blind.output = nil
        for node in [few, wide, blind] {
            #expect(!PlanAnalyzer().findings(node, catalog: catalog).contains { $0.kind == "index_only_scan_possible" })
        }
        let indexOnly = PlanNode(
            nodeType: "Index Only Scan",
            relation: "payments",
            indexName: "payments_paid_on",
            planRows: 5_000,
            actualRows: 5_000,
            actualLoops: 1,
            heapFetches: 5_000
        )
        #expect(PlanAnalyzer().findings(indexOnly, catalog: catalog).map(\.kind) == ["index_only_heap_fetches"])
        var clean = indexOnly
        clean.heapFetches = 0
        #expect(PlanAnalyzer().findings(clean, catalog: catalog).isEmpty)
    }

    /// PostgreSQL 15's `EXPLAIN (VERBOSE, FORMAT JSON)` of a correlated subquery over a table of another schema,
    /// as it printed it.
    static let verbosePlan = """
        [{"Plan": {"Node Type": "Seq Scan", "Parallel Aware": false, "Async Capable": false, "Relation Name": "sales",
          "Schema": "olap", "Alias": "s", "Startup Cost": 0.00, "Total Cost": 2287920.23, "Plan Rows": 30, "Plan Width": 4,
          "Output": ["s.sale_id"], "Filter": "((s.d_key = 5) AND ((s.quantity)::numeric > (SubPlan 1)))",
          "Plans": [{"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Simple", "Parent Relationship": "SubPlan",
            "Subplan Name": "SubPlan 1", "Parallel Aware": false, "Async Capable": false, "Startup Cost": 2087.5,
            "Total Cost": 2087.51, "Plan Rows": 1, "Plan Width": 32, "Output": ["avg(s2.quantity)"],
            "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false,
              "Relation Name": "sales", "Schema": "olap", "Alias": "s2", "Startup Cost": 0.00, "Total Cost": 2087.5,
              "Plan Rows": 5, "Plan Width": 4, "Output": ["s2.sale_id", "s2.prod_key", "s2.quantity", "s2.d_key"],
              "Filter": "(s2.prod_key = s.prod_key)"}]}]},
         "Query Identifier": 4718938415190912268}]
        """

    @Test(
        "EXPLAIN VERBOSE: each scan's schema, the subplan's name and relationship, and the 64-bit query identifier exactly"
    )
    func verboseJSON() throws {
        let output = try ExplainOutput(json: Self.verbosePlan)
        #expect(output.queryIdentifier == "4718938415190912268", "a double would round it")
        let scans = output.plan.allNodes.compactMap(\.relationName)
        #expect(scans == ["olap.sales", "olap.sales"])
        #expect(scans.allSatisfy { $0.schema == "olap" && $0.name == "sales" })
        let aggregate = output.plan.children[0]
        #expect(aggregate.parentRelationship == "SubPlan" && aggregate.subplanName == "SubPlan 1")
        #expect(PlanAnalyzer.label(output.plan) == "Seq Scan on olap.sales")
        // The correlated subquery's join column is the inner scan's, in the table's own schema.
        let candidates = IndexAdvisor().candidates(output.plan, catalog: CatalogFacts(), sql: "SELECT ...")
        #expect(candidates.contains { $0.table == "olap.sales" && $0.columns == ["prod_key"] }, "\(candidates)")
        #expect(candidates.allSatisfy { $0.table.schema == "olap" })
    }

    @Test(
        "Same-named tables of two schemas in one plan stay apart: aliases made unique (c, c_1) find their own table, candidates and catalog are per schema, statements qualified"
    )
    func twoSchemas() {
        let plan = PlanNode(
            nodeType: "Hash Join",
            joinCondition: "(c.id = c_1.id)",
            children: [
                PlanNode(nodeType: "Seq Scan", relation: "clients", schema: "public", alias: "c"),
                PlanNode(
                    nodeType: "Hash",
                    children: [
                        PlanNode(
                            nodeType: "Seq Scan",
                            relation: "clients",
                            schema: "Tenant B",
                            alias: "c_1",
                            planRows: 40,
                            filter: "((c_1.organization_id = '7'::bigint) AND (c_1.wedding_date >= '2026-06-01'::date))"
                        )
                    ]
                ),
            ]
        )
        let aliases = PlanAnalyzer.aliases(plan)
        #expect(aliases["c"] == RelationName(schema: "public", name: "clients"))
        #expect(aliases["c_1"] == RelationName(schema: "Tenant B", name: "clients"))
        let tenant = RelationName(schema: "Tenant B", name: "clients")
        // The public table's index leads with the same columns: it covers nothing in the other schema.
        let catalog = CatalogFacts(
            rows: ["public.clients": 1_000_000, tenant: 400_000],
            indexes: ["public.clients": [CatalogFacts.Index(name: "x", columns: ["organization_id", "wedding_date"])]]
        )
        let candidates = IndexAdvisor().candidates(plan, catalog: catalog, sql: "SELECT ...")
        let wanted = IndexAdvisor.Candidate(table: tenant, columns: ["organization_id", "wedding_date"])
        #expect(candidates.contains(wanted), "\(candidates)")
        #expect(
            !candidates.contains { $0.table.schema == "public" && $0.columns.first == "organization_id" },
            "\(candidates)"
        )
        #expect(
            wanted.statement(concurrently: true)
                == "CREATE INDEX CONCURRENTLY idx_clients_organization_id_wedding_date ON \"Tenant B\".clients (organization_id, wedding_date)"
        )
        let findings = PlanAnalyzer().findings(plan, catalog: catalog)
        #expect(
            findings.contains { $0.kind == "seq_scan_selective" && $0.node == "Seq Scan on Tenant B.clients" },
            "\(findings)"
        )
        #expect(
            RelationName(stringLiteral: "olap.sales").sql == "olap.sales"
                && RelationName(stringLiteral: "x").schema == nil
        )
    }

    @Test(
        "A candidate's statement: operator classes after their column, INCLUDE columns, the predicate; named within 63 bytes"
    )
    func candidateStatement() {
        let candidate = IndexAdvisor.Candidate(
            table: "olap.customer",
            columns: ["c_nation_key", "c_name"],
            predicate: "c_segment = 'BUILDING'",
            include: ["c_key"],
            operatorClasses: ["c_name": "text_pattern_ops"]
        )
        #expect(
            candidate.statement(concurrently: false)
                == "CREATE INDEX idx_customer_c_nation_key_c_name_pattern_incl_c_key_partial ON olap.customer (c_nation_key, c_name text_pattern_ops) INCLUDE (c_key) WHERE c_segment = 'BUILDING'"
        )
        let long = IndexAdvisor.Candidate(table: "t", columns: (1...12).map { "column_number_\($0)" })
        #expect(long.name.utf8.count == 63 && long.name.hasPrefix("idx_t_column_number_1_"))
    }

    @Test(
        "A script's named statements: each from its `-- name: summary` line to its semicolon, comments before the first left out"
    )
    func namedStatements() {
        let script = """
            -- A header, not a statement.

            -- Q1: the first
            SELECT 1
            FROM t;

            -- Q2: the second
            SELECT 2;
            """
        let statements = NamedStatement.parse(script)
        #expect(
            statements == [
                NamedStatement(name: "Q1", summary: "the first", sql: "SELECT 1\nFROM t"),
                NamedStatement(name: "Q2", summary: "the second", sql: "SELECT 2"),
            ]
        )
    }

    /// PostgreSQL 15's `EXPLAIN (VERBOSE, FORMAT JSON)` of the analytical workload's Q13: a materialized CTE of
    /// per-customer totals joined back to the customers (trimmed to the fields read).
    static let ctePlan = """
        [{"Plan": {"Node Type": "Limit", "Total Cost": 6618.78, "Plan Rows": 20, "Output": ["customer.c_name",
        "totals.spent"], "Plans": [{"Node Type": "Aggregate", "Parent Relationship": "InitPlan",
        "Subplan Name": "CTE totals", "Total Cost": 5181.33, "Plan Rows": 15891, "Output": ["sales.cust_key",
        "sum(((sales.quantity)::numeric * sales.price))"], "Plans": [{"Node Type": "Bitmap Heap Scan",
        "Parent Relationship": "Outer", "Relation Name": "sales", "Schema": "olap", "Alias": "sales",
        "Total Cost": 4763.04, "Plan Rows": 21965, "Output": ["sales.sale_id", "sales.d_key", "sales.cust_key",
        "sales.prod_key", "sales.supp_key", "sales.quantity", "sales.price", "sales.discount", "sales.status",
        "sales.ship_date"], "Plans": [{"Node Type": "Bitmap Index Scan", "Parent Relationship": "Outer",
        "Total Cost": 304.07, "Plan Rows": 21965,
        "Index Cond": "((sales.d_key >= 700) AND (sales.d_key <= 760))"}]}]}, {"Node Type": "Sort",
        "Parent Relationship": "Outer", "Total Cost": 1450.65, "Plan Rows": 5297, "Output": ["customer.c_name",
        "totals.spent"], "Plans": [{"Node Type": "Hash Join", "Parent Relationship": "Outer",
        "Total Cost": 1296.45, "Plan Rows": 5297, "Output": ["customer.c_name", "totals.spent"],
        "Hash Cond": "(totals.cust_key = customer.c_key)", "Plans": [{"Node Type": "CTE Scan",
        "Parent Relationship": "Outer", "CTE Name": "totals", "Alias": "totals", "Total Cost": 357.55,
        "Plan Rows": 5297, "Output": ["totals.cust_key", "totals.spent"],
        "Filter": "(totals.spent > '1000'::numeric)"}, {"Node Type": "Hash", "Parent Relationship": "Inner",
        "Total Cost": 550.0, "Plan Rows": 30000, "Output": ["customer.c_name", "customer.c_key"],
        "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "customer",
        "Schema": "olap", "Alias": "customer", "Total Cost": 550.0, "Plan Rows": 30000,
        "Output": ["customer.c_name", "customer.c_key"]}]}]}]}]}}]
        """

    @Test(
        "Columns through a CTE and a subquery: a CTE's passed-through column is its table's, a computed one no table's; a subquery's alias resolves through its plan's outputs"
    )
    func columnResolver() throws {
        let plan = try ExplainOutput(json: Self.ctePlan).plan
        let join = try #require(plan.allNodes.first { $0.nodeType == "Hash Join" })
        let resolver = ColumnResolver(plan)
        let through = try #require(resolver.resolve("totals", "cust_key", in: join))
        #expect(through.0 == "olap.sales" && through.1 == "cust_key")
        #expect(resolver.resolve("totals", "spent", in: join) == nil, "a sum is no column of a table")
        #expect(resolver.resolve("customer", "c_key", in: join)?.0 == "olap.customer")
        #expect(resolver.resolve("nowhere", "c_key", in: join) == nil, "an unknown name is no table's")
        // A subquery the planner kept (its LIMIT): `x.id` is the scan's `c_1.id` inside, in tenant_b.
        let subquery = PlanNode(
            nodeType: "Hash Join",
            joinCondition: "(c.id = x.id)",
            children: [
                PlanNode(nodeType: "Seq Scan", relation: "clients", schema: "public", alias: "c"),
                PlanNode(
                    nodeType: "Subquery Scan",
                    alias: "x",
                    output: ["x.id"],
                    children: [
                        PlanNode(
                            nodeType: "Limit",
                            output: ["c_1.id"],
                            children: [
                                PlanNode(
                                    nodeType: "Seq Scan",
                                    relation: "clients",
                                    schema: "tenant_b",
                                    alias: "c_1",
                                    output: ["c_1.id"]
                                )
                            ]
                        )
                    ]
                ),
            ]
        )
        let inner = ColumnResolver(subquery)
        #expect(inner.resolve("x", "id", in: subquery)?.0 == "tenant_b.clients")
        #expect(inner.resolve("c", "id", in: subquery)?.0 == "public.clients")
        // Candidates from the CTE plan land on the tables, none on the CTE.
        let candidates = IndexAdvisor().candidates(plan, catalog: CatalogFacts(), sql: "WITH ...")
        #expect(candidates.allSatisfy { $0.table.schema == "olap" }, "\(candidates)")
        #expect(candidates.contains { $0.table == "olap.sales" && $0.columns == ["cust_key"] }, "\(candidates)")
    }
}
