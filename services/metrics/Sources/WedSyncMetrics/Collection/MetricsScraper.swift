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
    public struct Target: Sendable, Equatable {
        public var name: String
        /// The service's base URL; `/metrics` is appended.
        public var url: String

        public init(name: String, url: String) {
            self.name = name
            self.url = url
        }
    }

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
        try text.split(separator: ",").map { item throws(ConfigurationError) -> Target in
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") else {
                throw ConfigurationError(key: "metrics.scrape-targets", message: "expected name=http://host:port, comma-separated")
            }
            return Target(name: parts[0], url: parts[1].hasSuffix("/") ? String(parts[1].dropLast()) : parts[1])
        }
    }

    /// The gauges worth keeping from one scrape of `service`.
    static func gauges(service: String, exposition text: String, at date: Date) -> [GaugeSample] {
        var inUse: [String: Double] = [:]
        var maximum: [String: Double] = [:]
        var waiting: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard line.hasPrefix("connection_pool_"), let space = line.lastIndex(of: " ") ?? nil else { continue }
            var head = String(line[..<space])
            var valueText = String(line[line.index(after: space)...])
            // A sample may carry a timestamp after its value.
            if !head.hasSuffix("}"), let inner = head.lastIndex(of: " ") {
                valueText = String(head[head.index(after: inner)...])
                head = String(head[..<inner])
            }
            guard let value = Double(valueText), value.isFinite else { continue }
            let (name, labels) = GaugeSample.parse(head)
            let pool = labels["pool"] ?? "default"
            switch name {
            case "connection_pool_connections" where labels["state"] == "in_use": inUse[pool] = value
            case "connection_pool_max_connections": maximum[pool] = value
            case "connection_pool_waiting": waiting[pool] = value
            default: break
            }
        }
        var samples: [GaugeSample] = [GaugeSample(name: "up", labels: ["service": service], at: date, value: 1)]
        for (pool, maximum) in maximum where maximum > 0 {
            samples.append(GaugeSample(name: "pool_utilisation", labels: ["service": service, "pool": pool], at: date, value: (inUse[pool] ?? 0) / maximum))
        }
        for (pool, count) in waiting {
            samples.append(GaugeSample(name: "pool_waiting", labels: ["service": service, "pool": pool], at: date, value: count))
        }
        return samples
    }

    /// One scrape of every target, at once; a target that does not answer is `up 0`.
    public func scrape(at date: Date = Date()) async {
        let samples = await withTaskGroup(of: [GaugeSample].self) { group in
            for target in targets {
                group.addTask {
                    do {
                        let response = try await ServiceClient.sharedHTTPClient.execute(HTTPClientRequest(url: target.url + "/metrics"), timeout: .seconds(5))
                        let body = try await response.body.collect(upTo: 16 << 20)
                        guard response.status == .ok else { return [GaugeSample(name: "up", labels: ["service": target.name], at: date, value: 0)] }
                        return Self.gauges(service: target.name, exposition: String(buffer: body), at: date)
                    } catch {
                        return [GaugeSample(name: "up", labels: ["service": target.name], at: date, value: 0)]
                    }
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
