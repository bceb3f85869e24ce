import Foundation
import Logging
import WedSyncModels
import WedSyncPostgres

/// What `wedsync-api seed` generates.
public struct SeedOptions: Sendable {
    /// 1 is 200 organizations and 100,000 clients (and over a million guests); fractions are allowed.
    public var scale: Double
    /// Overrides the organization count the scale implies (1 puts every client in one large organization).
    public var organizations: Int?
    /// The same seed gives the same data, row for row.
    public var seed: UInt64
    /// "Today" for the data: weddings fall a year either side of it and two years after, statuses follow it.
    public var anchor: CalendarDay

    public init(scale: Double, organizations: Int? = nil, seed: UInt64 = 20_260_613, anchor: CalendarDay) {
        self.scale = scale
        self.organizations = organizations
        self.seed = seed
        self.anchor = anchor
    }

    /// January 1 of the current year (UTC): stable for a year, so the data is too.
    public static var defaultAnchor: CalendarDay {
        let today = CalendarDay(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400))
        return CalendarDay(year: today.year, month: 1, day: 1)!
    }

    var organizationCount: Int { organizations ?? max(2, Int((200 * scale).rounded())) }
    var clientCount: Int { max(organizationCount * 10, Int((100_000 * scale).rounded())) }
}

/// Rows loaded, per table, and how long it took.
public struct SeedSummary: Sendable, Codable, Equatable {
    public var organizations = 0
    public var suppliers = 0
    public var clients = 0
    public var guestLists = 0
    public var guests = 0
    public var vendors = 0
    public var vendorContacts = 0
    public var journeyInstances = 0
    public var supplierSchedules = 0
    public var timelineEvents = 0
    public var budgets = 0
    public var budgetItems = 0
    public var seconds = 0.0
}

/// Generates a realistic, deterministic WedSync data set and loads it with `COPY`.
///
/// The shape: organization sizes follow a Zipf law (a few very large organizations, a long tail); weddings cluster
/// on Saturdays and from May to October; guest lists hold 20 to 300 guests (log-normal, median 110) and exist for
/// about a fifth of booked and completed clients (the rest have not entered theirs); statuses follow the wedding
/// date (past weddings are completed or cancelled). Organization ids are 1...N, largest first.
public struct SeedGenerator: Sendable {
    public let options: SeedOptions
    public let pool: PostgresPool
    private let logger: Logger

    public init(options: SeedOptions, pool: PostgresPool, logger: Logger) {
        self.options = options
        self.pool = pool
        self.logger = logger
    }

    /// Every table the seed fills, children last (the order `TRUNCATE` needs none of, thanks to `CASCADE`).
    static let tables = [
        "organizations", "suppliers", "api_tokens", "clients", "guest_lists", "guests", "vendors", "vendor_contacts",
        "journey_instances", "supplier_schedules", "timeline_events", "budgets", "budget_items", "audit_log",
    ]

    /// Whether the database already holds organizations.
    public func isSeeded() async throws -> Bool {
        let count = try await pool.query("SELECT count(*) FROM organizations").first?.decode(Int.self, at: 0) ?? 0
        return count > 0
    }

    /// Empties every table the seed fills.
    public func truncate() async throws {
        try await pool.withConnection { connection in
            try await connection.simpleQuery(
                "TRUNCATE \(Self.tables.joined(separator: ", ")) RESTART IDENTITY CASCADE; REFRESH MATERIALIZED VIEW dashboard_counts"
            )
        }
    }

    /// Generates and loads the data set into an empty database, then analyzes it and refreshes the dashboard.
    public func run() async throws -> SeedSummary {
        let started = ContinuousClock.now
        let plan = SeedPlan(options: options)
        logger.notice(
            "seeding",
            metadata: ["seed.organizations": "\(plan.organizations.count)", "seed.clients": "\(plan.clients.count)"]
        )
        var summary = SeedSummary()
        try await pool.withConnection { connection in
            try await connection.simpleQuery("SET synchronous_commit = off")
            summary.organizations = try await copy(connection, "organizations (id, name, slug, plan, timezone)") {
                rows in
                try await plan.writeOrganizations(&rows)
            }
            summary.suppliers = try await copy(connection, "suppliers (id, organization_id, name, email, role)") {
                rows in
                try await plan.writeSuppliers(&rows)
            }
            summary.clients = try await copy(
                connection,
                "clients (id, organization_id, partner1_first_name, partner1_last_name, partner2_first_name, "
                    + "partner2_last_name, email, phone, wedding_date, venue_name, venue_city, status, guest_estimate, deleted_at)"
            ) { rows in try await plan.writeClients(&rows) }
            summary.guestLists = try await copy(connection, "guest_lists (id, client_id, organization_id, name)") {
                rows in
                try await plan.writeGuestLists(&rows)
            }
            summary.guests = try await copy(
                connection,
                "guests (id, guest_list_id, client_id, organization_id, first_name, last_name, email, rsvp_status, "
                    + "dietary_requirements, table_number, plus_one)"
            ) { rows in try await plan.writeGuests(&rows) }
            summary.vendors = try await copy(connection, "vendors (id, organization_id, name, category, website)") {
                rows in
                try await plan.writeVendors(&rows)
            }
            summary.vendorContacts = try await copy(
                connection,
                "vendor_contacts (id, vendor_id, name, email, phone, role)"
            ) { rows in
                try await plan.writeVendorContacts(&rows)
            }
            summary.journeyInstances = try await copy(
                connection,
                "journey_instances (id, client_id, organization_id, journey_name, current_stage, stage_index, stage_count, status)"
            ) { rows in try await plan.writeJourneys(&rows) }
            summary.supplierSchedules = try await copy(
                connection,
                "supplier_schedules (id, organization_id, supplier_id, client_id, schedule_date, role, arrive_at, depart_at)"
            ) { rows in try await plan.writeSchedules(&rows) }
            summary.timelineEvents = try await copy(
                connection,
                "timeline_events (id, schedule_id, starts_at, minutes, title, location)"
            ) {
                rows in try await plan.writeTimelineEvents(&rows)
            }
            summary.budgets = try await copy(connection, "budgets (id, client_id, organization_id, total_amount)") {
                rows in
                try await plan.writeBudgets(&rows)
            }
            summary.budgetItems = try await copy(
                connection,
                "budget_items (id, budget_id, organization_id, category, description, estimated_amount, actual_amount, paid, due_date)"
            ) { rows in try await plan.writeBudgetItems(&rows) }

            // Identity columns continue after the explicit ids; statistics and the visibility map (index-only
            // guest counts) are made ready for the first query; the dashboard is filled.
            for table in Self.tables {
                try await connection.simpleQuery(
                    "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), coalesce((SELECT max(id) FROM \(table)), 0) + 1, false)"
                )
            }
            try await connection.simpleQuery("VACUUM (ANALYZE)")
            try await connection.simpleQuery("REFRESH MATERIALIZED VIEW dashboard_counts")
        }
        summary.seconds = (ContinuousClock.now - started).seconds
        logger.notice("seeded", metadata: ["seed.clients": "\(summary.clients)", "seed.seconds": "\(summary.seconds)"])
        return summary
    }

    private func copy(
        _ connection: PostgresConnection,
        _ target: String,
        _ body: (inout CopyBuffer) async throws -> Void
    ) async throws -> Int {
        try await connection.copyIn("COPY \(target) FROM STDIN") { writer in
            var rows = CopyBuffer(writer: writer)
            try await body(&rows)
            try await rows.flush()
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
