import Foundation
import NIOCore
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncAPI

@Suite("API logic: export encoding, negotiation, cursors, invalidation merging")
struct APILogicTests {
    private func encode(_ format: ExportFormat, _ rows: [[String?]]) -> String {
        var encoder = ExportEncoder(format: format, columns: [("id", .number), ("name", .text), ("vip", .boolean)])
        var buffer = ByteBuffer()
        encoder.header(into: &buffer)
        for row in rows { encoder.row(row, into: &buffer) }
        encoder.footer(into: &buffer)
        return String(buffer: buffer)
    }

    @Test("CSV quotes commas, quotes and line breaks, and defuses spreadsheet formulas")
    func csv() {
        let text = encode(
            .csv,
            [
                ["1", "Smith, Jo", "t"], ["2", "say \"hi\"", "f"], ["3", "=HYPERLINK(\"x\")", nil],
                ["4", "line\nbreak", "t"], ["5", "-12", "f"],
            ]
        )
        #expect(
            text
                == "id,name,vip\r\n1,\"Smith, Jo\",true\r\n2,\"say \"\"hi\"\"\",false\r\n3,\"'=HYPERLINK(\"\"x\"\")\",\r\n4,\"line\nbreak\",true\r\n5,-12,false\r\n"
        )
    }

    @Test("JSON and NDJSON type numbers and booleans, escape strings, and write null")
    func json() throws {
        let text = encode(.json, [["1", "O'Brien \"Jr\"\\\t", "t"], ["2", nil, nil]])
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [[String: Any]]
        #expect(parsed.count == 2)
        #expect(parsed[0]["id"] as? Int == 1 && parsed[0]["vip"] as? Bool == true)
        #expect(parsed[0]["name"] as? String == "O'Brien \"Jr\"\\\t")
        #expect(parsed[1]["name"] is NSNull)
        let lines = encode(.ndjson, [["1", "a", "f"], ["2", "b", "t"]]).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try lines.allSatisfy { try JSONSerialization.jsonObject(with: Data($0.utf8)) is [String: Any] })
        #expect(encode(.json, []) == "[]")
    }

    @Test("Format negotiation: ?format= first, then Accept, JSON by default, unknown formats refused")
    func negotiation() {
        #expect(ExportFormat.negotiate(format: "csv", accept: "application/json") == .csv)
        #expect(ExportFormat.negotiate(format: nil, accept: "text/event-stream") == .sse)
        #expect(ExportFormat.negotiate(format: nil, accept: "text/html, application/x-ndjson;q=0.9") == .ndjson)
        #expect(ExportFormat.negotiate(format: nil, accept: nil) == .json)
        #expect(ExportFormat.negotiate(format: "xml", accept: nil) == nil)
    }

    @Test("Client cursors round-trip and refuse what the API did not issue")
    func cursors() {
        let cursor = ClientCursor(weddingDate: CalendarDay("2026-06-13")!, id: 4242)
        let parsed = ClientCursor(cursor.description)
        #expect(parsed?.weddingDate == cursor.weddingDate && parsed?.id == 4242)
        #expect(ClientCursor("garbage!") == nil)
        #expect(ClientCursor(Data("2026-02-30.1".utf8).base64EncodedString()) == nil)
        #expect(ClientCursor(Data("2026-06-13.-5".utf8).base64EncodedString()) == nil)
        // Before 1970 and the largest id: issued, so taken back, and matching the documented pattern.
        let pattern = try! Regex(#"^-?[0-9]{1,5}\.[1-9][0-9]{0,15}$"#)
        for (day, id) in [("1900-01-01", 1), ("1969-12-31", 9_007_199_254_740_991), ("2199-12-31", 7)] {
            let issued = ClientCursor(weddingDate: CalendarDay(day)!, id: id).description
            #expect(issued.wholeMatch(of: pattern) != nil, "\(issued)")
            #expect(ClientCursor(issued)?.weddingDate == CalendarDay(day) && ClientCursor(issued)?.id == id)
        }
        #expect(
            ClientCursor("-.5") == nil && ClientCursor("--1.5") == nil && ClientCursor("1.05") == nil
                && ClientCursor("+1.5") == nil
        )
    }

    @Test("LIKE wildcards in a search are escaped")
    func likeEscaping() {
        #expect(ClientStore.escapeLike("50%_off\\") == "50\\%\\_off\\\\")
    }

    @Test("Invalidations queued together merge into one request, each tag once")
    func mergeInvalidations() {
        let merged = InvalidationOutbox.merge([
            InvalidationRequest(tags: ["client:1", "org:1:clients"], reason: "client updated"),
            InvalidationRequest(tags: ["client:1", "guest-list:3"], reason: "guest added"),
        ])
        #expect(merged.tags == ["client:1", "org:1:clients", "guest-list:3"])
        #expect(merged.reason == "2 writes")
    }

    @Test("Query fingerprints collapse whitespace and hold no values")
    func fingerprints() {
        #expect(
            DatabaseQueryEvent.fingerprint(of: "SELECT *\n   FROM clients\tWHERE id = $1")
                == "SELECT * FROM clients WHERE id = $1"
        )
    }
}

@Suite("Seed data: deterministic and shaped like WedSync's")
struct SeedPlanTests {
    let anchor = CalendarDay("2026-01-01")!

    @Test("The same seed gives the same plan; another seed another")
    func deterministic() {
        let one = SeedPlan(options: SeedOptions(scale: 0.02, anchor: anchor))
        let two = SeedPlan(options: SeedOptions(scale: 0.02, anchor: anchor))
        let other = SeedPlan(options: SeedOptions(scale: 0.02, seed: 7, anchor: anchor))
        #expect(one.clients.map(\.weddingDay) == two.clients.map(\.weddingDay))
        #expect(one.clients.map(\.guestCount) == two.clients.map(\.guestCount))
        #expect(one.clients.map(\.weddingDay) != other.clients.map(\.weddingDay))
    }

    @Test("Scale 1: 200 organizations, 100,000 clients, a few very large organizations and a long tail")
    func sizes() {
        let plan = SeedPlan(options: SeedOptions(scale: 1, anchor: anchor))
        #expect(plan.organizations.count == 200)
        #expect(plan.clients.count >= 100_000)
        let sizes = plan.organizations.map(\.clientCount)
        #expect(sizes == sizes.sorted(by: >), "organization 1 is the largest")
        #expect(sizes[0] > 10 * sizes[199])
        #expect(sizes.suffix(100).reduce(0, +) < sizes.prefix(10).reduce(0, +))
    }

    @Test("Weddings cluster on Saturdays and from May to October; guest lists hold 20 to 300")
    func shape() {
        let plan = SeedPlan(options: SeedOptions(scale: 0.2, anchor: anchor))
        let days = plan.clients.map { CalendarDay(daysSinceEpoch: Int($0.weddingDay)) }
        let saturdays = Double(days.filter { $0.weekday == 6 }.count) / Double(days.count)
        let season = Double(days.filter { (5...10).contains($0.month) }.count) / Double(days.count)
        #expect(saturdays > 0.6)
        #expect(season > 0.7)
        let lists = plan.clients.map(\.guestCount).filter { $0 > 0 }
        #expect(lists.allSatisfy { (20...300).contains($0) })
        #expect(lists.contains(20) || lists.min()! < 40)
        #expect(lists.max()! > 250)
        let expectedGuests = plan.clients.reduce(0) { $0 + Int($1.guestCount) }
        #expect(expectedGuests > 200_000, "scale 1 must reach a million guests: \(expectedGuests) at 0.2")
    }
}
