import Foundation
import WedSyncModels

/// A route's performance budget: the p95 and p99 it may take (milliseconds) and the share of 5xx answers it may
/// give, over a range.
public struct PerformanceBudget: Sendable, Equatable {
    public var route: String
    /// `nil`: every method of the route together.
    public var method: String?
    public var p95Ms: Double?
    public var p99Ms: Double?
    public var errorRate: Double?

    public init(
        route: String,
        method: String? = nil,
        p95Ms: Double? = nil,
        p99Ms: Double? = nil,
        errorRate: Double? = nil
    ) {
        self.route = route
        self.method = method
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.errorRate = errorRate
    }

    /// The budget's state from the merged buckets of its route (and method) over the range.
    public func status(of bucket: SeriesBucket) -> BudgetStatus {
        let measured = bucket.count > 0
        var checks: [BudgetCheck] = []
        func check(_ metric: String, _ limit: Double?, _ value: @autoclosure () -> Double) {
            guard let limit else { return }
            let value = measured ? value() : nil
            checks.append(
                BudgetCheck(
                    metric: metric,
                    limit: limit,
                    value: value,
                    status: value.map { $0 > limit ? "breached" : "ok" } ?? "no_data"
                )
            )
        }
        check("p95", p95Ms, bucket.percentileMs(95))
        check("p99", p99Ms, bucket.percentileMs(99))
        check("error_rate", errorRate, Double(bucket.errors) / Double(bucket.count))
        let status = !measured ? "no_data" : checks.contains { $0.status == "breached" } ? "breached" : "ok"
        return BudgetStatus(route: route, method: method, status: status, count: bucket.count, checks: checks)
    }

    /// Every budget's state over the merged series of a range.
    public static func report(
        _ budgets: [PerformanceBudget],
        series: [SeriesKey: SeriesBucket],
        range: String,
        from: Date,
        to: Date
    ) -> BudgetReport {
        let statuses = budgets.map { budget in
            budget.status(
                of: series.reduce(into: SeriesBucket()) { merged, entry in
                    if entry.key.kind == "api", entry.key.name == budget.route,
                        budget.method == nil || entry.key.method == budget.method
                    {
                        merged.add(entry.value)
                    }
                }
            )
        }
        return BudgetReport(
            range: range,
            from: from,
            to: to,
            breached: statuses.filter { $0.status == "breached" }.count,
            budgets: statuses
        )
    }

    /// Every budget's state from a service's summary (the command-line check): a budget without a method merges
    /// its methods' summaries by their counts, so its percentiles are those of the busiest method, the worst
    /// kept (a summary does not carry histograms).
    public static func report(_ budgets: [PerformanceBudget], summaries summary: MetricsSummary) -> BudgetReport {
        let statuses = budgets.map { budget -> BudgetStatus in
            let series = summary.series.filter {
                $0.kind == "api" && $0.route == budget.route && (budget.method == nil || $0.method == budget.method)
            }
            let count = series.reduce(0) { $0 + $1.count }
            guard count > 0 else { return budget.status(of: SeriesBucket()) }
            let errors = series.reduce(0.0) { $0 + $1.errorRate * Double($1.count) } / Double(count)
            var checks: [BudgetCheck] = []
            func check(_ metric: String, _ limit: Double?, _ value: Double) {
                guard let limit else { return }
                checks.append(
                    BudgetCheck(metric: metric, limit: limit, value: value, status: value > limit ? "breached" : "ok")
                )
            }
            check("p95", budget.p95Ms, series.map(\.p95Ms).max() ?? 0)
            check("p99", budget.p99Ms, series.map(\.p99Ms).max() ?? 0)
            check("error_rate", budget.errorRate, errors)
            return BudgetStatus(
                route: budget.route,
                method: budget.method,
                status: checks.contains { $0.status == "breached" } ? "breached" : "ok",
                count: count,
                checks: checks
            )
        }
        return BudgetReport(
            range: summary.range,
            from: summary.from,
            to: summary.to,
            breached: statuses.filter { $0.status == "breached" }.count,
            budgets: statuses
        )
    }
}
