import Foundation
import WedSyncPostgres

/// Reads what the analysis needs from PostgreSQL's catalog for the tables of a plan. Only valid B-tree indexes
/// count as covering a candidate; an expression key stands as `(expression)`, which no column matches.
public enum CatalogReader {
    /// Whether the extension `name` is installed in the database.
    public static func hasExtension(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        try await !connection.query(
            PostgresQuery(sql: "SELECT 1 FROM pg_extension WHERE extname = $1", binds: [name]),
            prepared: false
        ).isEmpty
    }

    /// Sizes, single-column foreign keys and index key columns of `tables` (names as the plan gives them).
    public static func facts(for tables: Set<String>, on connection: PostgresConnection) async throws -> CatalogFacts {
        guard !tables.isEmpty else { return CatalogFacts() }
        let names =
            "{"
            + tables.sorted().map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }.joined(separator: ",") + "}"
        var facts = CatalogFacts()
        let sizes = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT c.relname, GREATEST(c.reltuples, COALESCE(s.n_live_tup, 0))::float8,
                        CASE WHEN c.relpages > 0 THEN least(c.relallvisible::float8 / c.relpages, 1) END FROM pg_class c
                    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                    WHERE c.relkind IN ('r', 'p', 'm') AND c.relname = ANY($1::text[]) AND pg_table_is_visible(c.oid)
                    """,
                binds: [names]
            ),
            prepared: false
        )
        for row in sizes {
            let table = try row.decode(String.self, at: 0)
            facts.rows[table] = try row.decode(Double.self, at: 1)
            facts.allVisibleShare[table] = try row.decode(Double?.self, at: 2)
        }
        let keys = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT t.relname, a.attname FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                    WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 AND t.relname = ANY($1::text[]) AND pg_table_is_visible(t.oid)
                    """,
                binds: [names]
            ),
            prepared: false
        )
        for row in keys {
            facts.foreignKeys[try row.decode(String.self, at: 0), default: []].insert(
                try row.decode(String.self, at: 1)
            )
        }
        let indexes = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT t.relname, i.relname,
                        COALESCE((SELECT string_agg(COALESCE(a.attname, '(expression)'), ',' ORDER BY k.ord)
                            FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                            LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 WHERE k.ord <= x.indnkeyatts), ''),
                        x.indpred IS NOT NULL,
                        COALESCE((SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                            FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE k.ord > x.indnkeyatts), '')
                    FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am m ON m.oid = i.relam
                    WHERE t.relname = ANY($1::text[]) AND pg_table_is_visible(t.oid) AND x.indisvalid AND m.amname = 'btree'
                    """,
                binds: [names]
            ),
            prepared: false
        )
        for row in indexes {
            let columns = try row.decode(String.self, at: 2)
            let included = try row.decode(String.self, at: 4)
            facts.indexes[try row.decode(String.self, at: 0), default: []].append(
                CatalogFacts.Index(
                    name: try row.decode(String.self, at: 1),
                    columns: columns.isEmpty ? [] : columns.split(separator: ",").map(String.init),
                    isPartial: try row.decode(Bool.self, at: 3),
                    included: included.isEmpty ? [] : included.split(separator: ",").map(String.init)
                )
            )
        }
        return facts
    }
}
