import Foundation
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Forecasts next Saturday's peak from the hourly rollups and says how many replicas it needs.
///
/// - Each week's Saturday peak (its busiest hour) is fitted by least squares as `log peak = a + b·week + c·season`,
///   over the last 52 weeks: `b` is the weekly trend, `c` the wedding season (May to October; fitted only when the
///   history holds weeks of both). A week without a Saturday measured uses its peak times the Saturday factor
///   (the median of Saturday peak over the other days' peak).
/// - The latency at a load comes from the last 14 days' hours, `p95 = α + β·rate` by least squares; one replica
///   serves, within the p95 budget, the most per replica that was measured within it, or what the fitted line
///   allows up to the budget (at most three times the measured).
/// - Replicas needed carry 20% headroom; the breach date is the first of the next 26 Saturdays whose forecast
///   exceeds what the current replicas serve within the budget. When no hour was within the budget and no line
///   says where it would be, the budget counts as broken already (next Saturday).
/// - Only whole weeks are fitted: not the one under way, nor a first week the history began in the middle of.
public final class CapacityPlanner: Sendable {
    let queries: MetricsQueries
    public let p95BudgetMs: Double
    public let currentReplicas: Int
    /// Requests per second one replica serves within the budget, when measured elsewhere (a benchmark).
    public let replicaRatePerSecond: Double?
    private let cached = Mutex<(at: Date, forecast: CapacityForecast)?>(nil)

    public init(
        queries: MetricsQueries,
        p95BudgetMs: Double = 200,
        currentReplicas: Int = 1,
        replicaRatePerSecond: Double? = nil
    ) {
        self.queries = queries
        self.p95BudgetMs = p95BudgetMs
        self.currentReplicas = currentReplicas
        self.replicaRatePerSecond = replicaRatePerSecond
    }

    static let week: Int64 = 604_800
    /// 1970-01-05, the first Monday.
    static let firstMonday: Int64 = 345_600

    /// 0 is Monday, 5 Saturday.
    static func weekday(_ seconds: Int64) -> Int { Int(((seconds / 86_400) % 7 + 7 + 3) % 7) }
    static func weekIndex(_ seconds: Int64) -> Int64 {
        Int64((Double(seconds - firstMonday) / Double(week)).rounded(.down))
    }
    static func month(_ seconds: Int64) -> Int { CalendarDay(daysSinceEpoch: Int(seconds / 86_400)).month }
    static func inSeason(_ seconds: Int64) -> Bool { (5...10).contains(month(seconds)) }
    static func saturday(ofWeek index: Int64) -> Int64 { firstMonday + index * week + 5 * 86_400 }
    static func date(_ seconds: Int64) -> String { CalendarDay(daysSinceEpoch: Int(seconds / 86_400)).description }

    /// The forecast at `now`, kept for five minutes (the dashboard asks every few seconds); `nil` without any
    /// hourly history (not kept: the first traffic gives a forecast at once).
    public func forecast(at now: Date = Date()) throws -> CapacityForecast? {
        if let cached = cached.withLock({ $0 }), abs(now.timeIntervalSince(cached.at)) < 300 { return cached.forecast }
        guard let forecast = try compute(at: now) else { return nil }
        cached.withLock { $0 = (now, forecast) }
        return forecast
    }

