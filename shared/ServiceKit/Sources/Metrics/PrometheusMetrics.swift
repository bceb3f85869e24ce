import CoreMetrics
import Prometheus
import Synchronization

/// The process's Prometheus registry, and the swift-metrics backend that writes to it.
///
/// swift-prometheus' own factory registers every metric with an empty help text, which `promtool check metrics`
/// rejects; this factory takes the help text from a catalogue (``describe(_:help:)``) so that every metric family
/// on `/metrics` has a `# HELP` line. Code records metrics through the swift-metrics API (`Counter`, `Timer`,
/// `Gauge`) as usual.
public enum PrometheusMetrics {
    /// The registry `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()

    private static let helpTexts = Mutex<(texts: [String: String], used: Set<String>)>((Self.builtInHelp, []))
    private static let bootstrapped = Mutex(false)

    /// Installs the Prometheus backend for swift-metrics; safe to call more than once (only the first call acts).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            MetricsSystem.bootstrap(HelpfulPrometheusFactory(registry: registry))
        }
    }

    /// Gives a metric family its help text. Only effective before the metric is first recorded: the registry
    /// refuses two help texts for one family, so a late description is ignored rather than fatal.
    public static func describe(_ name: String, help: String) {
        helpTexts.withLock { state in
            guard !state.used.contains(name) else { return }
            state.texts[name] = help
        }
    }

    static func help(for name: String) -> String {
        helpTexts.withLock { state in
            state.used.insert(name)
            return state.texts[name] ?? "WedSync metric \(name)."
        }
    }

    /// The text exposition of every registered metric, then of every live collector.
    public static func render() -> [UInt8] {
        var bytes = registry.emitToBuffer()
        let live = collectors.withLock { collectors in
            collectors.removeAll { $0.collector == nil }
            return collectors.compactMap(\.collector)
        }
        var exposition = PrometheusExposition()
        for collector in live { collector.collect(into: &exposition) }
        bytes += exposition.bytes
        return bytes
    }

    private struct WeakCollector: Sendable {
        weak var collector: (any PrometheusCollector)?
    }

    private static let collectors = Mutex<[WeakCollector]>([])

    /// Adds `collector`'s families to ``render()`` for as long as it lives (it is not kept alive here).
    public static func register(_ collector: any PrometheusCollector) {
        collectors.withLock { $0.append(WeakCollector(collector: collector)) }
    }

    private static let builtInHelp: [String: String] = [
        "http_requests_total": "HTTP requests handled, by route template, method and status.",
        "wedsync_delivery_delivered_total": "Items a background delivery queue handed to their receiver, by queue.",
        "wedsync_delivery_dropped_total":
            "Items a background delivery queue dropped, by queue and reason (overflow, undeliverable).",
        "wedsync_delivery_failed_attempts_total":
            "Failed delivery attempts of a background delivery queue (retried), by queue.",
        "wedsync_delivery_queued": "Items waiting in a background delivery queue, by queue.",
        "http_request_duration_seconds": "Time to handle an HTTP request, by route template and method.",
        "http_requests_in_flight": "HTTP requests being handled now.",
        "connection_pool_connections": "Connections of a pool, by state (in_use, idle).",
        "connection_pool_waiting": "Borrowers waiting for a connection of a pool.",
        "connection_pool_max_connections": "The most connections a pool may open.",
        "connection_pool_acquires_total": "Connections borrowed from a pool.",
        "connection_pool_acquire_timeouts_total": "Borrowers that gave up waiting for a connection.",
        "connection_pool_connect_failures_total": "Failed attempts to open a pool connection.",
        "connection_pool_acquire_p50_seconds": "Median time to borrow a connection over the last 1024 borrows.",
        "connection_pool_acquire_p99_seconds":
            "99th percentile time to borrow a connection over the last 1024 borrows.",
        "connection_pool_efficiency_ratio": "Share of borrows served at once from an idle connection.",
        "dependency_up": "Whether a dependency answered the last readiness check (1) or not (0).",
        "process_start_time_seconds": "Start time of the process since the Unix epoch.",
    ]
}

/// swift-metrics → Prometheus, with help texts from ``PrometheusMetrics``.
struct HelpfulPrometheusFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    /// Latency buckets from 0.5 ms to 10 s: the interesting range for an API answering phones.
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The metric's full name (units included, as WedSync names them: `..._seconds`, `..._total`) with its help.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: PrometheusMetrics.help(for: label))
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else {
            return registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
        }
        return registry.makeValueHistogram(
            descriptor: descriptor(label),
            labels: dimensions,
            buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000]
        )
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.durationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Prometheus.ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Prometheus.DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
