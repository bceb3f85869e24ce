import Foundation

/// A run's results, as `--json` prints them (after k6's end-of-test summary): per endpoint and overall, the
/// latency percentiles in milliseconds from each request's intended start, counts, and each threshold's verdict.
public struct LoadSummary: Codable, Sendable {
    public struct Figures: Codable, Sendable {
        public var name: String
        public var requests: Int
        public var failures: Int
        public var failureRate: Double
        public var bytes: Int
        public var p50: Double
        public var p90: Double
        public var p95: Double
        public var p99: Double
        public var max: Double
        public var avg: Double
        public var statuses: [String: Int]

        public init(name: String, series: LatencySeries) {
            self.name = name
            requests = series.requests
            failures = series.failures
            failureRate = series.failureRate
            bytes = series.bytes
            p50 = series.milliseconds(at: 50)
            p90 = series.milliseconds(at: 90)
            p95 = series.milliseconds(at: 95)
            p99 = series.milliseconds(at: 99)
            max = series.maxMilliseconds
            avg = series.meanMilliseconds
            statuses = Dictionary(uniqueKeysWithValues: series.statuses.map { (String($0.key), $0.value) })
        }
    }

    public struct Verdict: Codable, Sendable {
        /// `overall` or an endpoint's name.
        public var scope: String
        public var threshold: String
        public var value: Double
        public var passed: Bool
    }

    public var scenario: String
    /// `open` or `closed`.
    public var model: String
    public var seconds: Double
    public var scheduled: Int
    public var dropped: Int
    public var queuedAtMost: Int
    public var requestsPerSecond: Double
    /// The tester's own CPU time over the run (user and system), and per 10,000 requests: what it costs to measure.
    public var cpuSeconds: Double
    public var cpuSecondsPer10kRequests: Double
    public var overall: Figures
    public var endpoints: [Figures]
    public var thresholds: [Verdict]
    /// The comparison with the metrics service (`--cross-check`).
    public var crossCheck: CrossCheck?

    public var passed: Bool { thresholds.allSatisfy(\.passed) && crossCheck?.passed != false }

    /// Builds the summary, judging `thresholds` (scope `nil`: overall) against the recorded series.
    public init(
        scenario: String,
        model: LoadModel,
        facts: LoadRunner.Facts,
        recorder: LatencyRecorder,
        thresholds: [(scope: String?, threshold: Threshold)],
        crossCheck: CrossCheck? = nil
    ) {
        self.scenario = scenario
        self.crossCheck = crossCheck
        if case .open = model { self.model = "open" } else { self.model = "closed" }
        seconds = Double(facts.elapsed.components.seconds) + Double(facts.elapsed.components.attoseconds) / 1e18
        scheduled = facts.scheduled
        dropped = facts.dropped
        queuedAtMost = facts.queuedAtMost
        let total = recorder.overall
        let series = recorder.series
        requestsPerSecond = seconds > 0 ? Double(total.requests) / seconds : 0
        cpuSeconds = facts.cpuSeconds
        cpuSecondsPer10kRequests = total.requests > 0 ? facts.cpuSeconds * 10_000 / Double(total.requests) : 0
        overall = Figures(name: "overall", series: total)
        endpoints = series.map { Figures(name: $0.name, series: $0.series) }
        self.thresholds = thresholds.map { scope, threshold in
            let measured = scope.flatMap { name in series.first { $0.name == name }?.series } ?? total
            var verdict = Verdict(
                scope: scope ?? "overall",
                threshold: threshold.description,
                value: threshold.value(of: measured),
                passed: threshold.holds(for: measured)
            )
            // Requests that never went out count against a failure-rate rule.
            if case .failureRate = threshold.statistic, scope == nil, facts.dropped > 0 {
                let rate = Double(total.failures + facts.dropped) / Double(max(1, total.requests + facts.dropped))
                verdict.value = rate
                var adjusted = total
                adjusted.failures += facts.dropped
                adjusted.requests += facts.dropped
                verdict.passed = threshold.holds(for: adjusted)
            }
            return verdict
        }
    }

    /// The end-of-run table.
    public var table: String {
        func format(_ value: Double) -> String { String(format: "%.2f", value) }
        var lines = [
            "\(scenario): \(model) model, \(String(format: "%.1f", seconds)) s, \(overall.requests) requests "
                + "(\(String(format: "%.0f", requestsPerSecond))/s), \(overall.failures) failed, \(dropped) never sent; "
                + "tester CPU \(String(format: "%.2f", cpuSecondsPer10kRequests)) s per 10k requests",
            "",
            "| endpoint | requests | failed | p50 ms | p90 ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for figures in endpoints + [overall] {
            lines.append(
                "| \(figures.name) | \(figures.requests) | \(figures.failures) | \(format(figures.p50)) | "
                    + "\(format(figures.p90)) | \(format(figures.p95)) | \(format(figures.p99)) | \(format(figures.max)) |"
            )
        }
        if !thresholds.isEmpty {
            lines.append("")
            for verdict in thresholds {
                lines.append(
                    "\(verdict.passed ? "✓" : "✗") \(verdict.scope): \(verdict.threshold) (\(format(verdict.value)))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}
