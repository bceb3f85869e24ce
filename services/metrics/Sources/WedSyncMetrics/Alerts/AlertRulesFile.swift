import Foundation
import WedSyncModels
import WedSyncServiceKit
import Yams

/// The alert rules file (`metrics.alerts-file`, `infrastructure/alerts.yaml`).
///
/// ```yaml
/// rules:
///   - name: RouteLatencyHigh
///     metric: p99                 # p50, p95, p99, error_rate, cache_hit_ratio, rate; or a gauge: pool_utilisation,
///                                 # pool_waiting, cpu_utilisation, memory_utilisation, disk_utilisation, up, findings
///     route: /api/clients         # optional: every API route when absent
///     match: {kind: n_plus_one}   # optional: a gauge's series with these label values; for the request metrics,
///                                 # {tier: L1} and/or {namespace: gw} make it a cache tier rule: one alert per
///                                 # cache tier (namespace/tier) on its series rather than per route
///     condition: "> 200"          # milliseconds for latencies, a share for ratios
///     resolve: "< 150"            # optional hysteresis
///     window: 5m
///     for: 2m
///     keep-firing-for: 5m
///     severity: critical
///     labels: {team: platform}
///     annotations: {summary: "p99 above 200 ms"}
/// slos:
///   - name: ClientsAvailable      # alerts ClientsAvailableFastBurn and ClientsAvailableSlowBurn
///     route: /api/clients         # optional: each API route its own SLO when absent
///     objective: 0.999            # the share of good requests
///     latency-ms: 300             # optional: a latency SLO (slower is bad); else a 5xx is bad
///     severity: critical
/// ```
public enum AlertRulesFile {
    struct File: Decodable {
        var rules: [Rule]?
        var slos: [SLO]?
    }

    struct SLO: Decodable {
        var name: String
        var route: String?
        var objective: Double
        var latencyMs: Double?
        var severity: AlertSeverity?
        var labels: [String: String]?
        var annotations: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, route, objective, severity, labels, annotations
            case latencyMs = "latency-ms"
        }
    }

    struct Rule: Decodable {
        var name: String
        var metric: String
        var route: String?
        var match: [String: String]?
        var condition: String
        var resolve: String?
        var window: String?
        var `for`: String?
        var keepFiringFor: String?
        var severity: AlertSeverity?
        var labels: [String: String]?
        var annotations: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, metric, route, match, condition, resolve, window, labels, annotations, severity
            case `for` = "for"
            case keepFiringFor = "keep-firing-for"
        }
    }

    static let metrics: Set<String> = Set(["p50", "p95", "p99", "error_rate", "cache_hit_ratio", "rate"]).union(
        AlertRule.gaugeMetrics
    )

    public static func parse(_ text: String) throws(ConfigurationError) -> [AlertRule] {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw ConfigurationError(
                key: "metrics.alerts-file",
                message: "not a rules file: \(error)".prefix(200).description
            )
        }
        var names = Set<String>()
        let rules = try (file.rules ?? []).map { rule throws(ConfigurationError) -> AlertRule in
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(key: "metrics.alerts-file", message: "rule \(rule.name): \(message)")
            }
            guard !rule.name.isEmpty, names.insert(rule.name).inserted else {
                throw fail("names must be present and unique")
            }
            guard metrics.contains(rule.metric) else {
                throw fail("metric must be one of \(metrics.sorted().joined(separator: ", "))")
            }
            guard let (comparison, threshold) = condition(rule.condition) else {
                throw fail("condition must be like \"> 200\" or \"< 0.8\"")
            }
            if let match = rule.match, !match.isEmpty, !AlertRule.gaugeMetrics.contains(rule.metric) {
                guard Set(match.keys).isSubset(of: AlertRule.tierLabels), rule.route == nil else {
                    throw fail("match applies to gauge metrics, or to cache tiers with tier and namespace (no route)")
                }
            }
            var resolve: Double?
            if let text = rule.resolve {
                guard let (_, value) = condition(text) else { throw fail("resolve must be like \"< 150\"") }
                guard comparison == .above ? value <= threshold : value >= threshold else {
                    throw fail("resolve must be on the good side of the threshold")
                }
                resolve = value
            }
            func duration(_ text: String?, _ field: String, _ defaultValue: Duration) throws(ConfigurationError)
                -> Duration
            {
                guard let text else { return defaultValue }
                guard let value = Self.duration(text) else { throw fail("\(field) must be like 30s, 5m or 1h") }
                return value
            }
            return AlertRule(
                name: rule.name,
                metric: rule.metric,
                route: rule.route,
                match: rule.match ?? [:],
                comparison: comparison,
                threshold: threshold,
                resolveThreshold: resolve,
                window: try duration(rule.window, "window", .seconds(300)),
                for: try duration(rule.for, "for", .seconds(60)),
                keepFiringFor: try duration(rule.keepFiringFor, "keep-firing-for", .seconds(120)),
                severity: rule.severity ?? .warning,
                labels: rule.labels ?? [:],
                annotations: rule.annotations ?? [:]
            )
        }
        var objectives: [AlertRule] = []
        for slo in file.slos ?? [] {
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(key: "metrics.alerts-file", message: "slo \(slo.name): \(message)")
            }
            guard !slo.name.isEmpty else { throw fail("names must be present") }
            guard slo.objective > 0, slo.objective < 1 else {
                throw fail("objective must be a share between 0 and 1, like 0.999")
            }
            if let latency = slo.latencyMs, !(latency > 0 && latency.isFinite) {
                throw fail("latency-ms must be a positive number")
            }
            let generated = AlertRule.burnRateRules(
                for: AlertRule.Objective(name: slo.name, target: slo.objective, latencyMs: slo.latencyMs),
                route: slo.route,
                severity: slo.severity ?? .critical,
                labels: slo.labels ?? [:],
                annotations: slo.annotations ?? [:]
            )
            for rule in generated where !names.insert(rule.name).inserted {
                throw fail("\(rule.name) is also the name of another rule")
            }
            objectives += generated
        }
        return rules + objectives
    }

    /// `> 200`, `<0.8`.
    static func condition(_ text: String) -> (AlertRule.Comparison, Double)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first, let comparison = AlertRule.Comparison(rawValue: String(first)),
            let value = Double(trimmed.dropFirst().trimmingCharacters(in: .whitespaces)), value.isFinite
        else { return nil }
        return (comparison, value)
    }

    /// `30s`, `5m`, `1h`, `0s`.
    static func duration(_ text: String) -> Duration? {
        guard let unit = text.last, let value = Int(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3_600)
        default: return nil
        }
    }
}
