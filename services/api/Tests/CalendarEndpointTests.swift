import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// `GET /v1/calendar/weddings` against a real API on a seeded database: weddings counted per hour of their
/// ceremony in their organization's time zone, only for the autoscaler, with 400s that name the parameter.
@Suite("API: the wedding calendar", .serialized)
struct CalendarEndpointTests {
    static let autoscaler = [("Authorization", "Bearer \(TestCredentials.service("wedsync-autoscaler"))")]

    /// Two organizations of their own, far past the seed's dates: New York (UTC-4 in June) with two weddings at the
    /// default 13:00, one whose run sheet has its ceremony at 15:30 (after guests arrive at 15:00), and one inquiry,
    /// one cancelled and one deleted wedding that must not count, and a Ceremony on the day before's run sheet that
    /// must not move it; Auckland (UTC+12) with one at 09:00 on the 17th local, which is still the 16th in UTC.
    static func insertWeddings(_ api: APIFixture, tag: String) async throws {
        _ = try await api.scalar(
            Int.self,
            """
            WITH ny AS (
                INSERT INTO organizations (name, slug, timezone)
                VALUES ('Calendar NY', \("calendar-ny-" + tag), 'America/New_York') RETURNING id
            ), akl AS (
                INSERT INTO organizations (name, slug, timezone)
                VALUES ('Calendar AKL', \("calendar-akl-" + tag), 'Pacific/Auckland') RETURNING id
            ), supplier AS (
                INSERT INTO suppliers (organization_id, name, email) SELECT id, 'Planner', 'planner@example.test' FROM ny
                RETURNING id, organization_id
            ), weddings AS (
                INSERT INTO clients (organization_id, partner1_first_name, partner1_last_name, wedding_date, status, deleted_at)
                SELECT ny.id, 'A', 'B', date '2035-06-16', s.status, s.deleted_at
                FROM ny, (VALUES ('booked', NULL::timestamptz), ('completed', NULL), ('inquiry', NULL),
                                 ('cancelled', NULL), ('booked', now())) AS s (status, deleted_at)
                UNION ALL
                SELECT akl.id, 'C', 'D', date '2035-06-17', 'booked', NULL FROM akl
                RETURNING id, organization_id
            ), ceremony_client AS (
                INSERT INTO clients (organization_id, partner1_first_name, partner1_last_name, wedding_date, status)
                SELECT id, 'E', 'F', date '2035-06-16', 'booked' FROM ny RETURNING id, organization_id
            ), schedule AS (
                INSERT INTO supplier_schedules (organization_id, supplier_id, client_id, schedule_date, role, arrive_at, depart_at)
                SELECT c.organization_id, s.id, c.id, date '2035-06-16', 'planner', time '10:00', time '23:00'
                FROM ceremony_client c, supplier s RETURNING id
            ), other_day AS (
                INSERT INTO supplier_schedules (organization_id, supplier_id, client_id, schedule_date, role, arrive_at, depart_at)
                SELECT c.organization_id, s.id, c.id, date '2035-06-15', 'planner', time '09:00', time '12:00'
                FROM ceremony_client c, supplier s RETURNING id
            ), other_day_events AS (
                INSERT INTO timeline_events (schedule_id, starts_at, minutes, title)
                SELECT id, time '10:00', 30, 'Ceremony' FROM other_day RETURNING id
            ), events AS (
                INSERT INTO timeline_events (schedule_id, starts_at, minutes, title)
                SELECT id, e.starts_at, 30, e.title FROM schedule,
                    (VALUES (time '15:00', 'Guests arrive'), (time '15:30', 'Ceremony'), (time '17:00', 'Ceremony'))
                    AS e (starts_at, title)
                RETURNING id
            )
            SELECT (SELECT count(*) FROM weddings) + (SELECT count(*) FROM events)
            """
        )
        // A business that booked twelve weddings on one day: ten count.
        _ = try await api.scalar(
            Int.self,
            """
            WITH bulk AS (
                INSERT INTO organizations (name, slug) VALUES ('Calendar bulk', \("calendar-bulk-" + tag)) RETURNING id
            )
            INSERT INTO clients (organization_id, partner1_first_name, partner1_last_name, wedding_date, status)
            SELECT bulk.id, 'G', 'H', date '2035-06-16', 'booked' FROM bulk, generate_series(1, 12) RETURNING 1
            """
        )
        // Auckland's wedding at 09:00 local: a run sheet of its own needs a supplier of its own.
        _ = try await api.scalar(
            Int.self,
            """
            WITH c AS (
                SELECT c.id, c.organization_id FROM clients c JOIN organizations o ON o.id = c.organization_id
                WHERE o.slug = \("calendar-akl-" + tag)
            ), supplier AS (
                INSERT INTO suppliers (organization_id, name, email) SELECT organization_id, 'Celebrant', 'c@example.test' FROM c
                RETURNING id
            ), schedule AS (
                INSERT INTO supplier_schedules (organization_id, supplier_id, client_id, schedule_date, role, arrive_at, depart_at)
                SELECT c.organization_id, supplier.id, c.id, date '2035-06-17', 'celebrant', time '08:00', time '12:00'
                FROM c, supplier RETURNING id
            )
            INSERT INTO timeline_events (schedule_id, starts_at, minutes, title)
            SELECT id, time '09:00', 30, 'Ceremony' FROM schedule RETURNING 1
            """
        )
    }

