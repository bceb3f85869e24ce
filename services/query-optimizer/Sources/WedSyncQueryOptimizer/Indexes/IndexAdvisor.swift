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
    public var maximumCandidates = 12

    public init(minimumImprovement: MinimumImprovement = .init()) {
        self.minimumImprovement = minimumImprovement
    }

    public struct Candidate: Sendable, Hashable {
        public var table: RelationName
        public var columns: [String]
        public var predicate: String?

        public init(table: RelationName, columns: [String], predicate: String? = nil) {
            self.table = table
            self.columns = columns
            self.predicate = predicate
        }

        /// `CREATE INDEX [CONCURRENTLY] name ON schema.table (columns) [WHERE predicate]`: the index goes in the
        /// table's schema, so its name takes none.
        public func statement(concurrently: Bool) -> String {
            let name = String(
                ("idx_" + ([table.name] + columns).joined(separator: "_") + (predicate == nil ? "" : "_partial"))
                    .prefix(63)
            )
            return
                "CREATE INDEX \(concurrently ? "CONCURRENTLY " : "")\(Self.quoted(name)) ON \(table.sql) (\(columns.map(Self.quoted).joined(separator: ", ")))"
                + (predicate.map { " WHERE \($0)" } ?? "")
        }

        /// An identifier as SQL takes it: bare when it is plain lower case, else in double quotes.
        static func quoted(_ name: String) -> String {
            let plain =
                name.first.map { $0.isLowercase || $0 == "_" } == true
                && name.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
            return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }

    /// The candidates a plan suggests, most specific first, without those an existing index covers. A partial
    /// index is proposed only for a constant written in `sql` itself: a parameter's value shows in the plan as a
    /// constant too (`'7'::bigint`), and an index for one value of a parameter serves nobody else.
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
        var constants: [RelationName: [(column: String, text: String)]] = [:]
        var joins: [RelationName: [String]] = [:]
        var sorts: [RelationName: [String]] = [:]
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
                    } else if PredicateColumns.rangeOperators.contains(comparison.op) || comparison.op == "LIKE" {
                        add(column, to: &range, table)
                    }
                }
            }
            for key in node.sortKey ?? [] {
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
        }
        var candidates: [Candidate] = []
        func propose(_ table: RelationName, _ columns: [String], predicate: String? = nil) {
            var unique: [String] = []
            for column in columns where !unique.contains(column) { unique.append(column) }
            guard !unique.isEmpty, unique.count <= 4 else { return }
            let candidate = Candidate(table: table, columns: unique, predicate: predicate)
            guard !candidates.contains(candidate), predicate != nil || !catalog.covers(table, unique) else { return }
            candidates.append(candidate)
        }
        for table in Set(equality.keys).union(range.keys).union(joins.keys).union(sorts.keys).sorted() {
            let equal = equality[table] ?? []
            let ranged = (range[table] ?? []).filter { !equal.contains($0) }
            let sorted = (sorts[table] ?? []).filter { !equal.contains($0) }
            if let first = ranged.first { propose(table, equal + [first]) }
            if let first = sorted.first { propose(table, equal + [first]) }
            propose(table, equal)
            if let first = ranged.first { propose(table, [first]) }
            for column in joins[table] ?? [] { propose(table, [column]) }
            for (column, text) in constants[table] ?? [] {
                let rest = equal.filter { $0 != column } + ranged.prefix(1)
                if !rest.isEmpty { propose(table, Array(rest), predicate: "\(Candidate.quoted(column)) = \(text)") }
            }
        }
        return Array(candidates.prefix(maximumCandidates))
    }

    /// `'active'` of `'active'::text`: the constant as a statement would write it.
    static func literal(of constant: String) -> String {
        guard constant.hasPrefix("'"), let end = constant.dropFirst().lastIndex(of: "'") else { return constant }
        return String(constant[...end])
    }

    /// Tries each candidate as a hypothetical index on `connection` (inside the caller's transaction) and keeps
    /// those that cut the statement's cost enough, best first; a candidate whose columns lead a kept one that does
    /// as well is dropped (one index serving both).
    public func recommend(
        _ sql: String,
        params: [String?],
        plan: PlanNode,
        catalog: CatalogFacts,
        hypopg: Hypopg,
        on connection: PostgresConnection
    ) async throws -> [IndexRecommendation] {
        let candidates = candidates(plan, catalog: catalog, sql: sql)
        guard !candidates.isEmpty else { return [] }
        try await hypopg.reset(on: connection)
        let before = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan.totalCost
        var kept: [IndexRecommendation] = []
        for candidate in candidates {
            // Each try under a savepoint: a candidate PostgreSQL refuses (a column the plan's text misled us
            // about) is skipped, not the whole analysis.
            var tried: (after: Double, size: Int64)?
            try await connection.simpleQuery("SAVEPOINT candidate")
            do {
                let oid = try await hypopg.create(candidate.statement(concurrently: false), on: connection)
                let after = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan
                    .totalCost
                tried = (after, try await hypopg.size(oid, on: connection))
                try await connection.simpleQuery("RELEASE SAVEPOINT candidate")
            } catch let error as PostgresError where error.code == .server && error.sqlState != "57014" {
                try await connection.simpleQuery("ROLLBACK TO SAVEPOINT candidate")
            }
            try await hypopg.reset(on: connection)
            guard let (after, size) = tried, minimumImprovement.accepts(before: before, after: after) else { continue }
            kept.append(
                IndexRecommendation(
                    schema: candidate.table.schema,
                    table: candidate.table.name,
                    columns: candidate.columns,
                    predicate: candidate.predicate,
                    costBefore: before,
                    costAfter: after,
                    improvement: 1 - after / before,
                    estimatedSizeBytes: Int(size),
                    createStatement: candidate.statement(concurrently: true) + ";"
                )
            )
        }
        kept.sort { $0.costAfter != $1.costAfter ? $0.costAfter < $1.costAfter : $0.columns.count > $1.columns.count }
        return kept.filter { shorter in
            !kept.contains { longer in
                longer != shorter && longer.schema == shorter.schema && longer.table == shorter.table
                    && longer.predicate == shorter.predicate
                    && longer.columns.count > shorter.columns.count
                    && Array(longer.columns.prefix(shorter.columns.count)) == shorter.columns
                    && longer.costAfter <= shorter.costAfter * 1.05
            }
        }
    }
}
