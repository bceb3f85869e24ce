import Foundation
import WedSyncModels
import WedSyncPostgres

/// The dashboard resource (`/api/dashboard`): its statement on the `dashboard_counts` materialized view (which
/// ``DashboardRefresher`` refreshes) and the decoding of its row. The statement runs through ``RecordingDatabase``,
/// so it is timed into the request's ``QueryLog``.
struct DashboardStore: Sendable {
    let database: RecordingDatabase

    /// The counts of `organization` as of the view's last refresh; zeros for an organization created since.
    func counts(organization: Int) async throws -> DashboardCounts {
        let rows = try await database.read(
            """
            SELECT clients, active_clients, upcoming_weddings_30_days, upcoming_weddings_365_days, inquiries, booked,
                   guests, rsvp_attending, rsvp_declined, rsvp_pending, active_journeys, refreshed_at
            FROM dashboard_counts WHERE organization_id = \(organization)
            """
        )
        guard let row = rows.first else {
            // An organization created after the last refresh: nothing to count yet.
            return DashboardCounts(
                organizationId: organization,
                clients: 0,
                activeClients: 0,
                upcomingWeddings30Days: 0,
                upcomingWeddings365Days: 0,
                inquiries: 0,
                booked: 0,
                guests: 0,
                rsvpAttending: 0,
                rsvpDeclined: 0,
                rsvpPending: 0,
                activeJourneys: 0,
                refreshedAt: Date()
            )
        }
        return DashboardCounts(
            organizationId: organization,
            clients: try row.decode(Int.self, at: 0),
            activeClients: try row.decode(Int.self, at: 1),
            upcomingWeddings30Days: try row.decode(Int.self, at: 2),
            upcomingWeddings365Days: try row.decode(Int.self, at: 3),
            inquiries: try row.decode(Int.self, at: 4),
            booked: try row.decode(Int.self, at: 5),
            guests: try row.decode(Int.self, at: 6),
            rsvpAttending: try row.decode(Int.self, at: 7),
            rsvpDeclined: try row.decode(Int.self, at: 8),
            rsvpPending: try row.decode(Int.self, at: 9),
            activeJourneys: try row.decode(Int.self, at: 10),
            refreshedAt: try row.decode(Date.self, at: 11)
        )
    }
}
