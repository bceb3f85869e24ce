import WedSyncModels

/// Reads a plan for what to act on. Table sizes and foreign keys come from the catalog (``CatalogFacts``).
public struct PlanAnalyzer: Sendable {
    /// A sequential scan of a table this large that keeps this small a share of its rows is a finding.
    public var largeTableRows: Double = 10_000
    public var selectiveShare: Double = 0.1
    /// Row estimates off by more than this factor either way.
    public var estimateFactor: Double = 10
    /// A nested loop whose inner side runs this many times.
    public var manyLoops: Double = 1_000

    public init() {}

    /// `Seq Scan on clients`.
    static func label(_ node: PlanNode) -> String {
        node.relation.map { "\(node.nodeType) on \($0)" } ?? node.nodeType
    }

    public func findings(_ plan: PlanNode, catalog: CatalogFacts) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        for node in plan.allNodes {
            let label = Self.label(node)
            if node.nodeType.hasSuffix("Seq Scan"), let relation = node.relation,
                let tableRows = catalog.rows[relation], tableRows >= largeTableRows
            {
                let kept = node.actualRows.map { $0 * (node.actualLoops ?? 1) } ?? node.planRows
                let read = node.rowsRemovedByFilter.map { $0 * (node.actualLoops ?? 1) + kept } ?? tableRows
                if node.filter != nil, read > 0, kept / read <= selectiveShare {
                    findings.append(
                        PlanFinding(
                            kind: "seq_scan_selective",
                            severity: "critical",
                            node: label,
                            message:
                                "reads all \(Int(saturating: read)) rows of \(relation) to keep \(Int(saturating: kept)) (\(Self.percent(kept / read))) by \(node.filter ?? "a filter"): an index on the filtered columns would read only those"
                        )
                    )
                }
            }
            if let actual = node.actualRows, node.actualLoops ?? 1 > 0 {
                let estimated = max(node.planRows, 1)
                let measured = max(actual, 1)
                let factor = max(estimated / measured, measured / estimated)
                if factor > estimateFactor, max(node.planRows, actual) >= 100 {
                    findings.append(
                        PlanFinding(
                            kind: "row_estimate_off",
                            severity: "warning",
                            node: label,
                            message:
                                "estimated \(Int(saturating: node.planRows)) rows, found \(Int(saturating: actual)) (\(Int(saturating: factor.rounded()))x off): run ANALYZE on the table, or raise its statistics target for the columns involved"
                        )
                    )
                }
            }
            if node.nodeType == "Sort", node.sortSpaceType == "Disk" || (node.sortMethod ?? "").contains("external") {
                findings.append(
                    PlanFinding(
                        kind: "sort_spill",
                        severity: "warning",
                        node: label,
                        message:
                            "the sort spilled to disk (\(node.sortMethod ?? "external")): raise work_mem for this query, or give it an index in the sort order"
                    )
                )
            }
            if node.nodeType == "Hash", let batches = node.hashBatches, batches > 1 {
                findings.append(
                    PlanFinding(
                        kind: "hash_spill",
                        severity: "warning",
                        node: label,
                        message:
                            "the hash took \(Int(saturating: batches)) batches, spilling to disk: raise work_mem, or filter the hashed side earlier"
                    )
                )
            }
            if node.nodeType == "Nested Loop", node.children.count == 2, let loops = node.children[1].actualLoops,
                loops >= manyLoops
            {
                findings.append(
                    PlanFinding(
                        kind: "nested_loop_many_loops",
                        severity: "warning",
                        node: label,
                        message:
                            "the inner side (\(Self.label(node.children[1]))) ran \(Int(saturating: loops)) times: a hash join or an index on the inner join column would do it once"
                    )
                )
            }
        }
        findings += missingForeignKeyIndexes(plan, catalog: catalog)
        findings += indexOnlyOpportunities(plan, catalog: catalog)
        return findings
    }

    /// An index scan returning this many rows (over all loops) is worth making index-only.
    public var indexOnlyRows: Double = 100
    /// At most this many columns are proposed for `INCLUDE`.
    public var includeColumns = 3

    /// Index scans (and bitmap scans over one index) that visit the table only for a few columns the index lacks,
    /// or for none: with those columns in `INCLUDE`, or with the table vacuumed, the index alone would answer.
    /// Index-only scans that still fetch most rows from the table want a VACUUM. Needs the plan's output columns
    /// (`EXPLAIN VERBOSE`).
    func indexOnlyOpportunities(_ plan: PlanNode, catalog: CatalogFacts) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        for node in plan.allNodes {
            guard let relation = node.relation else { continue }
            let rows = (node.actualRows ?? node.planRows) * (node.actualLoops ?? 1)
            let visible =
                catalog.allVisibleShare[relation].map { " (\(Self.percent($0)) of its pages are all-visible)" } ?? ""
            if node.nodeType == "Index Only Scan", let fetches = node.heapFetches, rows >= indexOnlyRows * 10,
                fetches > rows / 2
            {
                findings.append(
                    PlanFinding(
                        kind: "index_only_heap_fetches",
                        severity: "info",
                        node: Self.label(node),
                        message:
                            "the index-only scan fetched \(Int(saturating: fetches)) of \(Int(saturating: rows)) rows from the table\(visible): VACUUM \(relation) so the visibility map lets the index answer alone"
                    )
                )
            }
            let scanned: String?
            switch node.nodeType {
            case "Index Scan": scanned = node.indexName
            case "Bitmap Heap Scan" where node.children.count == 1 && node.children[0].nodeType == "Bitmap Index Scan":
                scanned = node.children[0].indexName
            default: scanned = nil
            }
            guard let scanned, rows >= indexOnlyRows, let output = node.output,
                let index = catalog.indexes[relation]?.first(where: { $0.name == scanned }),
                !index.columns.contains("(expression)")
            else { continue }
            let own: Set<String?> = [nil, relation, node.alias]
            var needed: [String] = []
            for expression in output + [node.filter].compactMap({ $0 }) {
                for reference in PredicateColumns.columnReferences(in: expression)
                where own.contains(reference.qualifier) && !needed.contains(reference.column) {
                    needed.append(reference.column)
                }
            }
            let missing = needed.filter { !index.columns.contains($0) && !index.included.contains($0) }
            if missing.isEmpty {
                findings.append(
                    PlanFinding(
                        kind: "index_only_scan_possible",
                        severity: "info",
                        node: Self.label(node),
                        message:
                            "\(scanned) holds every column this scan needs, yet the scan reads the table\(visible): VACUUM \(relation) (or tune its autovacuum) and the planner can use an index-only scan"
                    )
                )
            } else if missing.count <= includeColumns, !index.isPartial {
                let quoted = IndexAdvisor.Candidate.quoted
                let keys = index.columns.map(quoted).joined(separator: ", ")
                findings.append(
                    PlanFinding(
                        kind: "index_only_scan_possible",
                        severity: "info",
                        node: Self.label(node),
                        message:
                            "the scan visits \(relation) only for \(missing.joined(separator: ", ")): CREATE INDEX CONCURRENTLY ON \(quoted(relation)) (\(keys)) INCLUDE (\(missing.map(quoted).joined(separator: ", "))) lets an index-only scan answer it (and can replace \(scanned) unless it enforces a constraint)"
                    )
                )
            }
        }
        return findings
    }

    /// Joins on a foreign key column that no index leads with.
    func missingForeignKeyIndexes(_ plan: PlanNode, catalog: CatalogFacts) -> [PlanFinding] {
        let aliases = Self.aliases(plan)
        var seen = Set<String>()
        var findings: [PlanFinding] = []
        for node in plan.allNodes {
            for condition in [node.joinCondition, node.indexCondition, node.filter].compactMap({ $0 }) {
                for comparison in PredicateColumns.comparisons(in: condition)
                where comparison.op == "=" && comparison.otherColumn != nil {
                    let sides = [
                        (comparison.qualifier, comparison.column), (comparison.otherQualifier, comparison.otherColumn!),
                    ]
                    for (qualifier, column) in sides {
                        guard let table = qualifier.flatMap({ aliases[$0] }) ?? node.relation,
                            catalog.foreignKeys[table]?.contains(column) == true,
                            !(catalog.indexes[table] ?? []).contains(where: { $0.columns.first == column }),
                            seen.insert("\(table).\(column)").inserted
                        else { continue }
                        findings.append(
                            PlanFinding(
                                kind: "missing_fk_index",
                                severity: "warning",
                                node: Self.label(node),
                                message:
                                    "\(table).\(column) is a foreign key used in a join, and no index starts with it: CREATE INDEX CONCURRENTLY ON \(table) (\(column))"
                            )
                        )
                    }
                }
            }
        }
        return findings
    }

    /// Alias → table, from the scan nodes.
    static func aliases(_ plan: PlanNode) -> [String: String] {
        var aliases: [String: String] = [:]
        for node in plan.allNodes {
            if let relation = node.relation {
                aliases[relation] = relation
                if let alias = node.alias { aliases[alias] = relation }
            }
        }
        return aliases
    }

    static func percent(_ share: Double) -> String {
        share < 0.001 ? "under 0.1%" : "\(Double(Int(saturating: share * 1000)) / 10)%"
    }
}

