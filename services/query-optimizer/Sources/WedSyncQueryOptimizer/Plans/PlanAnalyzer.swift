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

    /// `Seq Scan on public.clients`: the node and its table, with the schema when the plan names it.
    static func label(_ node: PlanNode) -> String {
        node.relationName.map { "\(node.nodeType) on \($0)" } ?? node.nodeType
    }

    public func findings(_ plan: PlanNode, catalog: CatalogFacts) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        for node in plan.allNodes {
            let label = Self.label(node)
            if node.nodeType.hasSuffix("Seq Scan"), let relation = node.relationName,
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
            guard let relation = node.relationName else { continue }
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
                            "the index-only scan fetched \(Int(saturating: fetches)) of \(Int(saturating: rows)) rows from the table\(visible): VACUUM \(relation.sql) so the visibility map lets the index answer alone"
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
            let own: Set<String?> = [nil, relation.name, node.alias]
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
                            "\(scanned) holds every column this scan needs, yet the scan reads the table\(visible): VACUUM \(relation.sql) (or tune its autovacuum) and the planner can use an index-only scan"
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
                            "the scan visits \(relation) only for \(missing.joined(separator: ", ")): CREATE INDEX CONCURRENTLY ON \(relation.sql) (\(keys)) INCLUDE (\(missing.map(quoted).joined(separator: ", "))) lets an index-only scan answer it (and can replace \(scanned) unless it enforces a constraint)"
                    )
                )
            }
        }
        return findings
    }

    /// Joins on a foreign key column that no index leads with.
    func missingForeignKeyIndexes(_ plan: PlanNode, catalog: CatalogFacts) -> [PlanFinding] {
        let resolver = ColumnResolver(plan)
        var seen = Set<String>()
        var findings: [PlanFinding] = []
        for node in plan.allNodes {
            for condition in [node.joinCondition, node.indexCondition, node.filter].compactMap({ $0 }) {
                for comparison in PredicateColumns.comparisons(in: condition)
                where comparison.op == "=" && comparison.otherColumn != nil {
                    let sides = [
                        (comparison.qualifier, comparison.column), (comparison.otherQualifier, comparison.otherColumn!),
                    ]
                    for (qualifier, name) in sides {
                        guard let (table, column) = resolver.resolve(qualifier, name, in: node),
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
                                    "\(table).\(column) is a foreign key used in a join, and no index starts with it: CREATE INDEX CONCURRENTLY ON \(table.sql) (\(IndexAdvisor.Candidate.quoted(column)))"
                            )
                        )
                    }
                }
            }
        }
        return findings
    }

    /// The name each scan's columns are qualified with (its alias, unique across the statement) → its table;
    /// and a table's own name → the table, where no alias took that name (plans without `VERBOSE` may qualify
    /// by it).
    static func aliases(_ plan: PlanNode) -> [String: RelationName] {
        var aliases: [String: RelationName] = [:]
        let scans = plan.allNodes.compactMap { node in node.relationName.map { (node.alias, $0) } }
        for case (let alias?, let relation) in scans { aliases[alias] = relation }
        for (_, relation) in scans where aliases[relation.name] == nil { aliases[relation.name] = relation }
        return aliases
    }

    static func percent(_ share: Double) -> String {
        share < 0.001 ? "under 0.1%" : "\(Double(Int(saturating: share * 1000)) / 10)%"
    }
}
