import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The metrics service's ingestion: batches of `--batch` API-call events posted by `--concurrency` callers for
/// `--seconds`; events acknowledged per second, the acknowledgement's latency, and the server's resident memory.
enum MetricsBenchmark {
    static func ingest(_ arguments: BenchArguments) async throws {
        let url = try arguments.string("metrics-url") + "/v1/events"
        let pid = try arguments.string("pid")
        let seconds = arguments.int("seconds", default: 10)
        let concurrency = arguments.int("concurrency", default: 4)
        let size = arguments.int("batch", default: 1000)
        let routes = [
            "/api/clients", "/api/clients/{id}", "/api/guests", "/api/guests/{id}", "/api/dashboard",
            "/api/supplier-schedules",
        ]
        let caches = ["HIT", "HIT", "HIT", "MISS", "STALE", "BYPASS"]
        // A few distinct bodies, each a realistic mix; timestamps are now, so every event lands in recent buckets.
        let stamp = ISO8601DateFormatter().string(from: Date())
        let bodies: [ByteBuffer] = (0..<8).map { variant in
            let events = (0..<size).map { index in
                let n = index &* 2_654_435_761 &+ variant
                return
                    #"{"type":"api_call","timestamp":"\#(stamp)","route":"\#(routes[n % routes.count])","method":"GET","status":\#(n % 97 == 0 ? 503 : 200),"durationMs":\#(Double(n % 40_000) / 1000 + 0.2),"cache":"\#(caches[n % caches.count])","tenant":"\#(n % 200)"}"#
            }
            return ByteBuffer(string: #"{"events":[\#(events.joined(separator: ","))]}"#)
        }
        let tally = IngestTally()
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var round = worker
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(bodies[round % bodies.count])
                        round += concurrency
                        let sent = ContinuousClock.now
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        if response.status == .ok {
                            tally.accepted.wrappingAdd(size, ordering: .relaxed)
                            tally.latencies.withLock { $0.append((ContinuousClock.now - sent).milliseconds) }
                        } else {
                            tally.failures.wrappingAdd(1, ordering: .relaxed)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - started).milliseconds / 1000
        let events = tally.accepted.load(ordering: .relaxed)
        report([
            "benchmark": "metrics-ingest",
            "batch": size,
            "concurrency": concurrency,
            "seconds": elapsed,
            "events": events,
            "eventsPerSecond": Int(Double(events) / elapsed),
            "failedBatches": tally.failures.load(ordering: .relaxed),
            "ackMs": percentiles(tally.latencies.withLock { $0 }),
            "serverResidentMB": Double(status(pid: pid, "VmRSS:")) / 1024,
            "serverPeakResidentMB": Double(status(pid: pid, "VmHWM:")) / 1024,
        ])
    }

    static func status(pid: String, _ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            return line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        }
        return 0
    }
}

/// What the ingestion callers saw.
final class IngestTally: Sendable {
    let accepted = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let latencies = Mutex<[Double]>([])
}
