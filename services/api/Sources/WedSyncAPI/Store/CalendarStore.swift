import Foundation
import WedSyncModels
import WedSyncPostgres

/// The wedding calendar across every organization (``WeddingCalendar``): booked and completed weddings counted per
/// hour of their ceremony, in their organization's time zone. Counts only: no client, couple or organization leaves
/// this statement.
struct CalendarStore: Sendable {
    let database: RecordingDatabase

    /// When a wedding has no ceremony on any supplier's run sheet, it is counted at this local hour.
    static let defaultCeremony = "13:00"
    /// The most weddings one organization adds on one day (its first, by id): more than a supplier's business works,
    /// so no tenant can raise the autoscaler's floor by booking clients in bulk.
    static let perOrganizationDaily = 10

    /// The hours from the start of `from` to the end of `to` (UTC days) in which booked weddings start. Read on a
    /// replica when there is one.
    ///
    /// A wedding's start is the earliest `Ceremony` on its suppliers' run sheets for its date (``defaultCeremony``
    /// without one), in its organization's time zone; an organization counts at most ``perOrganizationDaily`` a day.
    /// The dates read reach a day beyond each end, so a wedding that starts on one UTC day and another local day is
    /// still found.
    func weddings(from: CalendarDay, to: CalendarDay) async throws -> [WeddingHour] {
        let first = from.adding(days: -1).description
        let last = to.adding(days: 1).description
        let start = Int64(from.daysSinceEpoch) * 86_400
        let end = Int64(to.daysSinceEpoch + 1) * 86_400
        let query: PostgresQuery = """
            SELECT extract(epoch FROM hour)::bigint, timezone, count(*)::bigint
            FROM (
                SELECT (date_trunc('hour', c.wedding_date + COALESCE(ceremony.starts_at, time '\(unescaped: Self.defaultCeremony)'))
                        AT TIME ZONE o.timezone) AS hour, o.timezone,
                    row_number() OVER (PARTITION BY c.organization_id, c.wedding_date ORDER BY c.id) AS nth
                FROM clients c
                JOIN organizations o ON o.id = c.organization_id
                LEFT JOIN LATERAL (
                    SELECT min(te.starts_at) AS starts_at
                    FROM supplier_schedules s JOIN timeline_events te ON te.schedule_id = s.id
                    WHERE s.client_id = c.id AND s.schedule_date = c.wedding_date AND te.title = 'Ceremony'
                ) ceremony ON true
                WHERE c.status IN ('booked', 'completed') AND c.deleted_at IS NULL
                  AND c.wedding_date BETWEEN \(first)::date AND \(last)::date
            ) weddings
            WHERE nth <= \(unescaped: String(Self.perOrganizationDaily))
              AND hour >= to_timestamp(\(start)) AND hour < to_timestamp(\(end))
            GROUP BY hour, timezone
            ORDER BY hour, timezone
            """
        return try await database.read(query).map { row in
            WeddingHour(
                start: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, at: 0))),
                timeZone: try row.decode(String.self, at: 1),
                weddings: Int(try row.decode(Int64.self, at: 2))
            )
        }
    }
}
