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
        public var table: String
        public var columns: [String]
        public var predicate: String?

        /// `CREATE INDEX [CONCURRENTLY] name ON table (columns) [WHERE predicate]`.
        public func statement(concurrently: Bool) -> String {
            let name = String(
                ("idx_" + ([table] + columns).joined(separator: "_") + (predicate == nil ? "" : "_partial")).prefix(63)
            )
            return
                "CREATE INDEX \(concurrently ? "CONCURRENTLY " : "")\(Self.quoted(name)) ON \(Self.quoted(table)) (\(columns.map(Self.quoted).joined(separator: ", ")))"
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
        let aliases = PlanAnalyzer.aliases(plan)
        // The constants the statement itself writes (not `$1` and its kin).
        let literals = Set(
            SQLLexer.tokens(sql).compactMap { token -> String? in
                switch token {
                case .literal(let text), .number(let text): text
                default: nil
                }
            }
        )
        var equality: [String: [String]] = [:]
        var range: [String: [String]] = [:]
        var constants: [String: [(column: String, text: String)]] = [:]
        var joins: [String: [String]] = [:]
        var sorts: [String: [String]] = [:]
        func add(_ column: String, to list: inout [String: [String]], _ table: String) {
            if !(list[table] ?? []).contains(column) { list[table, default: []].append(column) }
        }
        for node in plan.allNodes {
            for condition in [node.filter, node.indexCondition, node.joinCondition].compactMap({ $0 }) {
                for comparison in PredicateColumns.comparisons(in: condition) {
                    guard let table = comparison.qualifier.flatMap({ aliases[$0] }) ?? node.relation else { continue }
                    if let other = comparison.otherColumn {
                        guard comparison.op == "=" else { continue }
                        add(comparison.column, to: &joins, table)
                        if let otherTable = comparison.otherQualifier.flatMap({ aliases[$0] }) {
                            add(other, to: &joins, otherTable)
                        }
                    } else if comparison.op == "=" {
                        add(comparison.column, to: &equality, table)
                        if let constant = comparison.constant, literals.contains(Self.literal(of: constant)) {
                            constants[table, default: []].append((comparison.column, constant))
                        }
                    } else if PredicateColumns.rangeOperators.contains(comparison.op) || comparison.op == "LIKE" {
                        add(comparison.column, to: &range, table)
                    }
                }
            }
            for key in node.sortKey ?? [] {
                let words = key.split(separator: " ")
                guard let first = words.first else { continue }
                let parts = first.split(separator: ".").map(String.init)
                guard let last = parts.last else { continue }
                let column = last.trimmingCharacters(in: CharacterSet(charactersIn: "()\""))
                let relations = Set(aliases.values)
                let table = parts.count == 2 ? aliases[parts[0]] : (relations.count == 1 ? relations.first : nil)
                if let table, column.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    add(column, to: &sorts, table)
                }
            }
        }
        var candidates: [Candidate] = []
        func propose(_ table: String, _ columns: [String], predicate: String? = nil) {
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
        on connection: PostgresConnection
    ) async throws -> [IndexRecommendation] {
        let candidates = candidates(plan, catalog: catalog, sql: sql)
        guard !candidates.isEmpty else { return [] }
        _ = try await connection.query("SELECT hypopg_reset()", prepared: false)
        let before = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan.totalCost
        var kept: [IndexRecommendation] = []
        for candidate in candidates {
            // Each try under a savepoint: a candidate PostgreSQL refuses (a column the plan's text misled us
            // about) is skipped, not the whole analysis.
            var tried: (after: Double, size: Int64)?
            try await connection.simpleQuery("SAVEPOINT candidate")
            do {
                let created = try await connection.query(
                    PostgresQuery(
                        sql: "SELECT indexrelid::bigint FROM hypopg_create_index($1)",
                        binds: [candidate.statement(concurrently: false)]
                    ),
                    prepared: false
                )
                let oid = try created.first?.decode(Int64.self, at: 0) ?? 0
                let after = try await ExplainRunner.plan(sql, params: params, analyze: false, on: connection).plan
                    .totalCost
                let size = try await connection.query(
                    PostgresQuery(sql: "SELECT hypopg_relation_size($1::oid)::bigint", binds: [oid]),
                    prepared: false
                )
                tried = (after, try size.first?.decode(Int64.self, at: 0) ?? 0)
                try await connection.simpleQuery("RELEASE SAVEPOINT candidate")
            } catch let error as PostgresError where error.code == .server && error.sqlState != "57014" {
                try await connection.simpleQuery("ROLLBACK TO SAVEPOINT candidate")
            }
            _ = try await connection.query("SELECT hypopg_reset()", prepared: false)
            guard let (after, size) = tried, minimumImprovement.accepts(before: before, after: after) else { continue }
            kept.append(
                IndexRecommendation(
                    table: candidate.table,
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
                longer != shorter && longer.table == shorter.table && longer.predicate == shorter.predicate
                    && longer.columns.count > shorter.columns.count
                    && Array(longer.columns.prefix(shorter.columns.count)) == shorter.columns
                    && longer.costAfter <= shorter.costAfter * 1.05
            }
        }
    }
}
