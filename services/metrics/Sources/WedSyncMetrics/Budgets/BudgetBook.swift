import Foundation
import WedSyncModels

/// The service's performance budgets (`metrics.budgets-file`), held to the measurements over their range.
public struct BudgetBook: Sendable {
    public let range: String
    public let budgets: [PerformanceBudget]
    let queries: MetricsQueries

    public init(range: String, budgets: [PerformanceBudget], queries: MetricsQueries) {
        self.range = range
        self.budgets = budgets
        self.queries = queries
    }

    /// Every budget's state over `range` (the file's when `nil`) before `now`.
    public func report(range: String? = nil, at now: Date = Date()) throws -> BudgetReport {
        let range = range ?? self.range
        let (series, from, to) = try queries.merged(seconds: try MetricsQueries.seconds(of: range), now: now)
        return PerformanceBudget.report(
            budgets,
            series: series,
            range: range,
            from: Date(timeIntervalSince1970: Double(from)),
            to: Date(timeIntervalSince1970: Double(to))
        )
    }
}