    @Test(
        "Weddings per hour of their ceremony, in their organization's zone; booked and completed, ten a business a day"
    )
    func weddingsPerHour() async throws {
        let api = try await APIFixture.shared()
        try await Self.insertWeddings(api, tag: UUID().uuidString.prefix(8).lowercased())
        let answer = try await api.get(
            "/v1/calendar/weddings?from=2035-06-16&to=2035-06-16",
            token: nil,
            headers: Self.autoscaler
        )
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.headers.first(name: "cache-control") == "no-store")
        let calendar = try WedSyncJSON.makeDecoder().decode(
            WeddingCalendar.self,
            from: Data(answer.body.readableBytesView)
        )
        #expect(calendar.from == CalendarDay("2035-06-16") && calendar.to == CalendarDay("2035-06-16"))
        let at = { (text: String) in try #require(ISO8601.parse(text)) }
        #expect(
            calendar.hours == [
                // 13:00 in London (BST): ten of the twelve one business booked that day.
                WeddingHour(start: try at("2035-06-16T12:00:00Z"), timeZone: "Europe/London", weddings: 10),
                // 13:00 in New York (EDT): the booked and the completed wedding without a ceremony on a run sheet.
                WeddingHour(start: try at("2035-06-16T17:00:00Z"), timeZone: "America/New_York", weddings: 2),
                // The earliest Ceremony of its day's run sheets, 15:30 local, in the hour from 15:00 (not the 10:00 one
                // of the day before).
                WeddingHour(start: try at("2035-06-16T19:00:00Z"), timeZone: "America/New_York", weddings: 1),
                // 09:00 on 17 June in Auckland (NZST) is 21:00 on the 16th in UTC.
                WeddingHour(start: try at("2035-06-16T21:00:00Z"), timeZone: "Pacific/Auckland", weddings: 1),
            ]
        )
        let body = answer.text
        #expect(!body.contains("Calendar NY") && !body.contains("calendar-ny"), "counts only: no organization")
        let next = try await api.get(
            "/v1/calendar/weddings?from=2035-06-17&to=2035-06-18",
            token: nil,
            headers: Self.autoscaler
        )
        let later = try WedSyncJSON.makeDecoder().decode(WeddingCalendar.self, from: Data(next.body.readableBytesView))
        #expect(later.hours.isEmpty, "each wedding is in the UTC day its ceremony starts in, once")
    }

    @Test("Only the autoscaler (and the admin) may read it: no token, a supplier's or another service's is refused")
    func access() async throws {
        let api = try await APIFixture.shared()
        let path = "/v1/calendar/weddings?from=2035-06-16&to=2035-06-16"
        #expect(try await api.get(path, token: nil).status == 401)
        let supplier = try await api.get(path, token: api.tokenOne)
        #expect([401, 403].contains(supplier.status), "\(supplier.status)")
        let gateway = try await api.get(path, token: TestCredentials.service("wedsync-gateway"))
        #expect(gateway.status == 403, "\(gateway.text)")
        #expect(try await api.get(path, token: APIFixture.adminToken).status == 200)
    }

    @Test(
        "Bad days are a 400 naming the parameter",
        arguments: [
            ("to=2035-06-16", "from"), ("from=2035-06-16", "to"), ("from=2035-13-01&to=2035-06-16", "from"),
            ("from=2035-06-16&to=2035-06-15", "to"), ("from=2035-01-01&to=2035-04-03", "to"),
            ("from=1800-01-01&to=1800-01-02", "from"), ("from=today&to=2035-06-16", "from"),
        ]
    )
    func badDays(query: String, field: String) async throws {
        let api = try await APIFixture.shared()
        let answer = try await api.get("/v1/calendar/weddings?\(query)", token: nil, headers: Self.autoscaler)
        #expect(answer.status == 400, "\(query): \(answer.text)")
        let error = try WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: Data(answer.body.readableBytesView))
        #expect(error.error.code == "invalid_parameter")
        #expect(error.error.message.hasPrefix("\(field):"), "\(error.error.message)")
    }
}