    func compute(at now: Date) throws -> CapacityForecast? {
        let end = Aggregator.start(of: Int64(now.timeIntervalSince1970), resolution: 3_600) + 3_600
        let rows = try queries.store.counts(resolution: 3_600, kind: "api", from: end - 53 * Self.week, to: end)
        guard !rows.isEmpty else { return nil }
        var hours: [Int64: Int] = [:]
        for (_, start, count) in rows { hours[start, default: 0] += count }

        // Weekly peaks.
        var saturdayPeak: [Int64: Double] = [:]
        var otherPeak: [Int64: Double] = [:]
        for (start, count) in hours {
            let rate = Double(count) / 3_600
            let week = Self.weekIndex(start)
            if Self.weekday(start) == 5 {
                saturdayPeak[week] = max(saturdayPeak[week] ?? 0, rate)
            } else {
                otherPeak[week] = max(otherPeak[week] ?? 0, rate)
            }
        }
        // Only whole weeks: not the one under way (its Saturday may be half over), nor a first week the history
        // began in the middle of. A history shorter than a week has only those, and uses them.
        let nowSeconds = Int64(now.timeIntervalSince1970)
        let thisWeek = Self.weekIndex(nowSeconds)
        let firstHour = hours.keys.min() ?? end
        let firstWeek = Self.weekIndex(firstHour)
        let allWeeks = Set(saturdayPeak.keys).union(otherPeak.keys)
        let whole = allWeeks.filter {
            $0 < thisWeek && ($0 != firstWeek || firstHour == Self.firstMonday + firstWeek * Self.week)
        }
        let weeks = (whole.isEmpty ? allWeeks : whole).sorted()
        let ratios = weeks.compactMap { week in
            saturdayPeak[week].flatMap { peak in otherPeak[week].flatMap { $0 > 0 ? peak / $0 : nil } }
        }.sorted()
        let saturdayFactor = ratios.isEmpty ? 1 : ratios[ratios.count / 2]
        let points: [(week: Double, season: Double, log: Double)] = weeks.compactMap { week in
            let peak = saturdayPeak[week] ?? (otherPeak[week] ?? 0) * saturdayFactor
            guard peak > 0 else { return nil }
            return (Double(week), Self.inSeason(Self.saturday(ofWeek: week)) ? 1 : 0, log(peak))
        }
        guard !points.isEmpty else { return nil }
        let fit = Self.fit(points)

        var nextWeek = thisWeek
        if Self.saturday(ofWeek: nextWeek) + 86_400 <= nowSeconds { nextWeek += 1 }
        func forecast(week: Int64) -> Double {
            exp(fit.a + fit.b * Double(week) + fit.c * (Self.inSeason(Self.saturday(ofWeek: week)) ? 1 : 0))
        }
        let peak = forecast(week: nextWeek)
        let lastWeek = hours.filter { $0.key >= end - Self.week }
        let currentPeak = Double(lastWeek.values.max() ?? 0) / 3_600

        // Latency against load, per replica.
        let latency = try latencyModel(end: end)
        let replicas = Double(max(1, currentReplicas))
        var perReplica = replicaRatePerSecond ?? latency.withinBudget / replicas
        if replicaRatePerSecond == nil, latency.beta > 0, p95BudgetMs > latency.alpha {
            let fitted = (p95BudgetMs - latency.alpha) / latency.beta / replicas
            perReplica = max(perReplica, min(fitted, 3 * max(perReplica, latency.withinBudget / replicas)))
        }
        if replicaRatePerSecond == nil, perReplica <= 0, latency.beta > 0, p95BudgetMs > latency.alpha {
            // No hour kept p95 within the budget, but the fitted line says where it would be kept.
            perReplica = (p95BudgetMs - latency.alpha) / latency.beta / replicas
        }
        guard peak.isFinite, peak >= 0 else { return nil }
        let peakP95: Double? = latency.points >= 5 && latency.beta > 0 ? latency.alpha + latency.beta * peak : nil
        let needed: Int
        let breach: String?
        if perReplica > 0, perReplica.isFinite {
            needed = max(1, Int(min(1_000_000, (peak * 1.2 / perReplica).rounded(.up))))
            breach = (0..<26).lazy.map { nextWeek + Int64($0) }.first { forecast(week: $0) > perReplica * replicas }.map
            { Self.date(Self.saturday(ofWeek: $0)) }
        } else {
            // Nothing measured was within the budget: the budget is broken already. Scale the replicas with the
            // load, at least one more than now.
            let growth = currentPeak > 0 ? peak / currentPeak : 1
            needed = max(
                currentReplicas + 1,
                Int(min(1_000_000, (Double(currentReplicas) * growth * 1.2).rounded(.up)))
            )
            breach = Self.date(Self.saturday(ofWeek: nextWeek))
        }

        // The busiest routes scale with the whole.
        var routePeaks: [SeriesKey: Int] = [:]
        for (series, start, count) in rows where start >= end - Self.week {
            routePeaks[series] = max(routePeaks[series] ?? 0, count)
        }
        let scale = currentPeak > 0 ? peak / currentPeak : 1
        let routes = routePeaks.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map {
            series,
            count in
            RouteForecast(
                route: series.name,
                method: series.method,
                currentPeakRatePerSecond: Double(count) / 3_600,
                peakRatePerSecond: Double(count) / 3_600 * scale
            )
        }
        return CapacityForecast(
            generatedAt: now,
            nextSaturday: Self.date(Self.saturday(ofWeek: nextWeek)),
            inSeason: Self.inSeason(Self.saturday(ofWeek: nextWeek)),
            weeksOfHistory: weeks.count,
            currentPeakRatePerSecond: currentPeak,
            peakRatePerSecond: peak,
            peakP95Ms: peakP95,
            trendPerWeek: exp(fit.b) - 1,
            saturdayFactor: saturdayFactor,
            seasonFactor: exp(fit.c),
            currentReplicas: currentReplicas,
            perReplicaRatePerSecond: perReplica,
            replicasNeeded: needed,
            budgetBreachAt: breach,
            routes: Array(routes),
            method:
                "least squares on the log of \(points.count) weekly Saturday peaks (trend\(fit.c != 0 ? " and season" : "")), "
                + "Saturday factor \(String(format: "%.2f", saturdayFactor)); p95 against load from \(latency.points) hours; 20% headroom"
        )
    }

