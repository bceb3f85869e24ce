import Foundation
import WedSyncModels
import WedSyncPostgres

/// The supplier schedules resource (`/api/supplier-schedules`): its statements and the decoding of their rows. Every
/// statement runs through ``RecordingDatabase``, so it is timed into the request's ``QueryLog``.
struct SupplierScheduleStore: Sendable {
    let database: RecordingDatabase

    /// `HH:MM:SS` → `HH:MM`.
    static func clock(_ time: String) -> String { String(time.prefix(5)) }

    /// The schedules of `organization` on `date` (only `supplier`'s when given), in arrival order, each with its
    /// run sheet: two statements whatever the number of schedules.
    func schedules(on date: CalendarDay, supplier: Int?, organization: Int) async throws -> [SupplierSchedule] {
        let rows = try await database.read(
            """
            SELECT s.id, s.supplier_id, sp.name, s.client_id,
                   c.partner1_first_name || coalesce(' & ' || c.partner2_first_name, ''), c.venue_name,
                   s.schedule_date, s.role, s.arrive_at::text, s.depart_at::text
            FROM supplier_schedules s
            JOIN suppliers sp ON sp.id = s.supplier_id
            JOIN clients c ON c.id = s.client_id
            WHERE s.organization_id = \(organization) AND s.schedule_date = \(date)
              AND (\(supplier)::bigint IS NULL OR s.supplier_id = \(supplier))
            ORDER BY s.arrive_at, s.id
            """
        )
        let ids = try rows.map { try $0.decode(Int.self, at: 0) }
        var timelines: [Int: [TimelineEvent]] = [:]
        if !ids.isEmpty {
            let events = try await database.read(
                """
                SELECT schedule_id, id, starts_at::text, minutes, title, location
                FROM timeline_events WHERE schedule_id = ANY(\(ids)::bigint[])
                ORDER BY schedule_id, starts_at, id
                """
            )
            for row in events {
                let event = TimelineEvent(
                    id: try row.decode(Int.self, at: 1),
                    startsAt: Self.clock(try row.decode(String.self, at: 2)),
                    minutes: try row.decode(Int.self, at: 3),
                    title: try row.decode(String.self, at: 4),
                    location: try row.decode(String?.self, at: 5)
                )
                timelines[try row.decode(Int.self, at: 0), default: []].append(event)
            }
        }
        return try rows.map { row in
            let id = try row.decode(Int.self, at: 0)
            return SupplierSchedule(
                id: id,
                supplierId: try row.decode(Int.self, at: 1),
                supplierName: try row.decode(String.self, at: 2),
                clientId: try row.decode(Int.self, at: 3),
                coupleName: try row.decode(String.self, at: 4),
                venueName: try row.decode(String?.self, at: 5),
                date: try row.decode(CalendarDay.self, at: 6),
                role: try row.decode(String.self, at: 7),
                arriveAt: Self.clock(try row.decode(String.self, at: 8)),
                departAt: Self.clock(try row.decode(String.self, at: 9)),
                timeline: timelines[id] ?? []
            )
        }
    }
}
