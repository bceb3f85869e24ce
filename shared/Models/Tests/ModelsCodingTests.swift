import Foundation
import Testing
import WedSyncModels
import WedSyncTestSupport

@Suite("Shared models on the wire")
struct ModelsCodingTests {
    @Test("An API call event decodes from the documented JSON and keeps its camelCase names")
    func apiCallEventRoundTrip() throws {
        let json =
            #"{"type":"api_call","timestamp":"2026-06-13T14:00:00Z","route":"/api/clients","method":"GET","status":200,"durationMs":12.5,"cache":"HIT"}"#
        let event = try WedSyncJSON.makeDecoder().decode(MetricEvent.self, from: Data(json.utf8))
        guard case .apiCall(let call) = event else {
            Issue.record("expected an api_call event, got \(event)")
            return
        }
        #expect(call.route == "/api/clients")
        #expect(call.status == 200)
        #expect(call.durationMs == 12.5)
        #expect(call.cache == .hit)
        #expect(call.timestamp == Date(timeIntervalSince1970: 1_781_359_200))

        let encoded = try WedSyncJSON.makeEncoder().encode(event)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["type"] as? String == "api_call")
        #expect(object["durationMs"] as? Double == 12.5)
        #expect(object["timestamp"] as? String == "2026-06-13T14:00:00.000Z")
        #expect(try WedSyncJSON.makeDecoder().decode(MetricEvent.self, from: encoded) == event)
    }

    @Test("Dates keep millisecond precision through JSON")
    func millisecondDates() throws {
        let date = Date(timeIntervalSince1970: 1_781_359_200.123)
        let sample = DatabaseQueryEvent(timestamp: date, fingerprint: "SELECT $1", durationMs: 1, rows: 1)
        let decoded = try WedSyncJSON.makeDecoder().decode(
            DatabaseQueryEvent.self,
            from: WedSyncJSON.makeEncoder().encode(sample)
        )
        #expect(abs(decoded.timestamp.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.001)
    }

    @Test("An unknown event type is refused with a message that lists the known ones")
    func unknownEventType() {
        let json = #"{"type":"mystery","timestamp":"2026-06-13T14:00:00Z"}"#
        #expect {
            try WedSyncJSON.makeDecoder().decode(MetricEvent.self, from: Data(json.utf8))
        } throws: { error in
            "\(error)".contains("api_call") && "\(error)".contains("mystery")
        }
    }

    @Test("A date that is not ISO-8601 is refused")
    func badDate() {
        let json =
            #"{"type":"api_call","timestamp":"13/06/2026","route":"/","method":"GET","status":200,"durationMs":1}"#
        #expect(throws: DecodingError.self) {
            try WedSyncJSON.makeDecoder().decode(MetricEvent.self, from: Data(json.utf8))
        }
    }

    @Test("The error envelope has the documented shape")
    func errorEnvelopeShape() throws {
        let data = try WedSyncJSON.makeEncoder().encode(ErrorEnvelope(code: "not_found", message: "no such client"))
        #expect(String(decoding: data, as: UTF8.self) == #"{"error":{"code":"not_found","message":"no such client"}}"#)
    }

    @Test("An invalidation round-trips; severities order")
    func otherModelsRoundTrip() throws {
        let invalidation = InvalidationRequest(keys: ["k"], tags: ["client:42"], prefixes: ["org:7:"], reason: "update")
        let encoder = WedSyncJSON.makeEncoder()
        let decoder = WedSyncJSON.makeDecoder()
        #expect(try decoder.decode(InvalidationRequest.self, from: encoder.encode(invalidation)) == invalidation)
        #expect(AlertSeverity.warning < .critical)
    }

    @Test("ISO-8601: the hand-written UTC parser agrees with Foundation, and refuses what is not a date")
    func iso8601() throws {
        let formatter = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        var seconds = -2_000_000_000.0
        while seconds < 4_000_000_000 {
            let date = Date(timeIntervalSince1970: (seconds * 1000).rounded() / 1000)
            let text = date.formatted(formatter)
            let parsed = try #require(ISO8601.parse(text), "\(text)")
            let foundation = try formatter.parse(text)
            #expect(abs(parsed.timeIntervalSince1970 - foundation.timeIntervalSince1970) < 0.000001, "\(text)")
            seconds += 7_777_777.123
        }
        #expect(ISO8601.parse("2026-06-13T14:00:00Z")?.timeIntervalSince1970 == 1_781_359_200)
        #expect(ISO8601.parse("2024-02-29T23:59:59.5Z")?.timeIntervalSince1970 == 1_709_251_199.5)
        #expect(ISO8601.parse("2026-06-13T16:00:00+02:00")?.timeIntervalSince1970 == 1_781_359_200)
        for bad in [
            "", "2026-06-13", "2026-13-01T00:00:00Z", "2026-06-13T25:00:00Z", "2026-06-13T14:00:00.Z",
            "2026-06-13T14:00:00Zjunk", "yesterday",
        ] {
            #expect(ISO8601.parse(bad) == nil, "\(bad)")
        }
    }
}
