import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The WedSync API's endpoints against a real, seeded PostgreSQL, over real HTTP.
@Suite("WedSync API endpoints", .serialized, .timeLimit(.minutes(3)))
struct APIEndpointTests {
    static func decode<Value: Decodable>(_ type: Value.Type, _ answer: HTTP.Answer) throws -> Value {
        try WedSyncJSON.makeDecoder().decode(Value.self, from: answer.data)
    }

    static func errorCode(_ answer: HTTP.Answer) -> String? {
        (try? WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: answer.data))?.error.code
    }

    /// A wide window around today: every seeded wedding is in it.
    static let everything = "from=2025-01-01&to=2027-12-31"

    @Test("Without a token, or with a wrong one, every endpoint answers 401 in the error envelope")
    func unauthorized() async throws {
        let api = try await APIFixture.shared()
        for path in [
            "/api/clients", "/api/clients/1", "/api/guest-lists?client_id=1", "/api/dashboard", "/api/auth/introspect",
            "/api/exports/guests",
        ] {
            let anonymous = try await api.get(path, token: nil)
            #expect(anonymous.status == 401, "\(path)")
            #expect(Self.errorCode(anonymous) == "unauthorized")
            let wrong = try await api.get(path, token: "wsk_not-a-real-token")
            #expect(wrong.status == 401, "\(path)")
        }
        let patch = try await api.send(.PATCH, "/api/clients/1", token: nil, body: #"{"status":"booked"}"#)
        #expect(patch.status == 401)
    }

    @Test("Introspection names the token's supplier and organization, and is never stored by a shared cache")
    func introspect() async throws {
        let api = try await APIFixture.shared()
        let answer = try await api.get("/api/auth/introspect", token: api.tokenTwo)
        #expect(answer.status == 200)
        let introspection = try Self.decode(TokenIntrospection.self, answer)
        #expect(introspection.organizationId == 2)
        #expect(introspection.active)
        let supplierOrganization = try await api.scalar(
            Int.self,
            "SELECT organization_id FROM suppliers WHERE id = \(introspection.supplierId)"
        )
        #expect(supplierOrganization == 2)
        #expect(answer.headers.first(name: "cache-control") == "no-store")
    }

    @Test(
        "The clients list: the caller's clients in the date range, in order, with guest counts, paginated without gaps"
    )
    func clientsList() async throws {
        let api = try await APIFixture.shared()
        let from = CalendarDay("2026-05-01")!
        let to = CalendarDay("2026-08-31")!
        var seen: [Client] = []
        var cursor: String?
        var pages = 0
        repeat {
            let answer = try await api.get(
                "/api/clients?from=\(from)&to=\(to)&limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""),
                token: api.tokenOne
            )
            #expect(answer.status == 200)
            let page = try Self.decode(ClientPage.self, answer)
            seen += page.clients
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 100
        let expected = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM clients WHERE organization_id = 1 AND deleted_at IS NULL AND wedding_date BETWEEN \(from) AND \(to)"
        )
        #expect(expected > 100, "the range should need several pages")
        #expect(seen.count == expected)
        #expect(Set(seen.map(\.id)).count == seen.count, "no client twice across pages")
        #expect(seen.allSatisfy { $0.organizationId == 1 && $0.weddingDate >= from && $0.weddingDate <= to })
        #expect(seen == seen.sorted { ($0.weddingDate, $0.id) < ($1.weddingDate, $1.id) })
        // Guest counts match the guests table.
        let withGuests = try #require(seen.first { $0.guestCount > 0 })
        let count = try await api.scalar(Int.self, "SELECT count(*) FROM guests WHERE client_id = \(withGuests.id)")
        #expect(withGuests.guestCount == count)
    }

    @Test("Filters: status, and a name search through the trigram index")
    func clientFilters() async throws {
        let api = try await APIFixture.shared()
        let booked = try Self.decode(
            ClientPage.self,
            try await api.get("/api/clients?\(Self.everything)&status=booked&limit=200", token: api.tokenOne)
        )
        #expect(!booked.clients.isEmpty)
        #expect(booked.clients.allSatisfy { $0.status == "booked" })

        let sample = try #require(booked.clients.first)
        let term = sample.partner1LastName.lowercased()
        let found = try Self.decode(
            ClientPage.self,
            try await api.get("/api/clients?\(Self.everything)&q=\(term)&limit=200", token: api.tokenOne)
        )
        #expect(found.clients.contains { $0.id == sample.id })
        #expect(
            found.clients.allSatisfy {
                [$0.partner1FirstName, $0.partner1LastName, $0.partner2FirstName ?? "", $0.partner2LastName ?? ""]
                    .joined(separator: " ").lowercased().contains(term)
            }
        )
        // LIKE wildcards in the search are literal.
        let wildcard = try Self.decode(
            ClientPage.self,
            try await api.get("/api/clients?\(Self.everything)&q=%25%25%25", token: api.tokenOne)
        )
        #expect(wildcard.clients.isEmpty)
    }

    @Test("Bad parameters are clear 400s naming the parameter")
    func validation() async throws {
        let api = try await APIFixture.shared()
        let cases: [(String, String)] = [
            ("/api/clients?from=2026-13-01", "from"),
            ("/api/clients?from=yesterday", "from"),
            ("/api/clients?from=1899-12-31", "from"),
            ("/api/clients?limit=0", "limit"),
            ("/api/clients?limit=201", "limit"),
            ("/api/clients?limit=ten", "limit"),
            ("/api/clients?status=married", "status"),
            ("/api/clients?q=ab", "q"),
            ("/api/clients?cursor=garbage!", "cursor"),
            ("/api/clients/abc", "id"),
            ("/api/clients/-4", "id"),
            ("/api/guest-lists", "client_id"),
            ("/api/guest-lists?client_id=x", "client_id"),
            ("/api/journey-instances?client_id=0", "client_id"),
            ("/api/supplier-schedules", "date"),
            ("/api/supplier-schedules?date=2026-02-30", "date"),
            ("/api/exports/guests?format=xml", "format"),
            ("/api/exports/guests?format=CSV", "format"),
            ("/api/clients?q=%01abc", "q"),
        ]
        for (path, parameter) in cases {
            let answer = try await api.get(path, token: api.tokenOne)
            #expect(answer.status == 400, "\(path) answered \(answer.status)")
            #expect(Self.errorCode(answer) == "invalid_parameter", "\(path)")
            #expect(answer.text.contains(parameter), "\(path): \(answer.text)")
        }
        let badBodies: [(String, String)] = [
            (#"{"status":"married"}"#, "status"),
            (#"{"weddingDate":"2026-02-30"}"#, "weddingDate"),
            (#"{"guestEstimate":-1}"#, "guestEstimate"),
            (#"{"email":"not-an-email"}"#, "email"),
            (#"{"partner1FirstName":""}"#, "partner1FirstName"),
            (#"{"partner1FirstName":"   "}"#, "partner1FirstName"),
            (#"{"partner1FirstName":"Ann\nLee"}"#, "partner1FirstName"),
            (#"{"weddingDate":"2200-01-01"}"#, "weddingDate"),
            (#"[1,2]"#, "body"),
        ]
        let clientID = try await api.scalar(
            Int.self,
            "SELECT min(id) FROM clients WHERE organization_id = 1 AND deleted_at IS NULL"
        )
        for (body, mention) in badBodies {
            let answer = try await api.send(.PATCH, "/api/clients/\(clientID)", token: api.tokenOne, body: body)
            #expect(answer.status == 400, "\(body) answered \(answer.status)")
            #expect(answer.text.contains(mention), "\(body): \(answer.text)")
        }
        let unknownExport = try await api.get("/api/exports/weddings", token: api.tokenOne)
        #expect(unknownExport.status == 404)
        // What the document allows is taken: an empty range is an empty page, a long one is paged like any other,
        // and an empty merge patch (RFC 7396) changes nothing.
        let empty = try Self.decode(
            ClientPage.self,
            try await api.get("/api/clients?from=2026-06-01&to=2026-05-01", token: api.tokenOne)
        )
        #expect(empty.clients.isEmpty && empty.nextCursor == nil)
        let long = try await api.get("/api/clients?from=1900-01-01&to=2199-12-31&limit=2", token: api.tokenOne)
        #expect(long.status == 200)
        let before = try await api.get("/api/clients/\(clientID)", token: api.tokenOne)
        let unchanged = try await api.send(.PATCH, "/api/clients/\(clientID)", token: api.tokenOne, body: "{}")
        #expect(unchanged.status == 200)
        #expect(
            try Self.decode(Client.self, unchanged).updatedAt == (try Self.decode(Client.self, before).updatedAt),
            "nothing was written"
        )
    }

    @Test("Two organizations' tokens never see each other's rows: lists, details, guests, journeys, writes")
    func tenantScoping() async throws {
        let api = try await APIFixture.shared()
        let theirs = try await api.scalar(
            Int.self,
            "SELECT min(c.id) FROM clients c JOIN guest_lists gl ON gl.client_id = c.id WHERE c.organization_id = 1 AND c.deleted_at IS NULL"
        )
        let mine = try await api.scalar(
            Int.self,
            "SELECT min(id) FROM clients WHERE organization_id = 2 AND deleted_at IS NULL"
        )
        let theirGuest = try await api.scalar(Int.self, "SELECT min(id) FROM guests WHERE client_id = \(theirs)")
        let theirList = try await api.scalar(Int.self, "SELECT min(id) FROM guest_lists WHERE client_id = \(theirs)")

        #expect(try await api.get("/api/clients/\(theirs)", token: api.tokenOne).status == 200)
        #expect(try await api.get("/api/clients/\(theirs)", token: api.tokenTwo).status == 404)
        #expect(try await api.get("/api/clients/\(mine)", token: api.tokenTwo).status == 200)
        #expect(try await api.get("/api/guest-lists?client_id=\(theirs)", token: api.tokenTwo).status == 404)
        #expect(try await api.get("/api/journey-instances?client_id=\(theirs)", token: api.tokenTwo).status == 404)
        #expect(
            try await api.send(.PATCH, "/api/clients/\(theirs)", token: api.tokenTwo, body: #"{"notes":"x"}"#).status
                == 404
        )
        #expect(
            try await api.send(
                .PATCH,
                "/api/guests/\(theirGuest)",
                token: api.tokenTwo,
                body: #"{"rsvpStatus":"declined"}"#
            ).status == 404
        )
        let create = #"{"guestListId":\#(theirList),"firstName":"Eve","lastName":"Intruder"}"#
        #expect(try await api.send(.POST, "/api/guests", token: api.tokenTwo, body: create).status == 404)
        let intruders = try await api.scalar(Int.self, "SELECT count(*) FROM guests WHERE last_name = 'Intruder'")
        #expect(intruders == 0)

        let two = try Self.decode(
            ClientPage.self,
            try await api.get("/api/clients?\(Self.everything)&limit=200", token: api.tokenTwo)
        )
        #expect(!two.clients.isEmpty)
        #expect(two.clients.allSatisfy { $0.organizationId == 2 })
        let guests = try await api.get("/api/exports/guests?format=ndjson", token: api.tokenTwo)
        let clientIDs = Set(
            try guests.text.split(separator: "\n").map { line in
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            }.map { $0["clientId"] as! Int }
        )
        let foreign = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM clients WHERE id = ANY(\(Array(clientIDs))::bigint[]) AND organization_id <> 2"
        )
        #expect(!clientIDs.isEmpty && foreign == 0)
    }

    @Test(
        "Every GET has a strong ETag, private Cache-Control, a CDN-Cache-Control TTL, Vary: X-Tenant-Id and Cache-Tag; a matching If-None-Match is a 304"
    )
    func cachingHeaders() async throws {
        let api = try await APIFixture.shared()
        let client = try await api.scalar(
            Int.self,
            "SELECT min(id) FROM clients WHERE organization_id = 1 AND deleted_at IS NULL"
        )
        let date = try await api.scalar(
            CalendarDay.self,
            "SELECT min(schedule_date) FROM supplier_schedules WHERE organization_id = 1"
        )
        let paths = [
            "/api/clients?\(Self.everything)", "/api/clients/\(client)", "/api/guest-lists?client_id=\(client)",
            "/api/journey-instances?client_id=\(client)", "/api/supplier-schedules?date=\(date)", "/api/dashboard",
        ]
        for path in paths {
            let answer = try await api.get(path, token: api.tokenOne)
            #expect(answer.status == 200, "\(path)")
            let etag = try #require(answer.headers.first(name: "etag"), "\(path)")
            #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"), "a strong ETag: \(etag)")
            #expect(answer.headers.first(name: "cache-control") == "private, no-cache")
            #expect(answer.headers.first(name: "cdn-cache-control")?.contains("max-age=") == true)
            #expect(answer.headers.first(name: "vary") == "X-Tenant-Id")
            let tags = answer.headers.first(name: "cache-tag")?.components(separatedBy: ", ") ?? []
            #expect(tags.contains("org:1"), "\(path): \(tags)")
            #expect(answer.headers.first(name: "server-timing")?.contains("db;dur=") == true)

            // Other suites write to the same organization: a 200 is right only when the representation changed
            // meanwhile (a new ETag); the same ETag must be a 304.
            func unchanged(_ answer: HTTP.Answer) -> Bool {
                answer.status != 200 || answer.headers.first(name: "etag") == etag
            }
            let again = try await api.get(path, token: api.tokenOne, headers: [("If-None-Match", etag)])
            if unchanged(again) {
                #expect(again.status == 304, "\(path)")
                #expect(again.body.readableBytes == 0)
                #expect(again.headers.first(name: "etag") == etag)
            }
            let listed = try await api.get(
                path,
                token: api.tokenOne,
                headers: [("If-None-Match", "\"other\", \(etag)")]
            )
            if unchanged(listed) { #expect(listed.status == 304, "\(path): a list naming the ETag") }
            let stale = try await api.get(path, token: api.tokenOne, headers: [("If-None-Match", "\"something-else\"")])
            #expect(stale.status == 200)
        }
        let detail = try await api.get("/api/clients/\(client)", token: api.tokenOne)
        #expect(detail.headers.first(name: "cache-tag")?.contains("client:\(client)") == true)
        // Another organization's view of the same path is another representation.
        let one = try await api.get("/api/dashboard", token: api.tokenOne)
        let two = try await api.get("/api/dashboard", token: api.tokenTwo)
        #expect(one.headers.first(name: "etag") != two.headers.first(name: "etag"))
        #expect(
            try await api.get(
                "/api/dashboard",
                token: api.tokenTwo,
                headers: [("If-None-Match", one.headers.first(name: "etag")!)]
            ).status == 200
        )
    }

    @Test(
        "PATCH a client: the change is stored and audited, its tags are sent to the cache service, and If-Match guards it"
    )
    func patchClient() async throws {
        let api = try await APIFixture.shared()
        let id = try await api.scalar(
            Int.self,
            "SELECT max(id) FROM clients WHERE organization_id = 1 AND deleted_at IS NULL"
        )
        let before = try await api.get("/api/clients/\(id)", token: api.tokenOne)
        let etag = try #require(before.headers.first(name: "etag"))

        let answer = try await api.send(
            .PATCH,
            "/api/clients/\(id)",
            token: api.tokenOne,
            body: #"{"venueName":"The Walled Garden","status":"booked","weddingDate":"2027-06-12"}"#,
            headers: [("If-Match", etag)]
        )
        #expect(answer.status == 200, "\(answer.text)")
        let updated = try Self.decode(Client.self, answer)
        #expect(
            updated.venueName == "The Walled Garden" && updated.status == "booked"
                && updated.weddingDate == CalendarDay("2027-06-12")
        )
        let stored = try await api.scalar(String.self, "SELECT venue_name FROM clients WHERE id = \(id)")
        #expect(stored == "The Walled Garden")
        let audited = try await api.scalar(
            String.self,
            "SELECT array_to_string(changed_fields, ',') FROM audit_log WHERE entity_type = 'client' AND entity_id = \(id) ORDER BY id DESC LIMIT 1"
        )
        #expect(audited == "wedding_date,venue_name,status")
        #expect(
            await eventually {
                api.receiver.invalidations.contains {
                    $0.tags.contains("client:\(id)") && $0.tags.contains("org:1:clients")
                }
            }
        )

        // The old ETag no longer matches: 412, nothing changed.
        let conflicting = try await api.send(
            .PATCH,
            "/api/clients/\(id)",
            token: api.tokenOne,
            body: #"{"venueName":"Elsewhere"}"#,
            headers: [("If-Match", etag)]
        )
        #expect(conflicting.status == 412)
        #expect(
            try await api.scalar(String.self, "SELECT venue_name FROM clients WHERE id = \(id)") == "The Walled Garden"
        )
        // The new one, from the detail, does.
        let fresh = try await api.get("/api/clients/\(id)", token: api.tokenOne)
        #expect(fresh.headers.first(name: "etag") != etag)
    }

    @Test("POST and PATCH a guest: 201 with Location, visible in the guest list, invalidations carry the list's tags")
    func guests() async throws {
        let api = try await APIFixture.shared()
        let list = try await api.scalar(Int.self, "SELECT min(id) FROM guest_lists WHERE organization_id = 1")
        let client = try await api.scalar(Int.self, "SELECT client_id FROM guest_lists WHERE id = \(list)")
        let countBefore = try Self.decode(Client.self, try await api.get("/api/clients/\(client)", token: api.tokenOne))
            .guestCount

        let created = try await api.send(
            .POST,
            "/api/guests",
            token: api.tokenOne,
            body:
                #"{"guestListId":\#(list),"firstName":"Ada","lastName":"Lovelace","rsvpStatus":"attending","dietaryRequirements":"vegan","tableNumber":4}"#
        )
        #expect(created.status == 201, "\(created.text)")
        let guest = try Self.decode(Guest.self, created)
        #expect(created.headers.first(name: "location") == "/api/guests/\(guest.id)")
        #expect(guest.clientId == client && guest.rsvpStatus == "attending" && guest.tableNumber == 4)

        let lists = try Self.decode(
            GuestListsResponse.self,
            try await api.get("/api/guest-lists?client_id=\(client)", token: api.tokenOne)
        )
        #expect(lists.guestLists.first { $0.id == list }?.guests.contains { $0.id == guest.id } == true)
        let countAfter = try Self.decode(Client.self, try await api.get("/api/clients/\(client)", token: api.tokenOne))
            .guestCount
        #expect(countAfter == countBefore + 1)
        #expect(
            await eventually {
                api.receiver.invalidations.contains {
                    $0.tags.contains("guest-list:\(list)") && $0.tags.contains("client:\(client)")
                }
            }
        )

        let patched = try await api.send(
            .PATCH,
            "/api/guests/\(guest.id)",
            token: api.tokenOne,
            body: #"{"rsvpStatus":"declined","tableNumber":7}"#
        )
        #expect(patched.status == 200)
        #expect(try Self.decode(Guest.self, patched).rsvpStatus == "declined")
        #expect(
            try await api.scalar(String.self, "SELECT rsvp_status FROM guests WHERE id = \(guest.id)") == "declined"
        )

        let invalid = try await api.send(
            .POST,
            "/api/guests",
            token: api.tokenOne,
            body: #"{"guestListId":\#(list),"firstName":"","lastName":"X"}"#
        )
        #expect(invalid.status == 400)
        let missing = try await api.send(.POST, "/api/guests", token: api.tokenOne, body: #"{"guestListId":\#(list)}"#)
        #expect(missing.status == 400)
        #expect(missing.text.contains("firstName"))
        let badRSVP = try await api.send(
            .PATCH,
            "/api/guests/\(guest.id)",
            token: api.tokenOne,
            body: #"{"rsvpStatus":"perhaps"}"#
        )
        #expect(badRSVP.status == 400)
    }

    @Test("Journeys, the day's schedules with their run sheets, and the dashboard's counts")
    func planning() async throws {
        let api = try await APIFixture.shared()
        let client = try await api.scalar(
            Int.self,
            "SELECT min(client_id) FROM journey_instances WHERE organization_id = 1"
        )
        let journeys = try Self.decode(
            JourneyInstancesResponse.self,
            try await api.get("/api/journey-instances?client_id=\(client)", token: api.tokenOne)
        )
        #expect(
            journeys.journeyInstances.count
                == (try await api.scalar(Int.self, "SELECT count(*) FROM journey_instances WHERE client_id = \(client)"))
        )

        let date = try await api.scalar(
            CalendarDay.self,
            "SELECT schedule_date FROM supplier_schedules WHERE organization_id = 1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        let schedules = try Self.decode(
            SupplierSchedulesResponse.self,
            try await api.get("/api/supplier-schedules?date=\(date)", token: api.tokenOne)
        )
        let expected = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM supplier_schedules WHERE organization_id = 1 AND schedule_date = \(date)"
        )
        #expect(schedules.schedules.count == expected && expected > 0)
        #expect(schedules.schedules.allSatisfy { $0.date == date })
        let events = schedules.schedules.reduce(0) { $0 + $1.timeline.count }
        let expectedEvents = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM timeline_events t JOIN supplier_schedules s ON s.id = t.schedule_id WHERE s.organization_id = 1 AND s.schedule_date = \(date)"
        )
        #expect(events == expectedEvents)
        let other = try Self.decode(
            SupplierSchedulesResponse.self,
            try await api.get("/api/supplier-schedules?date=\(date)", token: api.tokenTwo)
        )
        #expect(Set(other.schedules.map(\.id)).isDisjoint(with: schedules.schedules.map(\.id)))

        // Other tests write organization 1's guests concurrently: refresh and compare until a refresh and the counts
        // agree (a dashboard that never matches still fails).
        var dashboard: DashboardCounts?
        var counted: (clients: Int, guests: Int) = (-1, -1)
        let matched = try await eventually(timeout: .seconds(10)) {
            try await api.components.environment.dashboard.refresh()
            let counts = try Self.decode(DashboardCounts.self, try await api.get("/api/dashboard", token: api.tokenOne))
            counted = (
                try await api.scalar(
                    Int.self,
                    "SELECT count(*) FROM clients WHERE organization_id = 1 AND deleted_at IS NULL"
                ),
                try await api.scalar(Int.self, "SELECT count(*) FROM guests WHERE organization_id = 1")
            )
            dashboard = counts
            return counts.clients == counted.clients && counts.guests == counted.guests
        }
        #expect(dashboard?.organizationId == 1)
        #expect(
            matched,
            "dashboard \(String(describing: dashboard)) against clients \(counted.clients), guests \(counted.guests)"
        )
    }

    @Test(
        "Requests report their statements to the metrics service and the query optimizer with the request id and route"
    )
    func queryEvents() async throws {
        let api = try await APIFixture.shared()
        let requestID = "query-events-\(UUID().uuidString.prefix(8))"
        let answer = try await api.get(
            "/api/clients?\(Self.everything)",
            token: api.tokenOne,
            headers: [("x-request-id", requestID)]
        )
        #expect(answer.status == 200)
        #expect(
            await eventually {
                api.receiver.events.contains { event in
                    guard case .databaseQuery(let query) = event else { return false }
                    return query.requestId == requestID && query.route == "/api/clients"
                        && query.fingerprint.contains("FROM clients c")
                }
            }
        )
        #expect(
            await eventually {
                api.receiver.events(at: APIPath.QueryOptimizer.queryEvents).contains { event in
                    guard case .databaseQuery(let query) = event else { return false }
                    return query.requestId == requestID && query.route == "/api/clients"
                }
            },
            "the optimizer's copy, for N+1 detection"
        )
    }

    @Test("A token's lookup is one of the request's statements: counted in Server-Timing and sent as a query event")
    func tokenLookupRecorded() async throws {
        let api = try await APIFixture.shared()
        // A token no request has used yet: its first request looks it up in the database, the next uses the cache.
        let token = try await TokenStore(database: api.components.database).issue(organization: 1)
        let requestID = "token-lookup-\(UUID().uuidString.prefix(8))"
        func queries(_ answer: HTTP.Answer) -> Int? {
            guard let timing = answer.headers.first(name: "server-timing"),
                let range = timing.range(of: "desc=\"")
            else { return nil }
            return Int(timing[range.upperBound...].prefix { $0.isNumber })
        }
        let first = try await api.get("/api/dashboard", token: token, headers: [("x-request-id", requestID)])
        let second = try await api.get("/api/dashboard", token: token)
        #expect(first.status == 200 && second.status == 200)
        let (counted, cached) = (try #require(queries(first)), try #require(queries(second)))
        #expect(counted == cached + 1, "Server-Timing: \(counted) queries with the lookup, \(cached) without")
        #expect(
            await eventually {
                api.receiver.events.contains { event in
                    guard case .databaseQuery(let query) = event else { return false }
                    return query.requestId == requestID && query.fingerprint.contains("api_tokens")
                }
            },
            "the lookup's query event"
        )
    }
}
