import Foundation
import Synchronization
import WedSyncModels

/// `wedsync-autoscaler simulate` and `wedsync-autoscaler generate-trace`.
///
/// ```text
/// wedsync-autoscaler simulate --trace FILE [--bookings FILE] [--policy hpa|calendar|predictive|all]
///     [--file infrastructure/autoscaling.yaml] [--target api] [--startup-seconds 30] [--service-ms 4]
///     [--workers 2] [--slo-ms 100]
/// wedsync-autoscaler generate-trace --out FILE [--seed 2027]      writes FILE and FILE's .bookings.csv
/// ```
public enum SimulateCommand {
    /// A command line that cannot run: what is wrong with it.
    public struct UsageError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `--name value` pairs; every option must be in `known`.
    static func options(_ arguments: [String], known: Set<String>) throws(UsageError) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--"), known.contains(String(name.dropFirst(2))) else {
                throw UsageError(
                    description:
                        "unknown option \(name) (known: \(known.sorted().map { "--\($0)" }.joined(separator: ", ")))"
                )
            }
            guard index + 1 < arguments.count else { throw UsageError(description: "\(name) needs a value") }
            result[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        return result
    }

    static func number(
        _ options: [String: String],
        _ name: String,
        default value: Double,
        in range: ClosedRange<Double>
    )
        throws(UsageError) -> Double
    {
        guard let text = options[name] else { return value }
        guard let parsed = Double(text), range.contains(parsed) else {
            throw UsageError(description: "--\(name) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    /// The bookings file beside a trace: `season.trace` → `season.bookings.csv`.
    public static func bookingsPath(for trace: String) -> String {
        (trace.hasSuffix(".trace") ? String(trace.dropLast(6)) : trace) + ".bookings.csv"
    }

    /// Runs `simulate` and returns the lines to print.
    public static func simulate(_ arguments: [String]) throws -> [String] {
        let options = try options(
            arguments,
            known: [
                "trace", "bookings", "policy", "file", "target", "startup-seconds", "service-ms", "workers", "slo-ms",
            ]
        )
        guard let tracePath = options["trace"] else { throw UsageError(description: "--trace FILE is required") }
        let policyName = options["policy"] ?? "all"
        let policies: [ReplaySimulator.Policy]
        if policyName == "all" {
            policies = ReplaySimulator.Policy.allCases
        } else if let policy = ReplaySimulator.Policy(rawValue: policyName) {
            policies = [policy]
        } else {
            throw UsageError(description: "--policy must be hpa, calendar, predictive or all")
        }
        guard let traceText = try? String(contentsOfFile: tracePath, encoding: .utf8) else {
            throw UsageError(description: "cannot read \(tracePath)")
        }
        let trace = try RateTrace(parsing: traceText)
        let bookingsPath = options["bookings"] ?? bookingsPath(for: tracePath)
        guard let bookingsText = try? String(contentsOfFile: bookingsPath, encoding: .utf8) else {
            throw UsageError(description: "cannot read \(bookingsPath)")
        }
        let bookings = try WeddingBooking.parse(csv: bookingsText)
        let file = try AutoscalingFile.load(path: options["file"] ?? "infrastructure/autoscaling.yaml")
        let targetName = options["target"] ?? "api"
        guard let target = file.targets.first(where: { $0.name == targetName }) else {
            throw UsageError(description: "no target \(targetName) in the autoscaling file")
        }
        var settings = ReplaySimulator.Settings()
        settings.startup = try number(options, "startup-seconds", default: settings.startup, in: 0...3600)
        settings.model.serviceTime =
            try number(options, "service-ms", default: settings.model.serviceTime * 1000, in: 0.01...10_000) / 1000
        settings.model.workers = Int(
            try number(options, "workers", default: Double(settings.model.workers), in: 1...1024)
        )
        settings.slo = try number(options, "slo-ms", default: settings.slo * 1000, in: 1...60_000) / 1000
        let simulator = ReplaySimulator(settings: settings, trace: trace, bookings: bookings)
        let configured = Self.concurrently(policies) { simulator.run($0, target: target) }
        // Each policy set to the same SLO: the cheapest settings with no more violation minutes than the calendar
        // policy has as configured (or than the one policy run).
        let bound = (configured.first { $0.policy == "calendar" } ?? configured[0]).violationMinutes
        let tuned = Self.concurrently(policies) { policy in
            var outcome = simulator.tune(
                policy,
                target,
                atMost: bound,
                targets: [100, 150, 200, 250, 300, 350, 400],
                minimums: Array(target.minReplicas...min(target.maxReplicas, target.minReplicas + 2))
            )
            outcome.policy = "\(policy.rawValue), set to the SLO"
            return outcome
        }
        let outcomes = configured + tuned
        return Self.table(outcomes, settings: settings, trace: trace, target: target)
    }

    static func table(
        _ outcomes: [ReplaySimulator.Outcome],
        settings: ReplaySimulator.Settings,
        trace: RateTrace,
        target: ScalingTarget
    )
        -> [String]
    {
        let days = trace.end.timeIntervalSince(trace.start) / 86_400
        var lines = [
            String(
                format:
                    "trace: %.0f days from %@; replica %d workers x %.1f ms (%.0f requests/s), start-up %.0f s, SLO p95 < %.0f ms, decisions every %.0f s",
                days,
                ISO8601DateFormatter().string(from: trace.start),
                settings.model.workers,
                settings.model.serviceTime * 1000,
                settings.model.capacity,
                settings.startup,
                settings.slo * 1000,
                settings.interval
            ),
            "target \(target.name): min \(target.minReplicas), max \(target.maxReplicas)",
            "| policy | requests/s a replica | min | replica-minutes | SLO-violation minutes | of them Saturday 06:00-10:00 | peak replicas |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for outcome in outcomes {
            lines.append(
                String(
                    format: "| %@ | %.0f | %d | %.0f | %d | %d | %d |",
                    outcome.policy,
                    outcome.target,
                    outcome.minReplicas,
                    outcome.replicaMinutes,
                    outcome.violationMinutes,
                    outcome.rampViolationMinutes,
                    outcome.peakReplicas
                )
            )
        }
        return lines
    }

    /// `body` for each policy, on every core, results in the policies' order.
    static func concurrently(
        _ policies: [ReplaySimulator.Policy],
        _ body: @Sendable (ReplaySimulator.Policy) -> ReplaySimulator.Outcome
    ) -> [ReplaySimulator.Outcome] {
        let results = Mutex([ReplaySimulator.Outcome?](repeating: nil, count: policies.count))
        DispatchQueue.concurrentPerform(iterations: policies.count) { index in
            let outcome = body(policies[index])
            results.withLock { $0[index] = outcome }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// Runs `generate-trace` and returns the lines to print.
    public static func generate(_ arguments: [String]) throws -> [String] {
        let options = try options(arguments, known: ["out", "seed"])
        guard let out = options["out"] else { throw UsageError(description: "--out FILE is required") }
        let seed = UInt64(try number(options, "seed", default: 2027, in: 0...1e15))
        let (trace, bookings) = SeasonTraceGenerator(seed: seed).generate()
        try trace.text.write(toFile: out, atomically: true, encoding: .utf8)
        try WeddingBooking.csv(bookings).write(toFile: bookingsPath(for: out), atomically: true, encoding: .utf8)
        return [
            "wrote \(out) (\(trace.rates.count) rates, every \(Int(trace.step)) s) and \(bookingsPath(for: out)) (\(bookings.reduce(0) { $0 + $1.weddings }) weddings)"
        ]
    }
}
