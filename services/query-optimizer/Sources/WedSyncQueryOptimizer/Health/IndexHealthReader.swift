import Foundation
import WedSyncModels
import WedSyncPostgres

/// Unused, duplicate and redundant indexes of the configured database, as PgHero reads them: an index never
/// scanned since the statistics reset (and enforcing no constraint); an index with the same key columns as
/// another of the same table (`duplicate`), or whose columns lead another's (`prefix`), of the same kind,
/// predicate, operator classes, collations and orderings.
public struct IndexHealthReader: Sendable {
    public init() {}

    /// One index as the catalog describes it, for the redundancy rules.
    public struct Definition: Sendable, Equatable {
        public var schema: String
        public var table: String
        public var name: String
        /// Key column numbers (`pg_index.indkey`, 0 for an expression), then the `INCLUDE` ones.
        public var keys: [Int]
        public var included: [Int]
        /// Per key column, its operator class, collation and options (`DESC`, `NULLS FIRST`): a `text_pattern_ops`
        /// or descending index is not the same index as a plain one on the same column.
        public var keyDetails: [String]
        public var method: String
        /// Expressions and predicate, as `pg_get_expr` writes them ("" when none).
        public var expressions: String
        public var predicate: String
        public var isUnique: Bool
        /// Backs a primary key, unique or exclusion constraint.
        public var enforcesConstraint: Bool
        public var sizeBytes: Int

        public init(
            schema: String = "public",
            table: String,
            name: String,
            keys: [Int],
            included: [Int] = [],
            keyDetails: [String] = [],
            method: String = "btree",
            expressions: String = "",
            predicate: String = "",
            isUnique: Bool = false,
            enforcesConstraint: Bool = false,
            sizeBytes: Int = 0
        ) {
            self.schema = schema
            self.table = table
            self.name = name
            self.keys = keys
            self.included = included
            self.keyDetails = keyDetails
            self.method = method
            self.expressions = expressions
            self.predicate = predicate
            self.isUnique = isUnique
            self.enforcesConstraint = enforcesConstraint
            self.sizeBytes = sizeBytes
        }

        /// Each key column with its operator class, collation and options.
        var signature: [String] {
            keys.enumerated().map { index, key in index < keyDetails.count ? "\(key)/\(keyDetails[index])" : String(key)
            }
        }

        /// `schema.table` outside `public`, else the table alone.
        var qualifiedTable: String { schema == "public" ? table : "\(schema).\(table)" }
    }

    public func read(on connection: PostgresConnection) async throws -> IndexHealthReport {
        let reset = try await connection.query(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()",
            prepared: false
        )
        let unused = try await connection.query(
            """
            SELECT CASE WHEN s.schemaname = 'public' THEN s.relname ELSE s.schemaname || '.' || s.relname END,
                s.indexrelname, pg_relation_size(s.indexrelid)::bigint, s.idx_scan::bigint, pg_get_indexdef(s.indexrelid)
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
            ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname LIMIT 200
            """,
            prepared: false
        )
        let definitions = try await connection.query(
            """
            SELECT t.relname, c.relname, i.indkey::text, i.indnkeyatts, m.amname, COALESCE(pg_get_expr(i.indexprs, i.indrelid), ''),
                COALESCE(pg_get_expr(i.indpred, i.indrelid), ''), i.indisunique,
                EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid), pg_relation_size(i.indexrelid)::bigint,
                n.nspname, i.indclass::text, i.indcollation::text, i.indoption::text
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_am m ON m.oid = c.relam
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND i.indisvalid
            """,
            prepared: false
        )
        let ratio = try await connection.query(
            "SELECT (sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit + idx_blks_read), 0)) FROM pg_statio_user_indexes",
            prepared: false
        )
        var indexes: [Definition] = []
        for row in definitions {
            let columns = try row.decode(String.self, at: 2).split(separator: " ").compactMap { Int($0) }
            let keyCount = try row.decode(Int.self, at: 3)
            let classes = try row.decode(String.self, at: 11).split(separator: " ")
            let collations = try row.decode(String.self, at: 12).split(separator: " ")
            let options = try row.decode(String.self, at: 13).split(separator: " ")
            let details = (0..<keyCount).map { index in
                [classes, collations, options].map { index < $0.count ? String($0[index]) : "" }.joined(separator: "/")
            }
            indexes.append(
                Definition(
                    schema: try row.decode(String.self, at: 10),
                    table: try row.decode(String.self, at: 0),
                    name: try row.decode(String.self, at: 1),
                    keys: Array(columns.prefix(keyCount)),
                    included: Array(columns.dropFirst(keyCount)),
                    keyDetails: details,
                    method: try row.decode(String.self, at: 4),
                    expressions: try row.decode(String.self, at: 5),
                    predicate: try row.decode(String.self, at: 6),
                    isUnique: try row.decode(Bool.self, at: 7),
                    enforcesConstraint: try row.decode(Bool.self, at: 8),
                    sizeBytes: Int(try row.decode(Int64.self, at: 9))
                )
            )
        }
        return IndexHealthReport(
            statisticsSince: try reset.first?.decode(Date?.self, at: 0),
            unused: try unused.map { row in
                IndexUsage(
                    table: try row.decode(String.self, at: 0),
                    index: try row.decode(String.self, at: 1),
                    sizeBytes: Int(try row.decode(Int64.self, at: 2)),
                    scans: Int(try row.decode(Int64.self, at: 3)),
                    definition: try row.decode(String.self, at: 4)
                )
            },
            redundant: Self.redundant(indexes),
            indexCacheHitRatio: try ratio.first?.decode(Double?.self, at: 0)
        )
    }

