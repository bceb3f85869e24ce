import Metrics
import WedSyncConnectionPool

/// Publishes connection pool statistics as Prometheus metrics when `/metrics` is scraped: gauges for the state now,
/// counters (advanced by the difference since the last scrape) for the totals.
package final class PoolMetricsReporter: Sendable {
    private let totals = TotalsReporter()

    package func report(_ statistics: ConnectionPoolStatistics) {
        let pool = [("pool", statistics.name)]
        Gauge(label: "connection_pool_connections", dimensions: pool + [("state", "in_use")]).record(statistics.inUse)
        Gauge(label: "connection_pool_connections", dimensions: pool + [("state", "idle")]).record(statistics.idle)
        Gauge(label: "connection_pool_waiting", dimensions: pool).record(statistics.waiting)
        Gauge(label: "connection_pool_max_connections", dimensions: pool).record(statistics.maximumSize)
        Gauge(label: "connection_pool_acquire_p50_seconds", dimensions: pool).record(
            statistics.acquireLatencyP50Ms / 1000
        )
        Gauge(label: "connection_pool_acquire_p99_seconds", dimensions: pool).record(
            statistics.acquireLatencyP99Ms / 1000
        )
        Gauge(label: "connection_pool_efficiency_ratio", dimensions: pool).record(statistics.efficiency)

        totals.report("connection_pool_acquires_total", dimensions: pool, total: statistics.acquires)
        totals.report("connection_pool_acquire_timeouts_total", dimensions: pool, total: statistics.acquireTimeouts)
        totals.report("connection_pool_connect_failures_total", dimensions: pool, total: statistics.connectFailures)
    }
}
