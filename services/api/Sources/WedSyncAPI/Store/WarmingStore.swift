import Foundation
import WedSyncModels
import WedSyncPostgres

/// The pages worth warming for a day (``WarmingTargets``): for every organization with a booked wedding that day,
/// the day's schedules, the dashboard, and the guest lists of that day's couples. Ids and paths only: no name,
/// email or guest leaves this statement.
struct WarmingStore: Sendable {
    let database: RecordingDatabase

    /// The most organizations one answer names (a Saturday in June has fewer with a wedding).
    static let maximumOrganizations = 20_000

    func targets(on date: CalendarDay) async throws -> WarmingTargets {
        let rows = try await database.read(
            """
            SELECT c.organization_id, o.timezone, c.id,
                   EXISTS (SELECT 1 FROM guest_lists g WHERE g.client_id = c.id)
            FROM clients c JOIN organizations o ON o.id = c.organization_id
            WHERE c.wedding_date = \(date.description)::date AND c.status = 'booked' AND c.deleted_at IS NULL
              AND c.organization_id IN (
                  SELECT DISTINCT organization_id FROM clients
                  WHERE wedding_date = \(date.description)::date AND status = 'booked' AND deleted_at IS NULL
                  ORDER BY organization_id LIMIT \(Self.maximumOrganizations)
              )
            ORDER BY c.organization_id, c.id
            """
        )
        var organizations: [WarmingTargets.Organization] = []
        for row in rows {
            let (organization, timezone, client, hasGuestList) = try row.decode((Int, String, Int, Bool).self)
            if organizations.last?.organizationId != organization {
                organizations.append(
                    WarmingTargets.Organization(
                        organizationId: organization,
                        timezone: timezone,
                        paths: ["/api/supplier-schedules?date=\(date)", "/api/dashboard"]
                    )
                )
            }
            if hasGuestList {
                organizations[organizations.count - 1].paths.append("/api/guest-lists?client_id=\(client)")
            }
        }
        return WarmingTargets(date: date, organizations: organizations)
    }
}
