import Foundation
import Histogram
import NIOCore

/// After a run through the gateway: does the metrics service hold what the tester sent? For each route the tester
/// called, the count the metrics service has for the run's window (`GET /v1/summary?from=&to=`) must equal the
/// answers the tester got, and its p95 (the gateway's own timing, from the request's arrival) must agree with the
/// tester's p95 on the wire (from the request's first byte sent: a wait to connect is the tester's, not the
/// gateway's) within the two histograms' precision plus the network hop between them, measured during the run.
public struct CrossCheck: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var method: String
        public var route: String
        /// Answers the tester received (requests with no answer may not have reached the gateway).
        public var answered: Int
        public var counted: Int
        public var testerP95: Double
        public var metricsP95: Double
        /// How far apart the two p95s may be, in milliseconds.
        public var allowance: Double
        public var countsAgree: Bool { counted == answered }
        public var latenciesAgree: Bool {
            testerP95 - metricsP95 <= allowance && metricsP95 - testerP95 <= allowance
        }
    }

    /// The window read, in Unix seconds.
    public var from: Int64
    public var to: Int64
    /// The network hop, measured on every answer of the run that said the gateway's own time (`x-response-time`):
    /// the longest time on the wire beyond it, in milliseconds. A request's time on the wire is the gateway's plus
    /// at most this, so the two p95s are at most this apart (plus the histograms' precision).
    public var hopMilliseconds: Double
    /// The hop's median, for the report.
    public var hopMedianMilliseconds: Double
    public var rows: [Row]
    /// Set when the metrics service could not be read.
    public var error: String?

    public var passed: Bool { error == nil && rows.allSatisfy { $0.countsAgree && $0.latenciesAgree } }

    /// Both histograms keep three significant digits (0.1%); a tenfold margin covers their bucket edges.
    static let precision = 0.01

    /// What the tester sent, per method and route template: its merged series.
    public static func expected(templates: [RequestTemplate], recorder: LatencyRecorder) -> [String: LatencySeries] {
        var merged: [String: LatencySeries] = [:]
        for (template, (_, series)) in zip(templates, recorder.series) {
            merged["\(template.method) \(template.routeTemplate)", default: LatencySeries()].add(series)
        }
        return merged
    }

    /// Reads the metrics service until it has counted every answer of `expected` in `[from, to)`, or `patience`
    /// passes, and compares.
    public static func check(
        metrics: LoadTarget,
        token: String,
        from: Int64,
        to: Int64,
        expected: [String: LatencySeries],
        hops: Histogram<UInt64>,
        patience: Duration = .seconds(60)
    ) async -> CrossCheck {
        let hopMilliseconds = hops.totalCount == 0 ? 0 : Double(hops.max) / 1000
        var result = CrossCheck(
            from: from,
            to: to,
            hopMilliseconds: hopMilliseconds,
            hopMedianMilliseconds: hops.totalCount == 0 ? 0 : Double(hops.valueAtPercentile(50)) / 1000,
            rows: [],
            error: nil
        )
        let deadline = ContinuousClock.now + patience
        var counted: [String: Series] = [:]
        while true {
            do {
                let (status, body) = try await HTTPConnection.get(
                    "/v1/summary?from=\(from)&to=\(to)",
                    from: metrics,
                    headers: [.init("Authorization", "Bearer \(token)")]
                )
                guard status == 200 else {
                    result.error = "GET /v1/summary answered \(status): \(String(buffer: body).prefix(300))"
                    return result
                }
                let summary = try JSONDecoder().decode(Summary.self, from: Data(body.readableBytesView))
                counted = Dictionary(
                    summary.series.filter { $0.kind == "api" }.map { ("\($0.method) \($0.route)", $0) },
                    uniquingKeysWith: { first, _ in first }
                )
                result.error = nil
            } catch {
                result.error = "the metrics service could not be read: \(error)"
            }
            let complete = expected.allSatisfy { key, series in
                (counted[key]?.count ?? 0) >= answered(series)
            }
            if complete || ContinuousClock.now >= deadline { break }
            // Events travel in batches: wait for the next one.
            try? await Task.sleep(for: .milliseconds(500))
        }
        result.rows = expected.sorted { $0.key < $1.key }.map { key, series in
            let space = key.firstIndex(of: " ") ?? key.startIndex
            let testerP95 = series.wireMilliseconds(at: 95)
            let metricsP95 = counted[key]?.p95Ms ?? 0
            return Row(
                method: String(key[..<space]),
                route: String(key[key.index(after: space)...]),
                answered: answered(series),
                counted: counted[key]?.count ?? 0,
                testerP95: testerP95,
                metricsP95: metricsP95,
                allowance: precision * max(testerP95, metricsP95) + hopMilliseconds
            )
        }
        return result
    }

    private static func answered(_ series: LatencySeries) -> Int {
        series.requests - (series.statuses[0] ?? 0)
    }

    /// The part of `GET /v1/summary` the check reads.
    struct Summary: Decodable {
        var series: [Series]
    }

    struct Series: Decodable {
        var kind: String
        var route: String
        var method: String
        var count: Int
        var p95Ms: Double
    }

    /// The cross-check as a table (Markdown, as the run's own).
    public var table: String {
        var lines = [
            "",
            "Cross-check with the metrics service (window \(from)..\(to); network hop \(Self.format(hopMedianMilliseconds)) ms median, \(Self.format(hopMilliseconds)) ms at most):",
            "",
        ]
        if let error { lines.append("✗ \(error)") }
        lines += [
            "| route | answered | counted | p95 ms on the wire | p95 ms at the gateway | allowed ± ms | |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for row in rows {
            let verdict = row.countsAgree && row.latenciesAgree ? "✓" : "✗"
            lines.append(
                "| \(row.method) \(row.route) | \(row.answered) | \(row.counted) | \(Self.format(row.testerP95)) | "
                    + "\(Self.format(row.metricsP95)) | \(Self.format(row.allowance)) | \(verdict) |"
            )
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
