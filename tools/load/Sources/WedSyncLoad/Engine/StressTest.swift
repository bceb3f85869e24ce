import Foundation

/// Finds the knee (`--stress`), as k6's breakpoint tests do: the open model's arrival rate climbs in steps, each held
/// for a while on its own; the knee is the highest rate whose p95 (from each request's intended start) stayed under
/// the budget with under 1% of requests failed and none left unsent. The climb stops at the first step past it.
public struct StressTest: Sendable {
    public var runner: LoadRunner
    public var startRate: Double
    public var stepRate: Double
    public var maximumRate: Double
    public var hold: Duration
    /// The p95 a step must stay under, in milliseconds.
    public var budget: Double

    public init(
        runner: LoadRunner,
        startRate: Double,
        stepRate: Double,
        maximumRate: Double,
        hold: Duration,
        budget: Double
    ) {
        self.runner = runner
        self.startRate = startRate
        self.stepRate = stepRate
        self.maximumRate = maximumRate
        self.hold = hold
        self.budget = budget
    }

    /// One step of the climb.
    public struct Step: Codable, Sendable {
        /// Requests per second offered.
        public var rate: Double
        /// Requests per second answered.
        public var throughput: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var failureRate: Double
        /// Due requests never sent before the step's drain time ran out.
        public var dropped: Int
        public var withinBudget: Bool
    }

    public struct Result: Codable, Sendable {
        public var budget: Double
        public var steps: [Step]
        /// The highest rate within budget; `nil` when even the first step was not.
        public var knee: Double? { steps.last { $0.withinBudget }?.rate }

        /// The climb as a Markdown table, and the knee.
        public var table: String {
            var lines = [
                "| offered req/s | answered req/s | p50 ms | p95 ms | p99 ms | failed | never sent | within \(Int(budget)) ms |",
                "|---:|---:|---:|---:|---:|---:|---:|---|",
            ]
            for step in steps {
                lines.append(
                    "| \(Int(step.rate)) | \(String(format: "%.0f", step.throughput)) | "
                        + String(
                            format: "%.2f | %.2f | %.2f | %.2f%%",
                            step.p50,
                            step.p95,
                            step.p99,
                            step.failureRate * 100
                        )
                        + " | \(step.dropped) | \(step.withinBudget ? "yes" : "no") |"
                )
            }
            lines.append("")
            lines.append(knee.map { "knee: \(Int($0)) requests/s (p95 under \(Int(budget)) ms)" } ?? "knee: none")
            return lines.joined(separator: "\n")
        }
    }

    /// Climbs until a step breaks the budget or the maximum rate is reached; `onStep` hears each step as it ends.
    public func run(onStep: (@Sendable (Step) -> Void)? = nil) async -> Result {
        var steps: [Step] = []
        var rate = startRate
        while rate <= maximumRate {
            var step = runner
            step.model = .open(stages: RateStage.constant(rate, for: hold))
            step.drainTimeout = hold
            let recorder = LatencyRecorder(endpoints: runner.mix.templates.map(\.name))
            let facts = await step.run(recorder: recorder)
            let overall = recorder.overall
            let seconds = Double(facts.elapsed.components.seconds) + Double(facts.elapsed.components.attoseconds) / 1e18
            let result = Step(
                rate: rate,
                throughput: seconds > 0 ? Double(overall.requests - overall.failures) / seconds : 0,
                p50: overall.milliseconds(at: 50),
                p95: overall.milliseconds(at: 95),
                p99: overall.milliseconds(at: 99),
                failureRate: overall.failureRate,
                dropped: facts.dropped,
                withinBudget: overall.milliseconds(at: 95) < budget && overall.failureRate < 0.01 && facts.dropped == 0
            )
            steps.append(result)
            onStep?(result)
            guard result.withinBudget else { break }
            rate += stepRate
        }
        return Result(budget: budget, steps: steps)
    }
}