    /// The indexes another one makes needless. Of duplicates (the same kind, key columns, expressions and
    /// predicate), the one enforcing a constraint stays, else a unique one, else the one with most `INCLUDE`
    /// columns, else the first by name. An index whose key columns lead a longer one's is redundant unless it is
    /// unique (fewer unique columns promise more) or enforces a constraint.
    public static func redundant(_ indexes: [Definition]) -> [RedundantIndex] {
        var found: [RedundantIndex] = []
        func add(_ index: Definition, _ cover: Definition, _ reason: String) {
            let quoted = IndexAdvisor.Candidate.quoted
            found.append(
                RedundantIndex(
                    table: index.qualifiedTable,
                    index: index.name,
                    coveredBy: cover.name,
                    reason: reason,
                    sizeBytes: index.sizeBytes,
                    dropStatement: "DROP INDEX CONCURRENTLY \(quoted(index.schema)).\(quoted(index.name));"
                )
            )
        }
        let kinds = Dictionary(grouping: indexes) { [$0.schema, $0.table, $0.method, $0.expressions, $0.predicate] }
        for (_, kind) in kinds {
            var dropped = Set<String>()
            for (_, same) in Dictionary(grouping: kind, by: \.signature) where same.count > 1 {
                let ranked = same.sorted { a, b in
                    if a.enforcesConstraint != b.enforcesConstraint { return a.enforcesConstraint }
                    if a.isUnique != b.isUnique { return a.isUnique }
                    if a.included.count != b.included.count { return a.included.count > b.included.count }
                    return a.name < b.name
                }
                for index in ranked.dropFirst()
                where !index.enforcesConstraint && Set(index.included).isSubset(of: Set(ranked[0].included)) {
                    add(index, ranked[0], "duplicate")
                    dropped.insert(index.name)
                }
            }
            let remaining = kind.filter { !dropped.contains($0.name) }
            for index in remaining
            where index.method == "btree" && !index.isUnique && !index.enforcesConstraint && !index.keys.contains(0) {
                let covers = remaining.filter { other in
                    other.keys.count > index.keys.count
                        && Array(other.signature.prefix(index.keys.count)) == index.signature
                        && Set(index.included).isSubset(of: Set(other.keys + other.included))
                }
                if let cover = covers.max(by: {
                    $0.keys.count != $1.keys.count ? $0.keys.count < $1.keys.count : $0.name > $1.name
                }) {
                    add(index, cover, "prefix")
                }
            }
        }
        return found.sorted { $0.sizeBytes != $1.sizeBytes ? $0.sizeBytes > $1.sizeBytes : $0.index < $1.index }
    }
}
