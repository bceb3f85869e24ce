import Foundation
import Testing
import WedSyncTestSupport

@testable import WedSyncPostgres

@Suite("PostgreSQL text formats and queries")
struct PostgresFormatTests {
    @Test("String interpolation binds values as parameters, never as SQL")
    func interpolation() {
        let organization = 7
        let name = "O'Brien'; DROP TABLE clients; --"
        let query: PostgresQuery =
            "SELECT id FROM clients WHERE organization_id = \(organization) AND last_name = \(name) ORDER BY \(unescaped: "wedding_date")"
        #expect(
            query.sql == "SELECT id FROM clients WHERE organization_id = $1 AND last_name = $2 ORDER BY wedding_date"
        )
        #expect(query.binds == ["7", name])
    }

    @Test("Optionals bind NULL, arrays bind array literals with quoting")
    func bindEncodings() {
        let missing: Int? = nil
        let query: PostgresQuery = "SELECT \(missing), \([1, 2, 3]), \(["a\"b", "c\\d"]), \(true), \(Double.infinity)"
        #expect(query.binds == [nil, #"{"1","2","3"}"#, #"{"a\"b","c\\d"}"#, "t", "Infinity"])
    }

    @Test(
        "Dates round-trip through the timestamptz text format",
        arguments: [
            0.0, 1_781_359_200.5, -86_400.25, 4_102_444_799.999999,
        ]
    )
    func dates(seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = try #require(date.postgresText)
        let decoded = try Date.decode(postgresText: text)
        #expect(abs(decoded.timeIntervalSince1970 - seconds) < 0.000_002)
    }

    @Test(
        "Server date formats decode to the right instant",
        arguments: [
            ("2026-06-13", 1_781_308_800.0),
            ("2026-06-13 14:00:00+00", 1_781_359_200.0),
            ("2026-06-13 14:00:00.25+00", 1_781_359_200.25),
            ("2026-06-13 16:00:00+02", 1_781_359_200.0),
            ("2026-06-13 09:30:00-04:30", 1_781_359_200.0),
            ("2026-06-13 14:00:00", 1_781_359_200.0),
        ]
    )
    func serverDates(text: String, expected: Double) throws {
        #expect(try Date.decode(postgresText: text).timeIntervalSince1970 == expected)
    }

    @Test("Malformed values are decoding errors, not crashes", arguments: ["", "2026-13", "infinity", "2026-06-13 25"])
    func badDates(text: String) {
        #expect(throws: PostgresError.self) { try Date.decode(postgresText: text) }
    }

    @Test("bytea hex round-trips")
    func bytea() throws {
        let data = Data([0, 1, 0x7f, 0x80, 0xff])
        let text = try #require(data.postgresText)
        #expect(text == "\\x00017f80ff")
        #expect(try Data.decode(postgresText: text) == data)
        #expect(throws: PostgresError.self) { try Data.decode(postgresText: "\\x0") }
    }

    @Test("URLs parse; the password stays out of the description")
    func configurationURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://app:p%40ss@db.internal:6432/wedsync?sslmode=disable"
        )
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.user == "app")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == "wedsync")
        #expect(configuration.options["sslmode"] == "disable")
        #expect(!configuration.description.contains("p@ss"))
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "mysql://db/x") }
    }
}
