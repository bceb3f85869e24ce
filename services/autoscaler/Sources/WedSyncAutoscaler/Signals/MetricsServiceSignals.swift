import Foundation
import Logging
import Synchronization
import WedSyncServiceKit

/// The metrics a target scales on, from the metrics service's live figures (`GET /v1/figures`, with this service's
/// own token): one read per tick, shared by every target.
///
/// | metric | from the figures |
/// |---|---|
/// | `requests-per-replica` | the API's requests per second over the last three complete 10-second points (30 s, as HPA's metrics are about as fresh), less those the gateway's cache answered; a target whose pool is `cache`: the cache service's L1 lookups per second over five minutes |
/// | `p95-latency-ms` | the highest p95 of every API route together among those three points (0 when nothing was asked) |
/// | `pool-utilisation` | the busiest database pool's connections in use over those allowed |
/// | `cpu` | not read: missing |
public final class MetricsServiceSignals: ScalingSignals {
    /// The part of the metrics service's `LiveFigures` the autoscaler reads.
    struct Figures: Decodable, Sendable {
        struct Tier: Decodable, Sendable {
            var tier: String
            /// `gateway` or `cache`; the cache pool's load is the cache service's own.
            var source: String?
            var lookups: Int
        }
        struct Database: Decodable, Sendable {
            var poolUtilisation: Double?
        }
        struct Point: Decodable, Sendable {
            var start: Date
            var count: Int
            var p95Ms: Double?
            var cacheHitRatio: Double?
        }
        var at: Date
        var history: [Point]
        var cacheTiers: [Tier]
        var database: Database
    }

    let client: ServiceClient
    let logger: Logger
    /// Figures read less than this ago are used again (the targets of one tick share one read).
    let reuseFor: Duration
    private let latest = Mutex<(read: ContinuousClock.Instant, figures: Figures?)?>(nil)

    public init(client: ServiceClient, logger: Logger, reuseFor: Duration = .seconds(1)) {
        self.client = client
        self.logger = logger
        self.reuseFor = reuseFor
    }

    public func readings(for target: ScalingTarget) async -> [MetricTarget.Kind: MetricReading] {
        guard let figures = await figures() else { return [:] }
        return Self.readings(figures, for: target)
    }

    static func readings(_ figures: Figures, for target: ScalingTarget) -> [MetricTarget.Kind: MetricReading] {
        var readings: [MetricTarget.Kind: MetricReading] = [:]
        for metric in target.metrics {
            switch metric.kind {
            case .requestsPerReplica where target.pool == "cache":
                let lookups = figures.cacheTiers.filter { $0.tier == "L1" && $0.source != "gateway" }.reduce(0) {
                    $0 + $1.lookups
                }
                readings[.requestsPerReplica] = .total(Double(lookups) / 300)
            case .requestsPerReplica:
                readings[.requestsPerReplica] = .total(upstreamRate(figures))
            case .p95Latency:
                readings[.p95Latency] = .total(recentPoints(figures).compactMap(\.p95Ms).max() ?? 0)
            case .poolUtilisation:
                if let utilisation = figures.database.poolUtilisation {
                    readings[.poolUtilisation] = .total(utilisation)
                }
            case .cpu:
                break
            }
        }
        return readings
    }

    /// Points this many seconds long make up the request rate.
    static let pointSeconds: TimeInterval = 10
    /// The rate is read over this many complete points.
    static let ratePoints = 3
    /// A point counts as complete once it ended this long before the figures were made (the gateway's events are
    /// delivered in batches about a second apart).
    static let deliveryLag: TimeInterval = 2

    /// The requests per second that reached the API's replicas over the last ``ratePoints`` complete points: those
    /// the gateway's cache answered are not their load.
    static func upstreamRate(_ figures: Figures) -> Double {
        let requests = recentPoints(figures).reduce(0.0) { $0 + Double($1.count) * (1 - ($1.cacheHitRatio ?? 0)) }
        return requests / (pointSeconds * Double(ratePoints))
    }

    /// The last ``ratePoints`` complete points, oldest first.
    static func recentPoints(_ figures: Figures) -> ArraySlice<Figures.Point> {
        let complete = figures.history.filter {
            $0.start.addingTimeInterval(pointSeconds + deliveryLag) <= figures.at
        }
        return complete.sorted { $0.start < $1.start }.suffix(ratePoints)
    }

    /// This tick's figures: read now, or the ones read less than `reuseFor` ago; `nil` when the metrics service
    /// cannot answer.
    func figures() async -> Figures? {
        let now = ContinuousClock.now
        if let latest = latest.withLock({ $0 }), now - latest.read < reuseFor { return latest.figures }
        var figures: Figures?
        do {
            figures = try await client.get("/v1/figures", as: Figures.self)
        } catch {
            logger.warning("metrics unreadable: scaling holds on missing metrics", metadata: ["error": "\(error)"])
        }
        let read = figures
        latest.withLock { $0 = (now, read) }
        return figures
    }
}
