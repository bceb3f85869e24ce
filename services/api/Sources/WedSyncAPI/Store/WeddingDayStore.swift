import Foundation
import WedSyncModels
import WedSyncPostgres

/// The wedding-day screen's parts (`/api/screens/wedding-day`, `/api/guest-summary`, `/api/timeline`): the day's
/// schedules and their run sheets (``SupplierScheduleStore``'s two statements) and one statement for the guest
/// numbers of the day's weddings. Every statement runs through ``RecordingDatabase``.
struct WeddingDayStore: Sendable {
    let database: RecordingDatabase
    let schedules: SupplierScheduleStore

    init(database: RecordingDatabase) {
        self.database = database
        self.schedules = SupplierScheduleStore(database: database)
    }

    /// The day's run sheet across `schedules`, in time order.
    static func timeline(of schedules: [SupplierSchedule]) -> [DayTimelineEvent] {
        schedules.flatMap { schedule in schedule.timeline.map { DayTimelineEvent(schedule: schedule, event: $0) } }
            .sorted { ($0.startsAt, $0.scheduleId, $0.id) < ($1.startsAt, $1.scheduleId, $1.id) }
    }

    /// The guest numbers of `clients` (weddings of `organization`), one statement; in `clients`' order, a wedding
    /// without guests with zeros.
    func guests(of clients: [Int], organization: Int) async throws -> [WeddingGuests] {
        guard !clients.isEmpty else { return [] }
        let rows = try await database.read(
            """
            SELECT g.client_id, count(*),
                   count(*) FILTER (WHERE g.rsvp_status = 'attending'),
                   count(*) FILTER (WHERE g.rsvp_status = 'declined'),
                   count(*) FILTER (WHERE g.rsvp_status = 'maybe'),
                   count(*) FILTER (WHERE g.rsvp_status = 'pending'),
                   count(*) FILTER (WHERE g.rsvp_status = 'attending' AND g.plus_one),
                   count(*) FILTER (WHERE g.rsvp_status = 'attending' AND g.table_number IS NOT NULL),
                   count(DISTINCT g.table_number) FILTER (WHERE g.rsvp_status = 'attending'),
                   coalesce((SELECT json_object_agg(d.requirement, d.guests)::text FROM (
                       SELECT lower(btrim(x.dietary_requirements)) AS requirement, count(*) AS guests FROM guests x
                       WHERE x.client_id = g.client_id AND x.organization_id = \(organization)
                         AND x.rsvp_status = 'attending' AND btrim(coalesce(x.dietary_requirements, '')) <> ''
                       GROUP BY 1) d), '{}')
            FROM guests g
            WHERE g.organization_id = \(organization) AND g.client_id = ANY(\(clients)::bigint[])
            GROUP BY g.client_id
            """
        )
        var byClient: [Int: WeddingGuests] = [:]
        for row in rows {
            let client = try row.decode(Int.self, at: 0)
            let dietary =
                (try? JSONDecoder().decode([String: Int].self, from: Data(try row.decode(String.self, at: 9).utf8)))
                ?? [:]
            byClient[client] = WeddingGuests(
                clientId: client,
                total: try row.decode(Int.self, at: 1),
                attending: try row.decode(Int.self, at: 2),
                declined: try row.decode(Int.self, at: 3),
                maybe: try row.decode(Int.self, at: 4),
                pending: try row.decode(Int.self, at: 5),
                plusOnes: try row.decode(Int.self, at: 6),
                dietary: dietary,
                seated: try row.decode(Int.self, at: 7),
                tables: try row.decode(Int.self, at: 8)
            )
        }
        return clients.map { client in
            byClient[client]
                ?? WeddingGuests(
                    clientId: client,
                    total: 0,
                    attending: 0,
                    declined: 0,
                    maybe: 0,
                    pending: 0,
                    plusOnes: 0,
                    dietary: [:],
                    seated: 0,
                    tables: 0
                )
        }
    }

    /// The clients of `schedules`, each once, in the schedules' order.
    static func clients(of schedules: [SupplierSchedule]) -> [Int] {
        var seen = Set<Int>()
        return schedules.map(\.clientId).filter { seen.insert($0).inserted }
    }

    /// The whole screen: three statements.
    func screen(on date: CalendarDay, supplier: Int?, organization: Int) async throws -> WeddingDayScreen {
        let day = try await schedules.schedules(on: date, supplier: supplier, organization: organization)
        return WeddingDayScreen(
            date: date,
            schedules: day.map(ScheduleSummary.init),
            timeline: Self.timeline(of: day),
            guests: try await guests(of: Self.clients(of: day), organization: organization)
        )
    }

    /// What each part is invalidated by: the organization, the day's schedules (and their run sheets), and each
    /// wedding (its client row and guest lists: guest writes name `client:C`).
    /// The tag of everything of one organization's day: its schedules, their run sheets, the screen. A change to a
    /// schedule or a run-sheet entry purges by it.
    static func dayTag(organization: Int, date: CalendarDay) -> String {
        "org:\(organization):schedules:\(date)"
    }

    static func tags(organization: Int, date: CalendarDay, clients: [Int]) -> [String] {
        ["org:\(organization)", dayTag(organization: organization, date: date)]
            + Set(clients).sorted().map { "client:\($0)" }
    }
}
