import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WedSyncModels
import WedSyncServiceKit

/// `wedsync-metrics check-budgets`: holds a metrics service's measurements to performance budgets, for CI.
///
/// ```text
/// wedsync-metrics check-budgets [--url http://127.0.0.1:8083] [--file budgets.yaml] [--range 1h] [--fail-on-no-data]
/// ```
/// With `--file`, the file's budgets are checked against the service's summary over the range; without it, the
/// service's own budgets (`GET /v1/budgets`). Prints one line per check; exits 0 when every budget holds, 1 on a
/// breach (or, with `--fail-on-no-data`, a route without measurements), 2 when the check could not be made.
/// Budgets and summaries are monitoring data: the command presents `WEDSYNC_MONITOR_TOKEN` (else
/// `WEDSYNC_ADMIN_TOKEN`) from its environment, never from its arguments (a process list shows those).
public enum BudgetCheckCommand {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs the check; returns the lines to print and the exit status.
    public static func run(
        _ arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(Failure) -> (lines: [String], status: Int32) {
        let token =
            environment["WEDSYNC_MONITOR_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["WEDSYNC_ADMIN_TOKEN"]
        var url = "http://127.0.0.1:8083"
        var file: String?
        var range: String?
        var failOnNoData = false
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--url": url = try value(of: argument, &rest)
            case "--file": file = try value(of: argument, &rest)
            case "--range": range = try value(of: argument, &rest)
            case "--fail-on-no-data": failOnNoData = true
            default:
                throw Failure(
                    description: "unknown argument \(argument); expected --url, --file, --range or --fail-on-no-data"
                )
            }
        }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let report: BudgetReport
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw Failure(description: "cannot read \(file)")
            }
            let parsed: (range: String, budgets: [PerformanceBudget])
            do {
                parsed = try BudgetsFile.parse(text, key: "--file")
            } catch {
                throw Failure(description: error.description)
            }
            let summary: MetricsSummary = try await get(
                "\(base)\(APIPath.Metrics.summary)?range=\(range ?? parsed.range)",
                token: token
            )
            report = PerformanceBudget.report(parsed.budgets, summaries: summary)
        } else {
            report = try await get(
                "\(base)\(APIPath.Metrics.budgets)\(range.map { "?range=\($0)" } ?? "")",
                token: token
            )
        }
        var lines: [String] = []
        for budget in report.budgets {
            let name = "\(budget.method ?? "*") \(budget.route)"
            if budget.checks.isEmpty || budget.status == "no_data" {
                lines.append("\(failOnNoData ? "FAIL" : "NONE") \(name): no requests measured in \(report.range)")
                continue
            }
            for check in budget.checks {
                let shown = { (value: Double) in
                    check.metric == "error_rate"
                        ? String(format: "%.2f%%", value * 100) : String(format: "%.1f ms", value)
                }
                let verdict = check.status == "breached" ? "FAIL" : "ok  "
                lines.append(
                    "\(verdict) \(name) \(check.metric) \(check.value.map(shown) ?? "-") (budget \(shown(check.limit)), \(budget.count) requests)"
                )
            }
        }
        let noData = report.budgets.contains { $0.status == "no_data" }
        let breached = report.breached > 0 || (failOnNoData && noData)
        lines.append(
            breached
                ? "budgets breached: \(report.breached) of \(report.budgets.count) over \(report.range)"
                : "every budget holds over \(report.range)"
        )
        return (lines, breached ? 1 : 0)
    }

    private static func value(of flag: String, _ rest: inout ArraySlice<String>) throws(Failure) -> String {
        guard let value = rest.popFirst() else { throw Failure(description: "\(flag) needs a value") }
        return value
    }

    /// A service that is not listening yet gets five seconds to start; then the check gives up (exit 2).
    private static func get<Value: Decodable>(_ url: String, token: String?) async throws(Failure) -> Value {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result<Value, Failure>
        do {
            var request = HTTPClientRequest(url: url)
            if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
            let response = try await client.execute(request, timeout: .seconds(90))
            let body = try await response.body.collect(upTo: 64 << 20)
            if response.status.code == 200 {
                result = .success(try WedSyncJSON.makeDecoder().decode(Value.self, from: Data(body.readableBytesView)))
            } else {
                result = .failure(
                    Failure(description: "\(url) answered \(response.status.code): \(String(buffer: body).prefix(300))")
                )
            }
        } catch {
            result = .failure(Failure(description: "\(url) could not be read: \(error)"))
        }
        try? await client.shutdown()
        return try result.get()
    }
}