/// What the catalog says about the tables a plan touches.
public struct CatalogFacts: Sendable, Equatable {
    public struct Index: Sendable, Equatable {
        public var name: String
        /// The key columns in order; an expression key is `(expression)`.
        public var columns: [String]
        public var isPartial: Bool
        /// The `INCLUDE` columns.
        public var included: [String]

        public init(name: String, columns: [String], isPartial: Bool = false, included: [String] = []) {
            self.name = name
            self.columns = columns
            self.isPartial = isPartial
            self.included = included
        }
    }

    /// Estimated rows per table (`pg_class.reltuples`).
    public var rows: [String: Double] = [:]
    /// Columns of each table that are foreign keys (single-column constraints).
    public var foreignKeys: [String: Set<String>] = [:]
    /// Each table's indexes and their key columns in order.
    public var indexes: [String: [Index]] = [:]
    /// The share of each table's pages the visibility map marks all-visible (`relallvisible / relpages`): what an
    /// index-only scan can answer without visiting the table.
    public var allVisibleShare: [String: Double] = [:]

    public init(
        rows: [String: Double] = [:],
        foreignKeys: [String: Set<String>] = [:],
        indexes: [String: [Index]] = [:],
        allVisibleShare: [String: Double] = [:]
    ) {
        self.rows = rows
        self.foreignKeys = foreignKeys
        self.indexes = indexes
        self.allVisibleShare = allVisibleShare
    }

    /// Whether an existing index already leads with `columns` (the same leading columns, in order).
    public func covers(_ table: String, _ columns: [String]) -> Bool {
        (indexes[table] ?? []).contains {
            !$0.isPartial && $0.columns.count >= columns.count && Array($0.columns.prefix(columns.count)) == columns
        }
    }
}
