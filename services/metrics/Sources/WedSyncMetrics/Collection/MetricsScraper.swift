import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import WedSyncServiceKit

/// Scrapes the other services' `/metrics` (Prometheus text) on an interval and keeps, as gauges: whether each
/// answered (`up{service}`), and each connection pool's use (`pool_utilisation{service,pool}`, in use over the
/// most allowed) and waiting borrowers (`pool_waiting{service,pool}`).
public final class MetricsScraper: Service, Sendable {
    public typealias Target = ScrapeTarget

    public let targets: [Target]
    let store: MetricsStore
    let interval: Duration
    let logger: Logger

    public init(targets: [Target], store: MetricsStore, interval: Duration = .seconds(15), logger: Logger) {
        self.targets = targets
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// `api=http://127.0.0.1:8090,cache=http://127.0.0.1:8081`.
    public static func targets(_ text: String) throws(ConfigurationError) -> [Target] {
        try ScrapeTarget.list(text, key: "metrics.scrape-targets")
    }

    /// The gauges worth keeping from one scrape of `service`.
    static func gauges(service: String, exposition text: String, at date: Date) -> [GaugeSample] {
        var samples: [GaugeSample] = [GaugeSample(name: "up", labels: ["service": service], at: date, value: 1)]
        for pool in PrometheusText.pools(in: text) {
            let labels = ["service": service, "pool": pool.pool]
            if let utilisation = pool.utilisation {
                samples.append(GaugeSample(name: "pool_utilisation", labels: labels, at: date, value: utilisation))
            }
            samples.append(GaugeSample(name: "pool_waiting", labels: labels, at: date, value: pool.waiting))
        }
        return samples
    }

    /// One scrape of every target, at once; a target that does not answer is `up 0`.
    public func scrape(at date: Date = Date()) async {
        let samples = await withTaskGroup(of: [GaugeSample].self) { group in
            for target in targets {
                group.addTask {
                    guard let text = await target.exposition(timeout: .seconds(5)) else {
                        return [GaugeSample(name: "up", labels: ["service": target.name], at: date, value: 0)]
                    }
                    return Self.gauges(service: target.name, exposition: text, at: date)
                }
            }
            var all: [GaugeSample] = []
            for await samples in group { all += samples }
            return all
        }
        do {
            let store = self.store
            try await Blocking.run { try store.addGauges(samples) }
        } catch {
            logger.warning("scraped gauges not stored", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        guard !targets.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await scrape()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