    /// `log peak = a + b·week + c·season` by least squares; without weeks of both seasons, `c` is 0, and with one
    /// week, `b` is 0 too.
    static func fit(_ points: [(week: Double, season: Double, log: Double)]) -> (a: Double, b: Double, c: Double) {
        let recent = Array(points.suffix(52))
        let seasons = Set(recent.map(\.season))
        if recent.count >= 4, seasons.count == 2,
            let solved = solve(recent.map { [1, $0.week, $0.season] }, recent.map(\.log))
        {
            return (solved[0], solved[1], solved[2])
        }
        if recent.count >= 2, Set(recent.map(\.week)).count >= 2,
            let solved = solve(recent.map { [1, $0.week] }, recent.map(\.log))
        {
            return (solved[0], solved[1], 0)
        }
        return (recent.map(\.log).reduce(0, +) / Double(recent.count), 0, 0)
    }

    /// Least squares by the normal equations, Gaussian elimination with partial pivoting.
    static func solve(_ rows: [[Double]], _ values: [Double]) -> [Double]? {
        let size = rows[0].count
        var matrix = (0..<size).map { i in
            (0..<size).map { j in zip(rows, rows).reduce(0) { $0 + $1.0[i] * $1.1[j] } } + [
                zip(rows, values).reduce(0) { $0 + $1.0[i] * $1.1 }
            ]
        }
        for column in 0..<size {
            guard let pivot = (column..<size).max(by: { abs(matrix[$0][column]) < abs(matrix[$1][column]) }),
                abs(matrix[pivot][column]) > 1e-12
            else { return nil }
            matrix.swapAt(column, pivot)
            for row in 0..<size where row != column {
                let factor = matrix[row][column] / matrix[column][column]
                for k in column...size { matrix[row][k] -= factor * matrix[column][k] }
            }
        }
        return (0..<size).map { matrix[$0][size] / matrix[$0][$0] }
    }

    /// `p95 = α + β·rate` over the last 14 days' hours with a minute of traffic or more, and the highest rate whose
    /// hour kept p95 within the budget.
    func latencyModel(end: Int64) throws -> (alpha: Double, beta: Double, points: Int, withinBudget: Double) {
        var hours: [Int64: SeriesBucket] = [:]
        for (series, start, bucket) in try queries.store.buckets(resolution: 3_600, from: end - 14 * 86_400, to: end)
        where series.kind == "api" {
            hours[start, default: SeriesBucket()].add(bucket)
        }
        let points = hours.values.filter { $0.count >= 60 }.map {
            (rate: Double($0.count) / 3_600, p95: $0.percentileMs(95))
        }
        let withinBudget = points.filter { $0.p95 <= p95BudgetMs }.map(\.rate).max() ?? 0
        guard points.count >= 2, Set(points.map(\.rate)).count >= 2,
            let solved = Self.solve(points.map { [1, $0.rate] }, points.map(\.p95))
        else {
            return (points.first?.p95 ?? 0, 0, points.count, withinBudget)
        }
        return (solved[0], solved[1], points.count, withinBudget)
    }
}
