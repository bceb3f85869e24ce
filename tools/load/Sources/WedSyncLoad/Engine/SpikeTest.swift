import Foundation
import Synchronization

/// A spike (`--spike BASE`): a steady base rate, then `factor` times it for `hold`, then the base again, all in the
/// open model. It reports each second's p95 and how long after the spike's end the p95 came back under the budget
/// and stayed there (for `settle` seconds in a row): the recovery time.
public struct SpikeTest: Sendable {
    public var runner: LoadRunner
    public var baseRate: Double
    public var factor: Double
    public var before: Duration
    public var hold: Duration
    public var after: Duration
    public var budget: Double
    public var settle: Int

    public init(
        runner: LoadRunner,
        baseRate: Double,
        factor: Double = 5,
        before: Duration = .seconds(30),
        hold: Duration = .seconds(60),
        after: Duration = .seconds(120),
        budget: Double,
        settle: Int = 5
    ) {
        self.runner = runner
        self.baseRate = baseRate
        self.factor = factor
        self.before = before
        self.hold = hold
        self.after = after
        self.budget = budget
        self.settle = settle
    }

    /// One second of the spike test (by when requests were answered).
    public struct Second: Codable, Sendable {
        public var t: Int
        public var answered: Int
        public var failed: Int
        public var p95: Double
    }

    public struct Result: Codable, Sendable {
        public var baseRate: Double
        public var spikeRate: Double
        public var budget: Double
        /// When the spike began and ended, in seconds from the start.
        public var spikeStart: Int
        public var spikeEnd: Int
        public var seconds: [Second]
        /// The p95 over the base before the spike, during it, and after it.
        public var p95Before: Double
        public var p95During: Double
        public var p95After: Double
        public var failedDuring: Int
        /// Seconds from the spike's end until the p95 was back under the budget for good; `nil` when it never was.
        public var recoverySeconds: Int?

        public var summary: String {
            String(
                format:
                    "spike: %.0f → %.0f → %.0f req/s; p95 %.2f ms before, %.2f ms during (%d failed), %.2f ms after; ",
                baseRate,
                spikeRate,
                baseRate,
                p95Before,
                p95During,
                failedDuring,
                p95After
            )
                + (recoverySeconds.map { "back under \(Int(budget)) ms \($0) s after the spike" }
                    ?? "not back under \(Int(budget)) ms")
        }
    }

    public func run() async -> Result {
        let spikeRate = baseRate * factor
        var test = runner
        test.model = .open(
            stages: RateStage.constant(baseRate, for: before) + [
                RateStage(duration: .zero, target: spikeRate), RateStage(duration: hold, target: spikeRate),
                RateStage(duration: .zero, target: baseRate), RateStage(duration: after, target: baseRate),
            ]
        )
        test.drainTimeout = .seconds(30)
        let recorder = LatencyRecorder(endpoints: runner.mix.templates.map(\.name))
        let spikeStart = Int(before.components.seconds)
        let spikeEnd = spikeStart + Int(hold.components.seconds)
        // Seconds by when their requests were answered: second t holds what ended in (t - 1, t].
        let collected = PhaseLog { $0 <= spikeStart ? 0 : ($0 <= spikeEnd ? 1 : 2) }
        _ = await test.run(recorder: recorder) { tick in
            collected.append(
                Second(
                    t: Int(tick.elapsed.components.seconds),
                    answered: tick.interval.requests,
                    failed: tick.interval.failures,
                    p95: tick.interval.milliseconds(at: 95)
                ),
                tick.interval
            )
        }
        let (seconds, phases) = collected.contents
        // Recovery: the first second after the spike from which `settle` seconds in a row are under budget.
        var recovery: Int?
        let afterSpike = seconds.filter { $0.t > spikeEnd }
        for (index, second) in afterSpike.enumerated() {
            let run = afterSpike[index..<min(afterSpike.count, index + settle)]
            // A second with no answer is no sign of health: a server that stalls answers nothing.
            if run.count == settle, run.allSatisfy({ $0.answered > 0 && $0.p95 < budget && $0.failed == 0 }) {
                recovery = second.t - spikeEnd - 1
                break
            }
        }
        return Result(
            baseRate: baseRate,
            spikeRate: spikeRate,
            budget: budget,
            spikeStart: spikeStart,
            spikeEnd: spikeEnd,
            seconds: seconds,
            p95Before: phases[0].milliseconds(at: 95),
            p95During: phases[1].milliseconds(at: 95),
            p95After: phases[2].milliseconds(at: 95),
            failedDuring: phases[1].failures,
            recoverySeconds: recovery
        )
    }
}

/// The per-second figures of a run, appended from its ticker, and its phases' series merged.
private final class PhaseLog: Sendable {
    private let state = Mutex<(seconds: [SpikeTest.Second], phases: [LatencySeries])>(
        ([], Array(repeating: LatencySeries(), count: 3))
    )
    private let phase: @Sendable (Int) -> Int

    init(phase: @escaping @Sendable (Int) -> Int) {
        self.phase = phase
    }

    func append(_ second: SpikeTest.Second, _ series: LatencySeries) {
        let index = phase(second.t)
        state.withLock { state in
            state.seconds.append(second)
            state.phases[index].add(series)
        }
    }

    var contents: (seconds: [SpikeTest.Second], phases: [LatencySeries]) { state.withLock { ($0.seconds, $0.phases) } }
}
