extension Migration {
    /// The dashboard's counts per organization, as a materialized view: the dashboard is the first screen of every
    /// session, and counting an organization's clients and guests on each visit would scan thousands of rows.
    ///
    /// The unique index on `organization_id` is what lets `REFRESH MATERIALIZED VIEW CONCURRENTLY` rebuild it without
    /// blocking readers (``DashboardRefresher`` does so on an interval and soon after writes).
    static let dashboardCounts = Migration(
        version: 2,
        name: "dashboard counts materialized view",
        sql: #"""
            CREATE MATERIALIZED VIEW dashboard_counts AS
            SELECT o.id AS organization_id,
                   coalesce(c.clients, 0)                 AS clients,
                   coalesce(c.active_clients, 0)          AS active_clients,
                   coalesce(c.upcoming_30_days, 0)        AS upcoming_weddings_30_days,
                   coalesce(c.upcoming_season, 0)         AS upcoming_weddings_365_days,
                   coalesce(c.inquiries, 0)               AS inquiries,
                   coalesce(c.booked, 0)                  AS booked,
                   coalesce(g.guests, 0)                  AS guests,
                   coalesce(g.attending, 0)               AS rsvp_attending,
                   coalesce(g.declined, 0)                AS rsvp_declined,
                   coalesce(g.pending, 0)                 AS rsvp_pending,
                   coalesce(j.active_journeys, 0)         AS active_journeys,
                   now()                                  AS refreshed_at
            FROM organizations o
            LEFT JOIN (
                SELECT organization_id,
                       count(*) AS clients,
                       count(*) FILTER (WHERE status IN ('inquiry', 'proposal', 'booked')) AS active_clients,
                       count(*) FILTER (WHERE wedding_date BETWEEN current_date AND current_date + 30) AS upcoming_30_days,
                       count(*) FILTER (WHERE wedding_date BETWEEN current_date AND current_date + 365) AS upcoming_season,
                       count(*) FILTER (WHERE status = 'inquiry') AS inquiries,
                       count(*) FILTER (WHERE status = 'booked') AS booked
                FROM clients
                WHERE deleted_at IS NULL
                GROUP BY organization_id
            ) c ON c.organization_id = o.id
            LEFT JOIN (
                SELECT organization_id,
                       count(*) AS guests,
                       count(*) FILTER (WHERE rsvp_status = 'attending') AS attending,
                       count(*) FILTER (WHERE rsvp_status = 'declined') AS declined,
                       count(*) FILTER (WHERE rsvp_status = 'pending') AS pending
                FROM guests
                GROUP BY organization_id
            ) g ON g.organization_id = o.id
            LEFT JOIN (
                SELECT organization_id, count(*) AS active_journeys
                FROM journey_instances
                WHERE status = 'active'
                GROUP BY organization_id
            ) j ON j.organization_id = o.id
            WITH DATA;

            -- Required by REFRESH ... CONCURRENTLY, and the dashboard's lookup.
            CREATE UNIQUE INDEX dashboard_counts_organization_id_idx ON dashboard_counts (organization_id);
            """#
    )
}
