import Foundation
import Synchronization
import WedSyncModels

/// Makes the ``LiveFigures`` that `/v1/stream` sends and the dashboard draws, from the last ten minutes of
/// 10-second buckets (one read of storage) and the alert engine's state. Figures are made at most once per
/// `reuseFor` and shared: every open stream sends the same ones.
public struct LiveFiguresBuilder: Sendable {
    final class Latest: Sendable {
        let figures = Mutex<LiveFigures?>(nil)
    }

    let latest = Latest()
    let queries: MetricsQueries
    let alerts: AlertEngine
    let budgets: @Sendable (Date) -> [BudgetStatus]
    let forecast: @Sendable (Date) -> CapacityForecast?
    let poolUtilisation: @Sendable () -> Double?
    /// How long figures once made are sent again rather than made anew.
    let reuseFor: Duration

    public init(
        queries: MetricsQueries,
        alerts: AlertEngine,
        budgets: @escaping @Sendable (Date) -> [BudgetStatus] = { _ in [] },
        forecast: @escaping @Sendable (Date) -> CapacityForecast? = { _ in nil },
        poolUtilisation: @escaping @Sendable () -> Double? = { nil },
        reuseFor: Duration = .seconds(1)
    ) {
        self.reuseFor = reuseFor
        self.queries = queries
        self.alerts = alerts
        self.budgets = budgets
        self.forecast = forecast
        self.poolUtilisation = poolUtilisation
    }

    /// The figures now: those made less than `reuseFor` ago, or new ones.
    public func figures() throws -> LiveFigures {
        let now = Date()
        let reuse = Double(reuseFor / .milliseconds(1)) / 1000
        if let figures = latest.figures.withLock({ $0 }), abs(now.timeIntervalSince(figures.at)) < reuse {
            return figures
        }
        let figures = try figures(at: now)
        latest.figures.withLock { $0 = figures }
        return figures
    }

    /// The figures at `now`.
    public func figures(at now: Date) throws -> LiveFigures {
        let to = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        let from = to - 600
        let rows = try queries.store.buckets(resolution: Aggregator.bucketSeconds, from: from, to: to)
        var points: [Int64: SeriesBucket] = [:]
        var lastMinute = SeriesBucket()
        var routes: [SeriesKey: SeriesBucket] = [:]
        var statements: [SeriesKey: SeriesBucket] = [:]
        var tiers: [String: (lookups: Int, hits: Int)] = [:]
        var cacheSeries: [SeriesKey: SeriesBucket] = [:]
        for (series, start, bucket) in rows {
            let recent = start >= to - 300
            switch series.kind {
            case "api":
                points[start, default: SeriesBucket()].add(bucket)
                if start >= to - 60 { lastMinute.add(bucket) }
                if recent {
                    routes[series, default: SeriesBucket()].add(bucket)
                    if bucket.cacheLookups > 0 {
                        tiers["responses", default: (0, 0)].lookups += bucket.cacheLookups
                        tiers["responses", default: (0, 0)].hits += bucket.cacheHits
                    }
                }
            case "db" where recent:
                statements[series, default: SeriesBucket()].add(bucket)
            case "cache" where recent:
                cacheSeries[series, default: SeriesBucket()].add(bucket)
            default:
                break
            }
        }
        let history = stride(from: from, to: to, by: Int(Aggregator.bucketSeconds)).map { start -> LivePoint in
            let bucket = points[start] ?? SeriesBucket()
            let answered = bucket.count > 0
            return LivePoint(
                start: Date(timeIntervalSince1970: Double(start)),
                count: bucket.count,
                ratePerSecond: Double(bucket.count) / Double(Aggregator.bucketSeconds),
                p50Ms: answered ? bucket.percentileMs(50) : nil,
                p95Ms: answered ? bucket.percentileMs(95) : nil,
                p99Ms: answered ? bucket.percentileMs(99) : nil,
                errorRate: answered ? Double(bucket.errors) / Double(bucket.count) : nil,
                cacheHitRatio: bucket.cacheLookups > 0 ? Double(bucket.cacheHits) / Double(bucket.cacheLookups) : nil
            )
        }
        let busiest = routes.map { MetricsQueries.summary($0.key, $0.value, seconds: 300) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.route, $0.method) < ($1.route, $1.method) }
        let allStatements = statements.values.reduce(into: SeriesBucket()) { $0.add($1) }
        let slowest = statements.map { MetricsQueries.summary($0.key, $0.value, seconds: 300) }.sorted {
            $0.p95Ms > $1.p95Ms
        }
        return LiveFigures(
            at: now,
            overall: MetricsQueries.summary(SeriesKey(kind: "api", name: "*", method: "*"), lastMinute, seconds: 60),
            history: history,
            routes: Array(busiest.prefix(12)),
            // The caches' tiers (the gateway's, then the cache service's), then the API calls' overall results.
            cacheTiers: CacheTierKey.figures(cacheSeries, seconds: 300)
                + tiers.map {
                    CacheTierFigure(
                        tier: $0.key,
                        lookups: $0.value.lookups,
                        hitRatio: $0.value.lookups == 0 ? nil : Double($0.value.hits) / Double($0.value.lookups)
                    )
                },
            database: DatabaseFigures(
                ratePerSecond: Double(allStatements.count) / 300,
                p95Ms: allStatements.count > 0 ? allStatements.percentileMs(95) : nil,
                poolUtilisation: poolUtilisation(),
                slowest: Array(slowest.prefix(5))
            ),
            alerts: alerts.alerts(at: now),
            budgets: budgets(now),
            forecast: forecast(now)
        )
    }
}

/// A cache tier as the dashboard shows it: the gateway's (`gw/...` series) or the cache service's (every namespace
/// added up).
struct CacheTierKey: Hashable {
    var source: String
    var tier: String

    static let tierOrder = ["L1": 0, "L2": 1, "L3": 2, "origin": 3, "responses": 4]
    static let sourceOrder = ["gateway": 0, "cache": 1]

    init(series: SeriesKey) {
        let parts = series.name.split(separator: "/", maxSplits: 1).map(String.init)
        source = parts.first == "gw" ? "gateway" : "cache"
        tier = parts.count == 2 ? parts[1] : series.name
    }

    /// The tiers of the `cache` series in `series` over `seconds`, gateway first, each in lookup order.
    static func figures(_ series: [SeriesKey: SeriesBucket], seconds: Double) -> [CacheTierFigure] {
        var tiers: [CacheTierKey: SeriesBucket] = [:]
        for (key, bucket) in series where key.kind == "cache" && (bucket.cacheLookups > 0 || bucket.count > 0) {
            tiers[CacheTierKey(series: key), default: SeriesBucket()].add(bucket)
        }
        return tiers.map { key, bucket in
            CacheTierFigure(
                tier: key.tier,
                source: key.source,
                lookups: bucket.cacheLookups,
                hitRatio: bucket.value(of: "cache_hit_ratio", seconds: seconds),
                answered: bucket.count,
                p95Ms: bucket.count > 0 ? bucket.percentileMs(95) : nil
            )
        }
        .sorted {
            (sourceOrder[$0.source ?? ""] ?? 9, tierOrder[$0.tier] ?? 9, $0.tier)
                < (sourceOrder[$1.source ?? ""] ?? 9, tierOrder[$1.tier] ?? 9, $1.tier)
        }
    }
}
