import Metrics
import Synchronization

/// Publishes running totals kept elsewhere (pool statistics, cache counters) as Prometheus counters when
/// `/metrics` is scraped: each counter is advanced by the difference since the last report.
///
/// Two scrapes at once may report their snapshots out of order: a counter only ever advances to the highest total
/// seen, so an older snapshot reported late is not counted twice.
public final class TotalsReporter: Sendable {
    private let reported = Mutex<[String: Int]>([:])

    public init() {}

    /// Advances counter `label` with `dimensions` to `total`.
    public func report(_ label: String, dimensions: [(String, String)] = [], total: Int) {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "|")
        let delta = reported.withLock { reported -> Int in
            let delta = max(0, total - (reported[key] ?? 0))
            reported[key, default: 0] += delta
            return delta
        }
        if delta > 0 { Counter(label: label, dimensions: dimensions).increment(by: delta) }
    }
}
