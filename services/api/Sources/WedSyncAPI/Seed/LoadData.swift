import Foundation
import WedSyncPostgres

/// One supplier's data for a load scenario: a bearer token of their organization, and ids and dates drawn from the
/// seeded database, so every request a virtual user sends names rows that exist and belong to them.
///
/// `wedsync-load --data FILE` reads a JSON array of these; a scenario names the fields as `{{token}}`, `{{client}}`
/// (a list: each request draws one), `{{weddingDate}}`...
public struct LoadDataRow: Codable, Sendable, Equatable {
    public var organization: Int
    /// A bearer token of a supplier of the organization (issued as `wedsync-api token` issues one).
    public var token: String
    public var client: [Int]
    /// Clients with a guest list.
    public var guestListClient: [Int]
    public var guest: [Int]
    /// Days with supplier schedules, nearest to today first.
    public var weddingDate: [String]
    public var vendor: [Int]
    public var vendorContact: [Int]
    public var vendorCategory: [String]
    /// The database's today and a year on (`YYYY-MM-DD`): a season of weddings for the reports.
    public var today: String
    public var inAYear: String
}

/// Draws ``LoadDataRow``s from the seeded database (`wedsync-api load-data`): the organizations with the most clients,
/// a spread of each one's live rows (the same rows for the same data; a deleted client, its guest list and guests
/// are left out, as the API answers 404 for them), and a new token per organization.
public struct LoadDataExtractor: Sendable {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// Rows for up to `organizations` organizations, with up to `perField` values in each list.
    public func rows(organizations: Int, perField: Int) async throws -> [LoadDataRow] {
        let busiest = try await database.read.query(
            """
            SELECT organization_id FROM clients GROUP BY organization_id
            ORDER BY count(*) DESC, organization_id LIMIT \(organizations)
            """
        ).map { try $0.decode(Int.self, at: 0) }
        let tokens = TokenStore(database: database)
        let days = try await database.read.query("SELECT current_date::text, (current_date + 365)::text")
        let (today, inAYear) = try days.first?.decode((String, String).self) ?? ("", "")
        var rows: [LoadDataRow] = []
        for organization in busiest {
            // A spread rather than the first ids: md5 of the id orders them the same way on every run.
            func ids(_ sql: String) async throws -> [Int] {
                try await database.read.query(
                    PostgresQuery(
                        sql: "SELECT id FROM (\(sql)) rows ORDER BY md5(id::text) LIMIT $2",
                        binds: [organization, perField]
                    )
                ).map { try $0.decode(Int.self, at: 0) }
            }
            func texts(_ sql: String) async throws -> [String] {
                try await database.read.query(PostgresQuery(sql: sql, binds: [organization, perField]))
                    .map { try $0.decode(String.self, at: 0) }
            }
            let row = LoadDataRow(
                organization: organization,
                token: try await tokens.issue(organization: organization, label: "load"),
                client: try await ids("SELECT id FROM clients WHERE organization_id = $1 AND deleted_at IS NULL"),
                guestListClient: try await ids(
                    """
                    SELECT DISTINCT gl.client_id AS id FROM guest_lists gl JOIN clients c ON c.id = gl.client_id
                    WHERE gl.organization_id = $1 AND c.deleted_at IS NULL
                    """
                ),
                guest: try await ids(
                    """
                    SELECT g.id FROM guests g JOIN clients c ON c.id = g.client_id
                    WHERE g.organization_id = $1 AND c.deleted_at IS NULL
                    """
                ),
                weddingDate: try await texts(
                    """
                    SELECT schedule_date::text FROM supplier_schedules WHERE organization_id = $1
                    GROUP BY schedule_date ORDER BY abs(schedule_date - current_date), schedule_date LIMIT $2
                    """
                ),
                vendor: try await ids("SELECT id FROM vendors WHERE organization_id = $1"),
                vendorContact: try await ids(
                    """
                    SELECT vc.id FROM vendor_contacts vc JOIN vendors v ON v.id = vc.vendor_id
                    WHERE v.organization_id = $1
                    """
                ),
                vendorCategory: try await texts(
                    """
                    SELECT category FROM vendors WHERE organization_id = $1
                    GROUP BY category ORDER BY count(*) DESC, category LIMIT $2
                    """
                ),
                today: today,
                inAYear: inAYear
            )
            rows.append(row)
        }
        return rows
    }
}
