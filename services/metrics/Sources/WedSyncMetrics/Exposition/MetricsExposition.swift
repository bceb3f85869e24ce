import Foundation
import Prometheus
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// The aggregated series on `/metrics`, for a Prometheus that scrapes this service:
///
/// - counters of what was stored, per API route and method (`wedsync_route_requests_total`,
///   `wedsync_route_errors_total`, `wedsync_route_cache_lookups_total`, `wedsync_route_cache_hits_total`), per cache
///   namespace and tier (`wedsync_cache_lookups_total`, `wedsync_cache_hits_total`), and statements
///   (`wedsync_db_queries_total`), counted at each commit;
/// - gauges of each route's latency percentiles over the last five minutes (`wedsync_route_latency_p50_seconds`,
///   `_p95_`, `_p99_`), of the latest stored gauges (`wedsync_pool_utilisation_ratio`, `wedsync_pool_waiting`,
///   `wedsync_host_cpu_utilisation_ratio`, `_memory_`, `_disk_`, `wedsync_scrape_up`), and of the alerts firing
///   (`wedsync_alerts_firing`), set at each scrape. Series gone from the window are removed.
public final class MetricsExposition: Sendable {
    let registry: PrometheusCollectorRegistry
    private let gauges = Mutex<[String: Gauge]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusMetrics.registry) {
        self.registry = registry
        for (name, help) in Self.help { PrometheusMetrics.describe(name, help: help) }
    }

    static let help: [String: String] = [
        "wedsync_route_requests_total": "API requests stored by the metrics service, by route template and method.",
        "wedsync_route_errors_total": "API requests answered 5xx, by route template and method.",
        "wedsync_route_cache_lookups_total":
            "API requests that looked up a response cache, by route template and method.",
        "wedsync_route_cache_hits_total": "API requests answered from a response cache, by route template and method.",
        "wedsync_cache_lookups_total": "Cache lookups, by namespace and tier.",
        "wedsync_cache_hits_total": "Cache hits, by namespace and tier.",
        "wedsync_db_queries_total": "Database statements reported.",
        "wedsync_route_latency_p50_seconds":
            "API latency, median over the last five minutes, by route template and method.",
        "wedsync_route_latency_p95_seconds":
            "API latency, 95th percentile over the last five minutes, by route template and method.",
        "wedsync_route_latency_p99_seconds":
            "API latency, 99th percentile over the last five minutes, by route template and method.",
        "wedsync_pool_utilisation_ratio": "Connections in use over the most allowed, of each scraped service's pools.",
        "wedsync_pool_waiting": "Borrowers waiting for a connection, of each scraped service's pools.",
        "wedsync_host_cpu_utilisation_ratio": "CPU use of a host, from its system samples.",
        "wedsync_host_memory_utilisation_ratio": "Memory in use of a host, from its system samples.",
        "wedsync_host_disk_utilisation_ratio": "Disk in use of a host, from its system samples.",
        "wedsync_scrape_up": "Whether a scrape target answered its last /metrics scrape (1) or not (0).",
        "wedsync_alerts_firing": "Alerts firing now, by rule and severity.",
        "wedsync_findings": "Findings open now, as their source last reported them, by source, kind and severity.",
    ]

    /// The name each stored gauge has on `/metrics`.
    static let exposedName = [
        "pool_utilisation": "wedsync_pool_utilisation_ratio", "pool_waiting": "wedsync_pool_waiting",
        "cpu_utilisation": "wedsync_host_cpu_utilisation_ratio",
        "memory_utilisation": "wedsync_host_memory_utilisation_ratio",
        "disk_utilisation": "wedsync_host_disk_utilisation_ratio", "up": "wedsync_scrape_up",
        "findings": "wedsync_findings",
    ]

    /// Counts the 10-second deltas of one commit.
    func count(_ deltas: [Aggregator.BucketKey: SeriesBucket]) {
        for (key, delta) in deltas where key.resolution == Aggregator.bucketSeconds {
            switch key.series.kind {
            case "api":
                let labels = [("route", key.series.name), ("method", key.series.method)]
                increment("wedsync_route_requests_total", labels, delta.count)
                increment("wedsync_route_errors_total", labels, delta.errors)
                increment("wedsync_route_cache_lookups_total", labels, delta.cacheLookups)
                increment("wedsync_route_cache_hits_total", labels, delta.cacheHits)
            case "cache":
                let parts = key.series.name.split(separator: "/", maxSplits: 1).map(String.init)
                let labels = [("namespace", parts.first ?? ""), ("tier", parts.count > 1 ? parts[1] : "")]
                increment("wedsync_cache_lookups_total", labels, delta.cacheLookups)
                increment("wedsync_cache_hits_total", labels, delta.cacheHits)
            case "db":
                increment("wedsync_db_queries_total", [], delta.count)
            default:
                break
            }
        }
    }

    private func increment(_ name: String, _ labels: [(String, String)], _ amount: Int) {
        let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: Self.help[name] ?? name)
        let counter =
            labels.isEmpty
            ? registry.makeCounter(descriptor: descriptor)
            : registry.makeCounter(descriptor: descriptor, labels: labels)
        // Touched even at zero, so every series a route has shows from its first request.
        counter.increment(by: Int64(amount))
    }

    /// Sets the gauges from the last five minutes; called at each scrape.
    func collect(queries: MetricsQueries, alerts: [Alert], now: Date = Date()) {
        var values: [String: (name: String, labels: [(String, String)], value: Double)] = [:]
        func set(_ name: String, _ labels: [(String, String)], _ value: Double) {
            values[name + labels.map { "|\($0.0)=\($0.1)" }.joined()] = (name, labels, value)
        }
        if let (series, _, _) = try? queries.merged(seconds: 300, now: now) {
            for (key, bucket) in series where key.kind == "api" && bucket.count > 0 {
                for percentile in [50, 95, 99] {
                    set(
                        "wedsync_route_latency_p\(percentile)_seconds",
                        [("route", key.name), ("method", key.method)],
                        bucket.percentileMs(Double(percentile)) / 1000
                    )
                }
            }
        }
        let end = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        if let latest = try? queries.store.gauges(from: end - 300, to: end) {
            for (series, summary) in latest {
                let (name, labels) = GaugeSample.parse(series)
                guard let exposed = Self.exposedName[name] else { continue }
                set(exposed, labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, summary.last)
            }
        }
        var firing: [String: Int] = [:]
        for alert in alerts where alert.state == .firing {
            firing["\(alert.name)|\(alert.severity.rawValue)", default: 0] += 1
        }
        for (key, count) in firing {
            let parts = key.split(separator: "|").map(String.init)
            set("wedsync_alerts_firing", [("alertname", parts[0]), ("severity", parts[1])], Double(count))
        }
        gauges.withLock { gauges in
            for (key, gauge) in gauges where values[key] == nil {
                registry.unregisterGauge(gauge)
                gauges[key] = nil
            }
            for (key, item) in values {
                let gauge =
                    gauges[key]
                    ?? registry.makeGauge(
                        descriptor: MetricNameDescriptor(
                            metricName: item.name,
                            unitName: "",
                            helpText: Self.help[item.name] ?? item.name
                        ),
                        labels: item.labels
                    )
                gauge.set(to: item.value)
                gauges[key] = gauge
            }
        }
    }
}
