import Foundation
import WedSyncModels
import WedSyncPostgres

/// Proposes indexes from a plan's predicates, joins and ordering, and keeps only those a hypothetical index
/// (hypopg) proves: the planner's cost of the statement must fall by at least ``minimumImprovement``
/// (``MinimumImprovement``: a tenth of it and 100 units, by default).
///
/// Candidates per table put equality columns first, then one range column, or the sort column; a join column
/// alone; and, for a constant equality (`status = 'active'`), a partial index on the other columns. A candidate
/// an existing index already leads with (the same leading columns) is not tried.
public struct IndexAdvisor: Sendable {
    public var minimumImprovement: MinimumImprovement
    public var maximumCandidates = 24
    /// `INCLUDE` columns at most.
    public var maximumIncluded = 3

    public init(minimumImprovement: MinimumImprovement = .init()) {
        self.minimumImprovement = minimumImprovement
    }

    /// The candidates a plan suggests, without those whose key columns an existing index already leads with. Per
    /// table, most specific first: equality columns then one range, `LIKE` prefix or sort/group column (the
    /// prefix also with `text_pattern_ops`, which a collation other than C needs); the equality columns alone; a
    /// range column alone; each join column alone (both sides of a join, the inner side of a nested loop, a
    /// correlated subquery's column); the same with the few other columns the table's scans read as `INCLUDE`
    /// (an index-only scan); and, for a constant equality the SQL writes (`status = 'active'`), a partial index
    /// on the other columns. A parameter's value shows in the plan as a constant too (`'7'::bigint`), and an index
    /// for one value of a parameter serves nobody else. Tables take turns, so the cap
    /// (``maximumCandidates``) cuts each table's least specific ones first.
    public func candidates(_ plan: PlanNode, catalog: CatalogFacts, sql: String) -> [Candidate] {
        let resolver = ColumnResolver(plan)
        // The constants the statement itself writes (not `$1` and its kin).
        let literals = Set(
            SQLLexer.tokens(sql).compactMap { token -> String? in
                switch token {
                case .literal(let text), .number(let text): text
                default: nil
                }
            }
        )
        var equality: [RelationName: [String]] = [:]
        var range: [RelationName: [String]] = [:]
        var patterns: [RelationName: Set<String>] = [:]
        var constants: [RelationName: [(column: String, text: String)]] = [:]
        var joins: [RelationName: [String]] = [:]
        var sorts: [RelationName: [String]] = [:]
        var needed: [RelationName: [String]] = [:]
        func add(_ column: String, to list: inout [RelationName: [String]], _ table: RelationName) {
            if !(list[table] ?? []).contains(column) { list[table, default: []].append(column) }
        }
        for node in plan.allNodes {
            for condition in [node.filter, node.indexCondition, node.joinCondition].compactMap({ $0 }) {
                for comparison in PredicateColumns.comparisons(in: condition) {
                    guard let (table, column) = resolver.resolve(comparison.qualifier, comparison.column, in: node)
                    else { continue }
                    if let other = comparison.otherColumn {
                        guard comparison.op == "=" else { continue }
                        add(column, to: &joins, table)
                        if let otherQualifier = comparison.otherQualifier,
                            let (otherTable, otherColumn) = resolver.resolve(otherQualifier, other, in: node)
                        {
                            add(otherColumn, to: &joins, otherTable)
                        }
                    } else if comparison.op == "=" {
                        add(column, to: &equality, table)
                        if let constant = comparison.constant, literals.contains(Self.literal(of: constant)) {
                            constants[table, default: []].append((column, constant))
                        }
                    } else if PredicateColumns.rangeOperators.contains(comparison.op) {
                        add(column, to: &range, table)
                    } else if comparison.op == "LIKE", let constant = comparison.constant,
                        !constant.hasPrefix("'%"), !constant.hasPrefix("'_")
                    {
                        // A fixed prefix: a B-tree serves it, with `text_pattern_ops` unless the collation is C.
                        add(column, to: &range, table)
                        patterns[table, default: []].insert(column)
                    }
                }
            }
            for key in (node.sortKey ?? []) + (node.groupKey ?? []) {
                let words = key.split(separator: " ")
                guard let first = words.first else { continue }
                let parts = first.split(separator: ".").map(String.init)
                guard let last = parts.last else { continue }
                let name = last.trimmingCharacters(in: CharacterSet(charactersIn: "()\""))
                let relations = Set(resolver.tables.values)
                let found =
                    parts.count == 2
                    ? resolver.resolve(parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "(")), name, in: node)
                    : relations.count == 1 ? relations.first.map { ($0, name) } : nil
                if let (table, column) = found, column.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    add(column, to: &sorts, table)
                }
            }
            // The columns this scan reads: what it returns, and what its conditions test.
            if let table = node.relationName {
                let expressions = (node.output ?? []) + [node.filter, node.indexCondition].compactMap { $0 }
                for expression in expressions {
                    for reference in PredicateColumns.columnReferences(in: expression)
                    where reference.qualifier == nil || reference.qualifier == node.alias {
                        add(reference.column, to: &needed, table)
                    }
                }
            }
        }
        var proposed: [RelationName: [Candidate]] = [:]
        func propose(
            _ table: RelationName,
            _ columns: [String],
            predicate: String? = nil,
            operatorClasses: [String: String] = [:]
        ) {
            var unique: [String] = []
            for column in columns where !unique.contains(column) { unique.append(column) }
            guard !unique.isEmpty, unique.count <= 4, !catalog.covers(table, unique) else { return }
            var list = proposed[table] ?? []
            let candidate = Candidate(
                table: table,
                columns: unique,
                predicate: predicate,
                operatorClasses: operatorClasses
            )
            if !list.contains(candidate) { list.append(candidate) }
            // The same with the other columns the scans read, when a few: the index alone then answers.
            let rest = (needed[table] ?? []).filter { !unique.contains($0) }
            if predicate == nil, (1...maximumIncluded).contains(rest.count) {
                var covering = candidate
                covering.include = rest
                if !list.contains(covering) { list.append(covering) }
            }
            proposed[table] = list
        }
        for table in Set(equality.keys).union(range.keys).union(joins.keys).union(sorts.keys) {
            let equal = equality[table] ?? []
            let ranged = (range[table] ?? []).filter { !equal.contains($0) }
            let sorted = (sorts[table] ?? []).filter { !equal.contains($0) }
            if let first = ranged.first {
                propose(table, equal + [first])
                if patterns[table]?.contains(first) == true {
                    propose(table, equal + [first], operatorClasses: [first: "text_pattern_ops"])
                }
            }
            if let first = sorted.first { propose(table, equal + [first]) }
            propose(table, equal)
            if let first = ranged.first, !equal.isEmpty {
                propose(table, [first])
                if patterns[table]?.contains(first) == true {
                    propose(table, [first], operatorClasses: [first: "text_pattern_ops"])
                }
            }
            for column in joins[table] ?? [] { propose(table, [column]) }
            for (column, text) in constants[table] ?? [] {
                let rest = equal.filter { $0 != column } + ranged.prefix(1)
                if !rest.isEmpty { propose(table, Array(rest), predicate: "\(Candidate.quoted(column)) = \(text)") }
            }
        }
        // Tables take turns: each one's first, then each one's second...
        var candidates: [Candidate] = []
        let tables = proposed.keys.sorted()
        var turn = 0
        while candidates.count < maximumCandidates, tables.contains(where: { proposed[$0]!.count > turn }) {
            for table in tables where turn < proposed[table]!.count && candidates.count < maximumCandidates {
                candidates.append(proposed[table]![turn])
            }
            turn += 1
        }
        return candidates
    }

    /// `'active'` of `'active'::text`: the constant as a statement would write it.
    static func literal(of constant: String) -> String {
        guard constant.hasPrefix("'"), let end = constant.dropFirst().lastIndex(of: "'") else { return constant }
        return String(constant[...end])
    }

    /// What ``recommend(_:params:plan:catalog:hypopg:on:)`` proves.
    public struct Advice: Sendable {
        public var recommendations: [IndexRecommendation]
        public var combinations: [IndexCombination]
    }

    /// Pairs of indexes tried at most, from the candidates that did best alone.
    public var maximumPairs = 10

    /// Tries each candidate as a hypothetical index on `connection` (inside the caller's transaction) and keeps
    /// those that cut the statement's cost enough, best first; a candidate whose columns lead a kept one that does
    /// as well is dropped (one index serving both), as is one needing `text_pattern_ops` when the plain index does
    /// as well (a C collation). Then pairs of the candidates that did best alone (kept or not: a join may need both
    /// sides): a pair is a combination when it beats the best single index by the minimum improvement again.
    public func recommend(
        _ sql: String,
        params: [String?],
        plan: PlanNode,
        catalog: CatalogFacts,
        hypopg: Hypopg,
        on connection: PostgresConnection
    ) async throws -> Advice {
        let candidates = candidates(plan, catalog: catalog, sql: sql)
        guard !candidates.isEmpty else { return Advice(recommendations: [], combinations: []) }
        try await hypopg.reset(on: connection)
        let before = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan.totalCost
        /// The statement's cost with `indexes` made hypothetically, and their sizes; `nil` when PostgreSQL refuses
        /// one (a column the plan's text misled us about): under a savepoint, so only that try is lost.
        func trial(_ indexes: [Candidate]) async throws -> (after: Double, sizes: [Int64])? {
            var tried: (after: Double, sizes: [Int64])?
            try await connection.simpleQuery("SAVEPOINT candidate")
            do {
                var oids: [Int64] = []
                for index in indexes {
                    oids.append(try await hypopg.create(index.statement(concurrently: false), on: connection))
                }
                let after = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan
                    .totalCost
                var sizes: [Int64] = []
                for oid in oids { sizes.append(try await hypopg.size(oid, on: connection)) }
                tried = (after, sizes)
                try await connection.simpleQuery("RELEASE SAVEPOINT candidate")
            } catch let error as PostgresError where error.code == .server && error.sqlState != "57014" {
                try await connection.simpleQuery("ROLLBACK TO SAVEPOINT candidate")
            }
            try await hypopg.reset(on: connection)
            return tried
        }
        var singles: [(candidate: Candidate, after: Double)] = []
        var kept: [(candidate: Candidate, recommendation: IndexRecommendation)] = []
        for candidate in candidates {
            guard let tried = try await trial([candidate]) else { continue }
            singles.append((candidate, tried.after))
            guard minimumImprovement.accepts(before: before, after: tried.after) else { continue }
            kept.append(
                (
                    candidate,
                    IndexRecommendation(
                        schema: candidate.table.schema,
                        table: candidate.table.name,
                        columns: candidate.columns,
                        predicate: candidate.predicate,
                        include: candidate.include.isEmpty ? nil : candidate.include,
                        costBefore: before,
                        costAfter: tried.after,
                        improvement: 1 - tried.after / before,
                        estimatedSizeBytes: Int(tried.sizes.first ?? 0),
                        createStatement: candidate.statement(concurrently: true) + ";"
                    )
                )
            )
        }
        kept.sort {
            $0.recommendation.costAfter != $1.recommendation.costAfter
                ? $0.recommendation.costAfter < $1.recommendation.costAfter
                : $0.candidate.columns.count > $1.candidate.columns.count
        }
        let recommendations = kept.filter { shorter in
            !kept.contains { other in
                guard other.candidate != shorter.candidate, other.candidate.table == shorter.candidate.table,
                    other.candidate.predicate == shorter.candidate.predicate
                else { return false }
                // The same key with less: a plain index where the pattern one does no better, no INCLUDE where
                // it does no better.
                if other.candidate.columns == shorter.candidate.columns {
                    let simpler =
                        other.candidate.operatorClasses.count < shorter.candidate.operatorClasses.count
                        || other.candidate.include.count < shorter.candidate.include.count
                    return simpler && other.recommendation.costAfter <= shorter.recommendation.costAfter * 1.001
                }
                return other.candidate.columns.count > shorter.candidate.columns.count
                    && Array(other.candidate.columns.prefix(shorter.candidate.columns.count))
                        == shorter.candidate.columns
                    && other.recommendation.costAfter <= shorter.recommendation.costAfter * 1.05
            }
        }.map(\.recommendation)
        // Pairs of the best singles, on different keys.
        let best = singles.sorted { $0.after < $1.after }
        let bestAlone = min(best.first?.after ?? before, before)
        var pool: [Candidate] = []
        for single in best where pool.count < 5 {
            if !pool.contains(where: { $0.table == single.candidate.table && $0.columns == single.candidate.columns }) {
                pool.append(single.candidate)
            }
        }
        var combination: IndexCombination?
        var pairs = 0
        for first in pool.indices {
            for second in pool.indices where second > first && pairs < maximumPairs {
                pairs += 1
                guard let tried = try await trial([pool[first], pool[second]]),
                    minimumImprovement.accepts(before: bestAlone, after: tried.after),
                    tried.after < combination?.costAfter ?? .infinity
                else { continue }
                combination = IndexCombination(
                    createStatements: [pool[first], pool[second]].map { $0.statement(concurrently: true) + ";" },
                    costBefore: before,
                    costAfter: tried.after,
                    improvement: 1 - tried.after / before
                )
            }
        }
        return Advice(recommendations: recommendations, combinations: combination.map { [$0] } ?? [])
    }
}
