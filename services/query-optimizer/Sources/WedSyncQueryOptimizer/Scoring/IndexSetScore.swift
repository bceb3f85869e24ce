import Foundation
import WedSyncPostgres

/// Scores a set of indexes on statements as an index advisor is judged, whoever proposed them: each index made
/// hypothetically (hypopg) on one connection, each statement planned with plain `EXPLAIN`, its total cost taken.
/// Run it on a session of its own (a pool made for it) for a figure nothing else in a session can move.
public enum IndexSetScore {
    /// Each statement's planner cost with `indexes` (`CREATE INDEX` statements; `CONCURRENTLY` is dropped, hypopg
    /// takes none) made hypothetically; the hypothetical indexes are gone afterwards. Throws when hypopg refuses
    /// an index or a statement cannot be planned.
    public static func costs(
        of statements: [String],
        with indexes: [String],
        on connection: PostgresConnection
    ) async throws -> [Double] {
        guard let hypopg = try await Hypopg.find(on: connection) else {
            throw Unavailable(description: "hypopg is not installed in the database")
        }
        try await hypopg.reset(on: connection)
        do {
            for index in indexes {
                _ = try await hypopg.create(plain(index), on: connection)
            }
            var costs: [Double] = []
            for statement in statements {
                costs.append(
                    try await ExplainRunner.plan(statement, params: [], analyze: false, on: connection).plan.totalCost
                )
            }
            try await hypopg.reset(on: connection)
            return costs
        } catch {
            try? await hypopg.reset(on: connection)
            throw error
        }
    }

    /// `CREATE INDEX name ON ...` of `CREATE INDEX CONCURRENTLY name ON ...;`.
    static func plain(_ statement: String) -> String {
        var text = statement.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasSuffix(";") { text.removeLast() }
        return text.replacingOccurrences(
            of: "CREATE INDEX CONCURRENTLY ",
            with: "CREATE INDEX ",
            options: .caseInsensitive
        )
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }
}
