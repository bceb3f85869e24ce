import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The wedding-day screen in one response, against its parts on their own, on the seeded database.
@Suite("The wedding-day screen", .serialized, .timeLimit(.minutes(3)))
struct ScreenEndpointTests {
    static func decode<Value: Decodable>(_ type: Value.Type, _ answer: HTTP.Answer) throws -> Value {
        guard answer.status == 200 else { throw Failure(description: "\(answer.status): \(answer.text)") }
        return try WedSyncJSON.makeDecoder().decode(type, from: answer.data)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A response's `Cache-Tag` values.
    static func tags(_ answer: HTTP.Answer) -> Set<String> {
        Set(
            (answer.headers.first(name: "cache-tag") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        )
    }

    /// Organization 1's busiest day.
    static func busiestDay(_ api: APIFixture) async throws -> CalendarDay {
        try await api.scalar(
            CalendarDay.self,
            "SELECT schedule_date FROM supplier_schedules WHERE organization_id = 1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    }

    @Test(
        "The screen is its parts composed: the schedules, the day's run sheet in time order, each wedding's guest numbers; its tags are the union of theirs; an ETag and a 304; another tenant's screen holds none of it"
    )
    func composed() async throws {
        let api = try await APIFixture.shared()
        let date = try await Self.busiestDay(api)
        let answer = try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        let screen = try Self.decode(WeddingDayScreen.self, answer)
        let schedulesAnswer = try await api.get("/api/supplier-schedules?date=\(date)", token: api.tokenOne)
        let timelineAnswer = try await api.get("/api/timeline?date=\(date)", token: api.tokenOne)
        let guestsAnswer = try await api.get("/api/guest-summary?date=\(date)", token: api.tokenOne)
        let schedules = try Self.decode(SupplierSchedulesResponse.self, schedulesAnswer)
        let timeline = try Self.decode(DayTimelineResponse.self, timelineAnswer)
        let guests = try Self.decode(GuestSummaryResponse.self, guestsAnswer)

        #expect(!screen.schedules.isEmpty && screen.date == date)
        #expect(screen.schedules == schedules.schedules.map(ScheduleSummary.init))
        #expect(screen.timeline == timeline.events)
        #expect(screen.timeline.count == schedules.schedules.reduce(0) { $0 + $1.timeline.count })
        #expect(zip(screen.timeline, screen.timeline.dropFirst()).allSatisfy { $0.startsAt <= $1.startsAt })
        #expect(screen.guests == guests.weddings)
        // The numbers are the database's.
        let clients = Set(screen.schedules.map(\.clientId))
        #expect(Set(screen.guests.map(\.clientId)) == clients)
        let ids = clients.sorted()
        let total = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM guests WHERE client_id = ANY(\(ids)::bigint[])"
        )
        let attending = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM guests WHERE client_id = ANY(\(ids)::bigint[]) AND rsvp_status = 'attending'"
        )
        #expect(screen.guests.reduce(0) { $0 + $1.total } == total)
        #expect(screen.guests.reduce(0) { $0 + $1.attending } == attending)
        #expect(screen.guests.allSatisfy { $0.attending + $0.declined + $0.maybe + $0.pending == $0.total })

        // Invalidated by whatever invalidates a part.
        let union = Self.tags(schedulesAnswer).union(Self.tags(timelineAnswer)).union(Self.tags(guestsAnswer))
        #expect(Self.tags(answer) == union, "\(Self.tags(answer)) against \(union)")
        #expect(Self.tags(answer).isSuperset(of: clients.map { "client:\($0)" }))
        #expect(Self.tags(answer).contains("org:1:schedules:\(date)"))

        let etag = try #require(answer.headers.first(name: "etag"))
        let again = try await api.get(
            "/api/screens/wedding-day?date=\(date)",
            token: api.tokenOne,
            headers: [("If-None-Match", etag)]
        )
        #expect(again.status == 304)
        #expect(answer.headers.first(name: "vary")?.contains("X-Tenant-Id") == true)

        let other = try Self.decode(
            WeddingDayScreen.self,
            try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenTwo)
        )
        #expect(Set(other.schedules.map(\.id)).isDisjoint(with: screen.schedules.map(\.id)))
        #expect(Set(other.guests.map(\.clientId)).isDisjoint(with: clients))

        // One supplier's screen is a part of the whole.
        let supplier = screen.schedules[0].supplierId
        let own = try Self.decode(
            WeddingDayScreen.self,
            try await api.get("/api/screens/wedding-day?date=\(date)&supplier_id=\(supplier)", token: api.tokenOne)
        )
        #expect(!own.schedules.isEmpty && own.schedules.allSatisfy { $0.supplierId == supplier })
    }

    @Test("A guest's or a wedding's change sends tags the screen carries: the next load is another body")
    func invalidated() async throws {
        let api = try await APIFixture.shared()
        let date = try await Self.busiestDay(api)
        let answer = try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        let screen = try Self.decode(WeddingDayScreen.self, answer)
        let tags = Self.tags(answer)
        // A wedding of the day with a guest list.
        let clients = Array(Set(screen.schedules.map(\.clientId))).sorted()
        let list = try await api.scalar(
            Int.self,
            "SELECT min(id) FROM guest_lists WHERE client_id = ANY(\(clients)::bigint[])"
        )
        let client = try await api.scalar(Int.self, "SELECT client_id FROM guest_lists WHERE id = \(list)")
        let created = try await api.send(
            .POST,
            "/api/guests",
            token: api.tokenOne,
            body: #"{"guestListId":\#(list),"firstName":"Screen","lastName":"Test","rsvpStatus":"attending"}"#
        )
        #expect(created.status == 201, "\(created.text)")
        #expect(
            await eventually {
                api.receiver.invalidations.contains {
                    !tags.isDisjoint(with: $0.tags) && $0.tags.contains("client:\(client)")
                }
            }
        )
        let after = try Self.decode(
            WeddingDayScreen.self,
            try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        )
        let before = try #require(screen.guests.first { $0.clientId == client })
        #expect(after.guests.first { $0.clientId == client }?.attending == before.attending + 1)

        let patched = try await api.send(
            .PATCH,
            "/api/clients/\(client)",
            token: api.tokenOne,
            body: #"{"notes":"screen"}"#
        )
        #expect(patched.status == 200, "\(patched.text)")
        #expect(
            await eventually {
                api.receiver.invalidations.filter { $0.tags.contains("client:\(client)") }.count >= 2
            }
        )
    }

    @Test(
        "Save-Data: on gives the compact form: the same entries and counts without places and dietary breakdowns, its own ETag, Vary: Save-Data"
    )
    func saveData() async throws {
        let api = try await APIFixture.shared()
        let date = try await Self.busiestDay(api)
        let path = "/api/screens/wedding-day?date=\(date)"
        let fullAnswer = try await api.get(path, token: api.tokenOne)
        let full = try Self.decode(WeddingDayScreen.self, fullAnswer)
        #expect(full.compact == nil)
        #expect(full.timeline.contains { $0.location != nil }, "the full form has places")
        for value in ["on", "On", " ON ; detail", "on"] {
            let answer = try await api.get(path, token: api.tokenOne, headers: [("Save-Data", value)])
            let compact = try Self.decode(WeddingDayScreen.self, answer)
            #expect(compact.compact == true, "\(value)")
            #expect(compact == full.compacted(), "the compact form is the full one without its details")
            #expect(compact.timeline.map(\.id) == full.timeline.map(\.id))
            #expect(compact.timeline.allSatisfy { $0.location == nil })
            #expect(compact.guests.map(\.attending) == full.guests.map(\.attending))
            #expect(answer.body.readableBytes < fullAnswer.body.readableBytes)
            #expect(answer.headers.first(name: "etag") != fullAnswer.headers.first(name: "etag"))
            #expect(answer.headers.first(name: "vary") == "X-Tenant-Id, Save-Data")
            #expect(Self.tags(answer) == Self.tags(fullAnswer), "one purge drops both forms")
        }
        #expect(fullAnswer.headers.first(name: "vary") == "X-Tenant-Id, Save-Data", "the full form varies by it too")
        let off = try await api.get(path, token: api.tokenOne, headers: [("Save-Data", "off")])
        #expect(try Self.decode(WeddingDayScreen.self, off) == full)
    }

    @Test(
        "A run-sheet entry's change (PATCH /api/timeline-events/{id}) sends the day's tag the screen and its timeline carry; bad fields are 400s; another tenant's entry is a 404"
    )
    func timelineChange() async throws {
        let api = try await APIFixture.shared()
        let date = try await Self.busiestDay(api)
        let answer = try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        let screen = try Self.decode(WeddingDayScreen.self, answer)
        let timeline = try await api.get("/api/timeline?date=\(date)", token: api.tokenOne)
        let event = try #require(screen.timeline.first)
        let moved = event.startsAt == "23:55" ? "23:50" : "23:55"
        let patched = try await api.send(
            .PATCH,
            "/api/timeline-events/\(event.id)",
            token: api.tokenOne,
            body: #"{"startsAt":"\#(moved)","title":"  First dance  "}"#
        )
        #expect(patched.status == 200, "\(patched.text)")
        let changed = try Self.decode(TimelineEvent.self, patched)
        #expect(changed.startsAt == moved && changed.title == "First dance" && changed.minutes == event.minutes)
        let tag = "org:1:schedules:\(date)"
        #expect(Self.tags(answer).contains(tag) && Self.tags(timeline).contains(tag))
        #expect(await eventually { api.receiver.invalidations.contains { $0.tags.contains(tag) } })
        let after = try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        #expect(after.headers.first(name: "etag") != answer.headers.first(name: "etag"))
        let entry = try Self.decode(WeddingDayScreen.self, after).timeline.first { $0.id == event.id }
        #expect(entry?.startsAt == moved && entry?.title == "First dance")
        let order = try Self.decode(WeddingDayScreen.self, after).timeline.map(\.startsAt)
        #expect(order == order.sorted(), "the run sheet is in time order again")

        for body in [
            #"{"startsAt":"24:00"}"#, #"{"startsAt":"9:30"}"#, #"{"startsAt":"ab:cd"}"#, #"{"minutes":0}"#,
            #"{"minutes":1441}"#, #"{"title":""}"#, #"{"startsAt":7}"#, "not json",
        ] {
            let refused = try await api.send(
                .PATCH,
                "/api/timeline-events/\(event.id)",
                token: api.tokenOne,
                body: body
            )
            #expect(refused.status == 400, "\(body): \(refused.status) \(refused.text)")
            #expect(refused.text.contains("\"error\""))
        }
        let foreign = try await api.send(
            .PATCH,
            "/api/timeline-events/\(event.id)",
            token: api.tokenTwo,
            body: #"{"title":"Not yours"}"#
        )
        #expect(foreign.status == 404, "another tenant's entry: \(foreign.text)")
        // A patch naming no field answers the entry as it is; another tenant's is still a 404.
        let empty = try await api.send(.PATCH, "/api/timeline-events/\(event.id)", token: api.tokenOne, body: "{}")
        #expect(try Self.decode(TimelineEvent.self, empty).title == "First dance")
        let emptyForeign = try await api.send(
            .PATCH,
            "/api/timeline-events/\(event.id)",
            token: api.tokenTwo,
            body: "{}"
        )
        #expect(emptyForeign.status == 404)
        let unchanged = try Self.decode(
            WeddingDayScreen.self,
            try await api.get("/api/screens/wedding-day?date=\(date)", token: api.tokenOne)
        )
        #expect(unchanged.timeline.first { $0.id == event.id }?.title == "First dance")
        // The seeded day as it was, for the tests after this one.
        let restored = try await api.send(
            .PATCH,
            "/api/timeline-events/\(event.id)",
            token: api.tokenOne,
            body: #"{"startsAt":"\#(event.startsAt)","title":"\#(event.title)"}"#
        )
        #expect(restored.status == 200, "\(restored.text)")
    }

    @Test(
        "Bad input is a 400 naming the parameter; no token is a 401",
        arguments: ["/api/screens/wedding-day", "/api/timeline", "/api/guest-summary"]
    )
    func refused(path: String) async throws {
        let api = try await APIFixture.shared()
        for query in ["", "?date=2026-02-30", "?date=tomorrow", "?date=2026-06-06&supplier_id=0"] {
            let answer = try await api.get(path + query, token: api.tokenOne)
            #expect(
                answer.status == 400 && answer.text.contains("invalid_parameter"),
                "\(path)\(query): \(answer.text)"
            )
        }
        #expect(try await api.get(path + "?date=2026-06-06", token: nil).status == 401)
    }
}
