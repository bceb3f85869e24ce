import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The vendor-management endpoints against a real API on a seeded database: scoped by the supplier's token, cached
/// with tags, invalidated on write, and 400s that name the parameter.
@Suite("API: vendors and their contacts", .serialized)
struct VendorEndpointTests {
    static func decode<Value: Decodable>(_ type: Value.Type, _ answer: HTTP.Answer) throws -> Value {
        try WedSyncJSON.makeDecoder().decode(type, from: Data(answer.body.readableBytesView))
    }

    @Test("List, category, search and pages: only the caller's vendors, each with its contacts; tagged for the cache")
    func list() async throws {
        let api = try await APIFixture.shared()
        let own = try await api.scalar(Int.self, "SELECT count(*)::bigint FROM vendors WHERE organization_id = 1")
        #expect(own > 2, "the seed gives organization 1 vendors")
        var seen: [Vendor] = []
        var cursor: Int?
        repeat {
            let answer = try await api.get(
                "/api/vendors?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                token: api.tokenOne
            )
            #expect(answer.status == 200, "\(answer.text)")
            let page = try Self.decode(VendorPage.self, answer)
            #expect(page.vendors.count <= 2)
            let tags = answer.headers.first(name: "cache-tag")?.components(separatedBy: ", ") ?? []
            #expect(tags.contains("org:1:vendors"))
            #expect(page.vendors.allSatisfy { tags.contains("vendor:\($0.id)") })
            #expect(answer.headers.first(name: "vary") == "X-Tenant-Id")
            seen += page.vendors
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.count == own, "the pages together are every vendor once")
        #expect(Set(seen.map(\.id)).count == seen.count)
        #expect(seen.map(\.id) == seen.map(\.id).sorted())
        let ids = seen.map(\.id)
        let foreign = try await api.scalar(
            Int.self,
            "SELECT count(*)::bigint FROM vendors WHERE id = ANY(\(ids)::bigint[]) AND organization_id <> 1"
        )
        #expect(foreign == 0)
        let contacts = try await api.scalar(
            Int.self,
            "SELECT count(*)::bigint FROM vendor_contacts vc JOIN vendors v ON v.id = vc.vendor_id WHERE v.organization_id = 1"
        )
        #expect(seen.reduce(0) { $0 + $1.contacts.count } == contacts)
        #expect(seen.allSatisfy { vendor in vendor.contacts.allSatisfy { $0.vendorId == vendor.id } })

        let category = try #require(seen.first?.category)
        let byCategory = try Self.decode(
            VendorPage.self,
            try await api.get("/api/vendors?category=\(category)&limit=200", token: api.tokenOne)
        )
        #expect(byCategory.vendors.map(\.id) == seen.filter { $0.category == category }.map(\.id))

        let name = try #require(seen.first?.name)
        let word = String(name.split(separator: " ").first ?? "")
        let query = word.count >= 3 ? word : name
        let found = try Self.decode(
            VendorPage.self,
            try await api.get(
                "/api/vendors?q=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query)&limit=200",
                token: api.tokenOne
            )
        )
        #expect(found.vendors.contains { $0.id == seen.first?.id })
        #expect(found.vendors.allSatisfy { $0.name.lowercased().contains(query.lowercased()) })
        let wildcard = try Self.decode(
            VendorPage.self,
            try await api.get("/api/vendors?q=%25%25%25", token: api.tokenOne)
        )
        #expect(wildcard.vendors.isEmpty, "% is matched literally")
    }

    @Test("Another organization's vendor or contact is a 404, read or written, and stays unchanged")
    func scoped() async throws {
        let api = try await APIFixture.shared()
        let vendor = try await api.scalar(Int.self, "SELECT min(id) FROM vendors WHERE organization_id = 1")
        let contact = try await api.scalar(Int.self, "SELECT min(id) FROM vendor_contacts WHERE vendor_id = \(vendor)")
        let name = try await api.scalar(String.self, "SELECT name FROM vendors WHERE id = \(vendor)")
        #expect(try await api.get("/api/vendors/\(vendor)", token: api.tokenOne).status == 200)
        let read = try await api.get("/api/vendors/\(vendor)", token: api.tokenTwo)
        #expect(read.status == 404)
        #expect(read.text.contains("not_found"))
        let written = try await api.send(
            .PATCH,
            "/api/vendors/\(vendor)",
            token: api.tokenTwo,
            body: #"{"name":"Taken Over Ltd"}"#
        )
        #expect(written.status == 404)
        let contactWritten = try await api.send(
            .PATCH,
            "/api/vendor-contacts/\(contact)",
            token: api.tokenTwo,
            body: #"{"phone":"+44 1"}"#
        )
        #expect(contactWritten.status == 404)
        #expect(try await api.scalar(String.self, "SELECT name FROM vendors WHERE id = \(vendor)") == name)
        let theirs = try Self.decode(VendorPage.self, try await api.get("/api/vendors?limit=200", token: api.tokenTwo))
        #expect(!theirs.vendors.contains { $0.id == vendor })
        #expect(try await api.get("/api/vendors", token: nil).status == 401)
    }

