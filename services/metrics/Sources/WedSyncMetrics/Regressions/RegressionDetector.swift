import Foundation
import WedSyncModels
import WedSyncServiceKit

/// Compares each API route's latencies in the current window with a baseline, by a one-sided Mann-Whitney U
/// test on the stored histograms: the window before the latest release marker (the window after it is the
/// current one), or the same window a week earlier. A route regressed when the test is significant and the shift
/// matters: Cliff's delta at least small, or the p95 up by 15% or more (latencies spread wide, so a 20% slower
/// route can be a "negligible" delta). With thousands of requests a shift nobody feels is significant too, and is
/// not worth a page.
public struct RegressionDetector: Sendable {
    let queries: MetricsQueries
    /// The one-sided significance level.
    public let significance: Double
    /// Requests each side needs before a route is judged.
    public let minimumCount: Int

    public init(queries: MetricsQueries, significance: Double = 0.01, minimumCount: Int = 30) {
        self.queries = queries
        self.significance = significance
        self.minimumCount = minimumCount
    }

    public static let testDescription =
        "Mann-Whitney U, one-sided (current slower), normal approximation with tie and continuity corrections"

    public func report(
        baseline: String,
        window: Int64,
        route: String? = nil,
        service: String? = nil,
        now: Date = Date()
    ) throws -> RegressionReport {
        let end = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        let window = max(Aggregator.bucketSeconds, window / Aggregator.bucketSeconds * Aggregator.bucketSeconds)
        let current: (from: Int64, to: Int64)
        let before: (from: Int64, to: Int64, label: String)
        var release: ReleaseMarker?
        switch baseline {
        case "week":
            current = (end - window, end)
            before = (end - 7 * 86_400 - window, end - 7 * 86_400, "a week earlier")
        case "release":
            guard let marker = try queries.store.releases(service: service, before: now, limit: 1).first else {
                throw ServiceError.notFound("no release marker yet: POST /v1/releases when a release goes out")
            }
            release = marker
            let at = Aggregator.bucketStart(marker.at)
            current = (at, min(end, at + window))
            before = (at - window, at, "before \(marker.version)")
        default:
            throw ServiceError.badRequest("baseline: release or week", code: "invalid_parameter")
        }
        let now = now
        let currentSeries = try queries.merged(from: current.from, to: current.to, now: now)
        let baselineSeries = try queries.merged(from: before.from, to: before.to, now: now)
        var findings: [RegressionFinding] = []
        for (key, now) in currentSeries where key.kind == "api" && (route == nil || key.name == route) {
            guard let then = baselineSeries[key], then.count >= minimumCount, now.count >= minimumCount,
                let test = MannWhitney(baseline: then.durations, current: now.durations)
            else { continue }
            func side(_ bucket: SeriesBucket, _ label: String, _ from: Int64, _ to: Int64) -> LatencyWindow {
                LatencyWindow(
                    label: label,
                    from: Date(timeIntervalSince1970: Double(from)),
                    to: Date(timeIntervalSince1970: Double(to)),
                    count: bucket.count,
                    p50Ms: bucket.percentileMs(50),
                    p95Ms: bucket.percentileMs(95),
                    p99Ms: bucket.percentileMs(99)
                )
            }
            let magnitude = MannWhitney.magnitude(of: test.cliffsDelta)
            let p95Ratio = then.percentileMs(95) > 0 ? now.percentileMs(95) / then.percentileMs(95) : 1
            findings.append(
                RegressionFinding(
                    route: key.name,
                    method: key.method,
                    baseline: side(then, before.label, before.from, before.to),
                    current: side(now, "current", current.from, current.to),
                    test: Self.testDescription,
                    u: test.u,
                    z: test.z,
                    pValue: test.pValue,
                    effectSize: test.cliffsDelta,
                    magnitude: magnitude,
                    p95Ratio: p95Ratio,
                    regressed: test.pValue < significance && (test.cliffsDelta >= 0.147 || p95Ratio >= 1.15)
                )
            )
        }
        findings.sort { ($0.regressed ? 1 : 0, $0.effectSize) > ($1.regressed ? 1 : 0, $1.effectSize) }
        return RegressionReport(baseline: baseline, release: release, significance: significance, findings: findings)
    }
}
