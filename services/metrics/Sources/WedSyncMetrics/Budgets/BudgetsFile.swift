import Foundation
import WedSyncServiceKit
import Yams

/// The performance budgets file (`metrics.budgets-file`, `infrastructure/budgets.yaml`).
///
/// ```yaml
/// range: 1h                  # the window budgets are held to (default 1h)
/// budgets:
///   - route: /api/clients
///     method: GET            # optional: every method together when absent
///     p95: 150               # milliseconds
///     p99: 300
///     error-rate: 0.01       # a share
/// ```
public enum BudgetsFile {
    struct File: Decodable {
        var range: String?
        var budgets: [Budget]
    }

    struct Budget: Decodable {
        var route: String
        var method: String?
        var p95: Double?
        var p99: Double?
        var errorRate: Double?

        enum CodingKeys: String, CodingKey {
            case route, method, p95, p99
            case errorRate = "error-rate"
        }
    }

    /// The budgets and their range.
    public static func parse(_ text: String, key: String = "metrics.budgets-file") throws(ConfigurationError) -> (
        range: String, budgets: [PerformanceBudget]
    ) {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw ConfigurationError(key: key, message: "not a budgets file: \(error)".prefix(200).description)
        }
        let range = file.range ?? "1h"
        do {
            _ = try MetricsQueries.seconds(of: range)
        } catch {
            throw ConfigurationError(key: key, message: "range must be like 1h, 24h or 7d")
        }
        var seen = Set<String>()
        let budgets = try file.budgets.map { budget throws(ConfigurationError) -> PerformanceBudget in
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(key: key, message: "budget \(budget.route): \(message)")
            }
            guard budget.route.hasPrefix("/") else { throw fail("route must be a route template such as /api/clients") }
            guard seen.insert("\(budget.method ?? "*") \(budget.route)").inserted else { throw fail("appears twice") }
            guard budget.p95 != nil || budget.p99 != nil || budget.errorRate != nil else {
                throw fail("give p95, p99 or error-rate")
            }
            for (name, value) in [("p95", budget.p95), ("p99", budget.p99)] {
                if let value, !(value > 0 && value.isFinite) {
                    throw fail("\(name) must be a positive number of milliseconds")
                }
            }
            if let share = budget.errorRate, !(share >= 0 && share <= 1) {
                throw fail("error-rate must be a share between 0 and 1")
            }
            return PerformanceBudget(
                route: budget.route,
                method: budget.method?.uppercased(),
                p95Ms: budget.p95,
                p99Ms: budget.p99,
                errorRate: budget.errorRate
            )
        }
        return (range, budgets)
    }
}