    @Test(
        "PATCH a vendor and a contact: stored, audited, and the vendor's tags invalidated; an empty patch writes nothing"
    )
    func updates() async throws {
        let api = try await APIFixture.shared()
        let vendor = try await api.scalar(Int.self, "SELECT max(id) FROM vendors WHERE organization_id = 1")
        let contact = try await api.scalar(Int.self, "SELECT max(id) FROM vendor_contacts WHERE vendor_id = \(vendor)")
        let before = try await api.get("/api/vendors/\(vendor)", token: api.tokenOne)
        let etag = try #require(before.headers.first(name: "etag"))

        let patched = try await api.send(
            .PATCH,
            "/api/vendors/\(vendor)",
            token: api.tokenOne,
            body: #"{"name":"  The Orangery  ","category":"venue","website":"https://orangery.example"}"#
        )
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.headers.first(name: "cache-control") == "no-store")
        let updated = try Self.decode(Vendor.self, patched)
        #expect(updated.name == "The Orangery" && updated.category == "venue")
        #expect(updated.website == "https://orangery.example")
        #expect(try await api.scalar(String.self, "SELECT name FROM vendors WHERE id = \(vendor)") == "The Orangery")
        let audited = try await api.scalar(
            String.self,
            "SELECT array_to_string(changed_fields, ',') FROM audit_log WHERE entity_type = 'vendor' AND entity_id = \(vendor) ORDER BY id DESC LIMIT 1"
        )
        #expect(audited == "name,category,website")
        #expect(
            await eventually {
                api.receiver.invalidations.contains {
                    $0.tags.contains("vendor:\(vendor)") && $0.tags.contains("org:1:vendors")
                }
            }
        )
        // The representation changed: the old ETag is no longer a 304.
        let again = try await api.get("/api/vendors/\(vendor)", token: api.tokenOne, headers: [("If-None-Match", etag)])
        #expect(again.status == 200)

        let contactPatched = try await api.send(
            .PATCH,
            "/api/vendor-contacts/\(contact)",
            token: api.tokenOne,
            body: #"{"phone":"+44 20 7946 0000","role":"events manager","email":"Events@Orangery.example"}"#
        )
        #expect(contactPatched.status == 200, "\(contactPatched.text)")
        let changed = try Self.decode(VendorContact.self, contactPatched)
        #expect(changed.vendorId == vendor && changed.phone == "+44 20 7946 0000" && changed.role == "events manager")
        let detail = try Self.decode(Vendor.self, try await api.get("/api/vendors/\(vendor)", token: api.tokenOne))
        #expect(detail.contacts.first { $0.id == contact } == changed)
        #expect(
            try await api.scalar(
                String.self,
                "SELECT array_to_string(changed_fields, ',') FROM audit_log WHERE entity_type = 'vendor_contact' AND entity_id = \(contact) ORDER BY id DESC LIMIT 1"
            ) == "email,phone,role"
        )

        let auditCount: PostgresQuery =
            "SELECT count(*)::bigint FROM audit_log WHERE entity_type = 'vendor' AND entity_id = \(vendor)"
        let audits = try await api.scalar(Int.self, auditCount)
        let empty = try await api.send(.PATCH, "/api/vendors/\(vendor)", token: api.tokenOne, body: "{}")
        #expect(empty.status == 200)
        #expect(try Self.decode(Vendor.self, empty) == detail)
        #expect(try await api.scalar(Int.self, auditCount) == audits)
    }

    @Test(
        "Bad input is a 400 naming the parameter or field",
        arguments: [
            ("GET", "/api/vendors?category=astrologer", nil, "category"),
            ("GET", "/api/vendors?q=ab", nil, "q"),
            ("GET", "/api/vendors?limit=0", nil, "limit"),
            ("GET", "/api/vendors?limit=201", nil, "limit"),
            ("GET", "/api/vendors?cursor=-4", nil, "cursor"),
            ("GET", "/api/vendors?cursor=x", nil, "cursor"),
            ("GET", "/api/vendors/0", nil, "id"),
            ("PATCH", "/api/vendors/1", #"{"category":"astrologer"}"#, "category"),
            ("PATCH", "/api/vendors/1", #"{"name":""}"#, "name"),
            ("PATCH", "/api/vendors/1", #"{"website":"\#(String(repeating: "w", count: 301))"}"#, "website"),
            ("PATCH", "/api/vendor-contacts/1", #"{"email":"not an email"}"#, "email"),
            ("PATCH", "/api/vendor-contacts/1", #"{"name":7}"#, "name"),
        ] as [(String, String, String?, String)]
    )
    func badInput(_ method: String, _ path: String, _ body: String?, _ field: String) async throws {
        let api = try await APIFixture.shared()
        let answer =
            method == "GET"
            ? try await api.get(path, token: api.tokenOne)
            : try await api.send(.PATCH, path, token: api.tokenOne, body: body)
        #expect(answer.status == 400, "\(method) \(path): \(answer.status) \(answer.text)")
        let error = try Self.decode(ErrorEnvelope.self, answer)
        #expect(error.error.message.contains(field), "\(method) \(path): \(error.error.message)")
    }
}
