import Foundation
import WedSyncPostgres

/// Reads what the analysis needs from PostgreSQL's catalog for the tables of a plan, found by OID: a table the
/// plan names with its schema is that schema's, whatever the search path; one named alone is the one the search
/// path finds, as the statement found it. Only valid B-tree indexes count as covering a candidate; an expression
/// key stands as `(expression)`, which no column matches.
public enum CatalogReader {
    /// Whether the extension `name` is installed in the database.
    public static func hasExtension(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        try await !connection.query(
            PostgresQuery(sql: "SELECT 1 FROM pg_extension WHERE extname = $1", binds: [name]),
            prepared: false
        ).isEmpty
    }

    /// Sizes, single-column foreign keys and index key columns of `tables`, keyed as given.
    public static func facts(for tables: Set<RelationName>, on connection: PostgresConnection) async throws
        -> CatalogFacts
    {
        let named = try await oids(of: tables, on: connection)
        guard !named.isEmpty else { return CatalogFacts() }
        let oids = "{" + named.keys.sorted().map(String.init).joined(separator: ",") + "}"
        var facts = CatalogFacts()
        let sizes = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT c.oid::bigint, GREATEST(c.reltuples, COALESCE(s.n_live_tup, 0))::float8,
                        CASE WHEN c.relpages > 0 THEN least(c.relallvisible::float8 / c.relpages, 1) END FROM pg_class c
                    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                    WHERE c.relkind IN ('r', 'p', 'm') AND c.oid = ANY($1::oid[])
                    """,
                binds: [oids]
            ),
            prepared: false
        )
        for row in sizes {
            for table in named[try row.decode(Int64.self, at: 0)] ?? [] {
                facts.rows[table] = try row.decode(Double.self, at: 1)
                facts.allVisibleShare[table] = try row.decode(Double?.self, at: 2)
            }
        }
        let keys = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT k.conrelid::bigint, a.attname FROM pg_constraint k
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                    WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 AND k.conrelid = ANY($1::oid[])
                    """,
                binds: [oids]
            ),
            prepared: false
        )
        for row in keys {
            for table in named[try row.decode(Int64.self, at: 0)] ?? [] {
                facts.foreignKeys[table, default: []].insert(try row.decode(String.self, at: 1))
            }
        }
        let indexes = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT x.indrelid::bigint, i.relname,
                        COALESCE((SELECT string_agg(COALESCE(a.attname, '(expression)'), ',' ORDER BY k.ord)
                            FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                            LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0 WHERE k.ord <= x.indnkeyatts), ''),
                        x.indpred IS NOT NULL,
                        COALESCE((SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                            FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum WHERE k.ord > x.indnkeyatts), '')
                    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am m ON m.oid = i.relam
                    WHERE x.indrelid = ANY($1::oid[]) AND x.indisvalid AND m.amname = 'btree'
                    """,
                binds: [oids]
            ),
            prepared: false
        )
        for row in indexes {
            let columns = try row.decode(String.self, at: 2)
            let included = try row.decode(String.self, at: 4)
            let index = CatalogFacts.Index(
                name: try row.decode(String.self, at: 1),
                columns: columns.isEmpty ? [] : columns.split(separator: ",").map(String.init),
                isPartial: try row.decode(Bool.self, at: 3),
                included: included.isEmpty ? [] : included.split(separator: ",").map(String.init)
            )
            for table in named[try row.decode(Int64.self, at: 0)] ?? [] {
                facts.indexes[table, default: []].append(index)
            }
        }
        return facts
    }

    /// Each table's OID, and the names (of `tables`) that lead to it: `olap.sales` in its schema, `clients`
    /// through the search path (`to_regclass`). Tables not found are left out.
    static func oids(of tables: Set<RelationName>, on connection: PostgresConnection) async throws
        -> [Int64: [RelationName]]
    {
        guard !tables.isEmpty else { return [:] }
        let sorted = tables.sorted()
        let rows = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT r.i::int, c.oid::bigint FROM unnest($1::text[], $2::text[]) WITH ORDINALITY r(s, n, i)
                    JOIN pg_class c ON c.oid = CASE WHEN r.s = '' THEN to_regclass(quote_ident(r.n))
                        ELSE (SELECT t.oid FROM pg_class t JOIN pg_namespace ns ON ns.oid = t.relnamespace
                            WHERE ns.nspname = r.s AND t.relname = r.n) END
                    """,
                binds: [arrayLiteral(sorted.map { $0.schema ?? "" }), arrayLiteral(sorted.map(\.name))]
            ),
            prepared: false
        )
        var named: [Int64: [RelationName]] = [:]
        for row in rows {
            let position = try row.decode(Int.self, at: 0)
            named[try row.decode(Int64.self, at: 1), default: []].append(sorted[position - 1])
        }
        return named
    }

    /// `{"a","b"}`: a text array as PostgreSQL reads it from a string.
    static func arrayLiteral(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }.joined(separator: ",") + "}"
    }
}
