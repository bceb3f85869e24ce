import Foundation
import WedSyncModels

/// A performance budget's state for one route (`GET /v1/budgets`, `wedsync-metrics check-budgets`).
public struct BudgetStatus: Codable, Sendable, Equatable {
    public var route: String
    /// `nil`: every method of the route together.
    public var method: String?
    /// `ok`, `breached`, or `no_data` when nothing was measured in the range.
    public var status: String
    public var count: Int
    public var checks: [BudgetCheck]

    public init(route: String, method: String?, status: String, count: Int, checks: [BudgetCheck]) {
        self.route = route
        self.method = method
        self.status = status
        self.count = count
        self.checks = checks
    }
}

/// One limit of a budget: `p95` or `p99` (milliseconds) or `error_rate` (a share).
public struct BudgetCheck: Codable, Sendable, Equatable {
    public var metric: String
    public var limit: Double
    public var value: Double?
    /// `ok`, `breached` or `no_data`.
    public var status: String

    public init(metric: String, limit: Double, value: Double?, status: String) {
        self.metric = metric
        self.limit = limit
        self.value = value
        self.status = status
    }
}

/// Every budget over a range.
public struct BudgetReport: Codable, Sendable, Equatable {
    public var range: String
    public var from: Date
    public var to: Date
    public var breached: Int
    public var budgets: [BudgetStatus]

    public init(range: String, from: Date, to: Date, breached: Int, budgets: [BudgetStatus]) {
        self.range = range
        self.from = from
        self.to = to
        self.breached = breached
        self.budgets = budgets
    }
}

extension BudgetStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "status": .described(.string(), "ok, breached or no_data"),
                "count": .integer(),
                "checks": .array(.reference(BudgetCheck.openAPIName)),
            ],
            required: ["route", "status", "count", "checks"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [BudgetCheck.self] }
}

extension BudgetCheck: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "metric": .described(.string(), "p95, p99 (milliseconds) or error_rate (a share)"), "limit": .number,
                "value": .number,
                "status": .described(.string(), "ok, breached or no_data"),
            ],
            required: ["metric", "limit", "status"]
        )
    }
}

extension BudgetReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "range": .string(), "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "breached": .integer(),
                "budgets": .array(.reference(BudgetStatus.openAPIName)),
            ],
            required: ["range", "from", "to", "breached", "budgets"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [BudgetStatus.self] }
}
