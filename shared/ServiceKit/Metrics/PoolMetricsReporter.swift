import Metrics
import Synchronization
import WedSyncConnectionPool

/// Publishes connection pool statistics as Prometheus metrics when `/metrics` is scraped: gauges for the state now,
/// counters (advanced by the difference since the last scrape) for the totals.
final class PoolMetricsReporter: Sendable {
    /// The highest total reported so far, per pool and counter.
    private let reported = Mutex<[String: Int]>([:])

    func report(_ statistics: ConnectionPoolStatistics) {
        let pool = [("pool", statistics.name)]
        Gauge(label: "connection_pool_connections", dimensions: pool + [("state", "in_use")]).record(statistics.inUse)
        Gauge(label: "connection_pool_connections", dimensions: pool + [("state", "idle")]).record(statistics.idle)
        Gauge(label: "connection_pool_waiting", dimensions: pool).record(statistics.waiting)
        Gauge(label: "connection_pool_max_connections", dimensions: pool).record(statistics.maximumSize)
        Gauge(label: "connection_pool_acquire_p50_seconds", dimensions: pool).record(statistics.acquireLatencyP50Ms / 1000)
        Gauge(label: "connection_pool_acquire_p99_seconds", dimensions: pool).record(statistics.acquireLatencyP99Ms / 1000)
        Gauge(label: "connection_pool_efficiency_ratio", dimensions: pool).record(statistics.efficiency)

        // Two scrapes at once may report their snapshots out of order: a counter only ever advances to the highest
        // total seen, so an older snapshot reported late is not counted twice.
        let counters: [(String, KeyPath<ConnectionPoolStatistics, Int>)] = [
            ("connection_pool_acquires_total", \.acquires),
            ("connection_pool_acquire_timeouts_total", \.acquireTimeouts),
            ("connection_pool_connect_failures_total", \.connectFailures),
        ]
        let advances = reported.withLock { reported in
            counters.map { label, keyPath in
                let key = "\(statistics.name)/\(label)"
                let delta = max(0, statistics[keyPath: keyPath] - (reported[key] ?? 0))
                reported[key, default: 0] += delta
                return (label, delta)
            }
        }
        for (label, delta) in advances {
            Counter(label: label, dimensions: pool).increment(by: delta)
        }
    }
}
