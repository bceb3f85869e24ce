import Foundation
import Logging
import Synchronization
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncMetrics

/// The event contract, one in the shared models: what a sender's queue checks before it sends
/// (``MetricEvent/problem``) is exactly what the metrics service takes on arrival (``EventValidation``,
/// through its fast parser and its Foundation fallback), on thousands of generated events, good and bad.
@Suite("Event contract: sender and receiver agree")
struct EventContractTests {
    /// Names as senders produce them, and the ways they go wrong: empty, too long, `|`, control characters.
    static func name(_ generator: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<10, using: &generator) {
        case 0: return ""
        case 1: return String(repeating: "a", count: 250 + Int.random(in: 0..<12, using: &generator))
        case 2: return "/api/a|b"
        case 3: return "/api/\u{7}bell"
        case 4: return "/api/é-\(Int.random(in: 0..<9, using: &generator))"
        case 6: return Bool.random(using: &generator) ? "gw/L1" : "schedules"
        case 5:
            return "SELECT " + String(repeating: "x, ", count: Int.random(in: 60..<100, using: &generator)) + "1 FROM t"
        default: return "/api/clients/{id}-\(Int.random(in: 0..<100, using: &generator))"
        }
    }

    static func event(_ generator: inout SeededGenerator, now: Date) -> MetricEvent {
        let offsets: [TimeInterval] = [0, -60, -8 * 86_400, 600, -6 * 86_400]
        let at = now.addingTimeInterval(offsets[Int.random(in: 0..<offsets.count, using: &generator)])
        let durations: [Double] = [0, 12.5, -1, 3_600_001, 3_600_000, 0.001]
        let duration = durations[Int.random(in: 0..<durations.count, using: &generator)]
        switch Int.random(in: 0..<5, using: &generator) {
        case 0:
            let methods = ["GET", "PATCH", "get", "BREW"]
            return .apiCall(
                APICallEvent(
                    timestamp: at,
                    route: name(&generator),
                    method: methods[Int.random(in: 0..<methods.count, using: &generator)],
                    status: [200, 99, 600, 503][Int.random(in: 0..<4, using: &generator)],
                    durationMs: duration,
                    cache: [nil, .hit, .miss][Int.random(in: 0..<3, using: &generator)],
                    tenant: Bool.random(using: &generator) ? "1" : nil,
                    requestId: Bool.random(using: &generator) ? name(&generator) : nil
                )
            )
        case 1:
            return .databaseQuery(
                DatabaseQueryEvent(
                    timestamp: at,
                    fingerprint: name(&generator),
                    durationMs: duration,
                    rows: [3, -1][Int.random(in: 0..<2, using: &generator)],
                    requestId: nil,
                    route: Bool.random(using: &generator) ? name(&generator) : nil
                )
            )
        case 2:
            return .cacheOperation(
                CacheOperationEvent(
                    timestamp: at,
                    operation: .get,
                    namespace: name(&generator),
                    tier: "L1",
                    hit: true,
                    durationMs: duration
                )
            )
        case 3:
            return .systemSample(
                SystemSampleEvent(
                    timestamp: at,
                    host: name(&generator),
                    cpuUtilisation: [0.5, 1.5, -0.1][Int.random(in: 0..<3, using: &generator)],
                    memoryUsedBytes: 10,
                    memoryTotalBytes: [20, 5][Int.random(in: 0..<2, using: &generator)],
                    diskUsedBytes: 1,
                    diskTotalBytes: 2
                )
            )
        default:
            return .finding(
                FindingEvent(
                    timestamp: at,
                    source: "query-optimizer",
                    kind: name(&generator),
                    severity: ["warning", "loud"][Int.random(in: 0..<2, using: &generator)],
                    count: [1, -2][Int.random(in: 0..<2, using: &generator)]
                )
            )
        }
    }

    @Test("5,000 generated events: the sender's check and the receiver's agree on every one")
    func differential() throws {
        var generator = SeededGenerator(seed: 15)
        let now = Date()
        var accepted = 0
        for _ in 0..<5_000 {
            let event = Self.event(&generator, now: now)
            let body = try WedSyncJSON.makeEncoder().encode(MetricEventBatch(events: [event]))
            let sender = event.problem
            let receiver: String?
            do {
                _ = try EventValidation.decode(body)
                receiver = nil
            } catch {
                receiver = error.message
            }
            #expect(
                (sender == nil) == (receiver == nil),
                "sender: \(sender ?? "ok"), receiver: \(receiver ?? "ok") for \(String(decoding: body, as: UTF8.self).prefix(300))"
            )
            if sender == nil { accepted += 1 }
        }
        #expect(accepted > 300 && accepted < 4_700, "both kinds were generated: \(accepted) accepted")
    }

    @Test("The published schema allows exactly the names the check takes, in every field with a pattern of its own")
    func schemaAgrees() throws {
        // The fields of each kind as `MetricEventBatch.openAPISchema` documents them (what a fuzzer generates from).
        let document = try JSONSerialization.jsonObject(
            with: try JSONEncoder().encode(MetricEventBatch.openAPISchema.json)
        )
        let events = (document as? [String: Any])?["properties"] as? [String: Any]
        let kinds = ((events?["events"] as? [String: Any])?["items"] as? [String: Any])?["oneOf"] as? [[String: Any]]
        func field(_ kind: MetricEvent.Kind, _ name: String) throws -> (NSRegularExpression, ClosedRange<Int>) {
            let properties =
                kinds?.first {
                    (($0["properties"] as? [String: Any])?["type"] as? [String: Any])?["enum"] as? [String] == [
                        kind.rawValue
                    ]
                }?["properties"] as? [String: Any]
            let schema = try #require(properties?[name] as? [String: Any], "\(kind.rawValue).\(name) is documented")
            let pattern = try #require(schema["pattern"] as? String)
            let length = try #require(schema["minLength"] as? Int)...(try #require(schema["maxLength"] as? Int))
            return (try NSRegularExpression(pattern: pattern), length)
        }
        func allows(_ field: (NSRegularExpression, ClosedRange<Int>), _ value: String) -> Bool {
            let range = NSRange(value.startIndex..., in: value)
            return field.1.contains(value.unicodeScalars.count)
                && field.0.firstMatch(in: value, options: [], range: range) != nil
        }
        let (namespace, tier, route) = (
            try field(.cacheOperation, "namespace"), try field(.cacheOperation, "tier"), try field(.apiCall, "route")
        )
        var generator = SeededGenerator(seed: 21)
        var refused = 0
        for _ in 0..<2_000 {
            let value = Self.name(&generator)
            func cache(namespace: String = "gw", tier: String = "L1") -> MetricEvent {
                .cacheOperation(
                    CacheOperationEvent(
                        timestamp: Date(),
                        operation: .get,
                        namespace: namespace,
                        tier: tier,
                        hit: true,
                        durationMs: 1
                    )
                )
            }
            let call = MetricEvent.apiCall(
                APICallEvent(timestamp: Date(), route: value, method: "GET", status: 200, durationMs: 1)
            )
            for (schema, event) in [(namespace, cache(namespace: value)), (tier, cache(tier: value)), (route, call)] {
                #expect(
                    allows(schema, value) == (event.problem == nil),
                    "\(value.prefix(80)): \(event.problem ?? "ok")"
                )
                if event.problem != nil { refused += 1 }
            }
        }
        #expect(refused > 1_000, "refusals of every kind were generated: \(refused)")
    }

    @Test("A sender's queue never sends what the receiver would refuse: bad events are counted apart, good ones go")
    func senderChecks() async throws {
        let sent = SentBatches()
        let delivery = BackgroundDelivery<MetricEvent>(
            name: "contract",
            logger: .init(label: "test"),
            check: { $0.problem }
        ) { batch in
            sent.append(batch)
        }
        let good = MetricEvent.apiCall(
            APICallEvent(timestamp: Date(), route: "/api/clients", method: "GET", status: 200, durationMs: 3)
        )
        let bad = MetricEvent.apiCall(
            APICallEvent(timestamp: Date(), route: "unmatched", method: "GET", status: 200, durationMs: 3)
        )
        #expect(delivery.submit(contentsOf: [good, bad, good]) == 2)
        #expect(delivery.statistics.invalid == 1)
        #expect(delivery.statistics.queued == 2)
        let running = Task { try await delivery.run() }
        for _ in 0..<1_000 where delivery.statistics.delivered < 2 { try await Task.sleep(for: .milliseconds(10)) }
        running.cancel()
        _ = try? await running.value
        let events = sent.all.flatMap { $0 }
        #expect(events.count == 2, "the two good events went")
        #expect(events.allSatisfy { $0.problem == nil })
    }

    @Test(
        "Fingerprints: whitespace folded, | and control characters gone, at most 256 characters, the select list elided first, long statements kept apart"
    )
    func fingerprints() {
        #expect(DatabaseQueryEvent.fingerprint(of: "SELECT  a ||\n b FROM t") == "SELECT a ¦¦ b FROM t")
        let columns = (1...80).map { "c.column_\($0)" }.joined(separator: ", ")
        let long = "SELECT \(columns) FROM clients c WHERE c.organization_id = $1 ORDER BY c.wedding_date LIMIT $2"
        let folded = DatabaseQueryEvent.fingerprint(of: long)
        #expect(folded == "SELECT … FROM clients c WHERE c.organization_id = $1 ORDER BY c.wedding_date LIMIT $2")
        let where1 = "SELECT * FROM t WHERE " + (1...100).map { "a\($0) = $\($0)" }.joined(separator: " AND ")
        let where2 = where1 + " AND z = 1"
        let (first, second) = (DatabaseQueryEvent.fingerprint(of: where1), DatabaseQueryEvent.fingerprint(of: where2))
        #expect(first.unicodeScalars.count <= 256 && second.unicodeScalars.count <= 256 && first.utf8.count <= 1_024)
        #expect(first != second, "two long statements sharing a beginning stay two fingerprints")
        #expect(DatabaseQueryEvent.fingerprint(of: where1) == first, "the same text always gives the same fingerprint")
        for text in [long, where1, String(repeating: "é", count: 400)] {
            #expect(MetricEventBounds.isValidName(DatabaseQueryEvent.fingerprint(of: text)))
        }
        #expect(MetricEventBounds.isValidRoute(MetricEventBounds.unmatchedRoute))
    }
}

/// What a test delivery sent.
final class SentBatches: Sendable {
    private let batches = Mutex<[[MetricEvent]]>([])
    func append(_ batch: [MetricEvent]) { batches.withLock { $0.append(batch) } }
    var all: [[MetricEvent]] { batches.withLock { $0 } }
}
