import Foundation
import Testing
import WedSyncAutoscaler

/// HPA's replica formula, as the Kubernetes documentation and its replica calculator state it.
@Suite("Autoscaler: HPA's formula, tolerance, missing and not-ready rules")
struct ReplicaCalculatorTests {
    @Test("desired = ceil(current × metric / target); no change within the tolerance")
    func formula() {
        // 3 replicas at 200 m against 100 m: 6 (the documentation's example).
        #expect(
            ReplicaCalculator.desired(
                current: 3,
                samples: Array(repeating: .init(value: 200), count: 3),
                target: 100,
                tolerance: 0.1
            ) == 6
        )
        // 1 replica at 50 against 100: 1 → ceil(0.5) = 1.
        #expect(
            ReplicaCalculator.desired(
                current: 4,
                samples: Array(repeating: .init(value: 50), count: 4),
                target: 100,
                tolerance: 0.1
            ) == 2
        )
        #expect(
            ReplicaCalculator.desired(
                current: 4,
                samples: Array(repeating: .init(value: 109), count: 4),
                target: 100,
                tolerance: 0.1
            ) == 4
        )
        #expect(
            ReplicaCalculator.desired(
                current: 4,
                samples: Array(repeating: .init(value: 111), count: 4),
                target: 100,
                tolerance: 0.1
            ) == 5
        )
        #expect(
            ReplicaCalculator.desired(
                current: 4,
                samples: Array(repeating: .init(value: 91), count: 4),
                target: 100,
                tolerance: 0.1
            ) == 4
        )
        #expect(
            ReplicaCalculator.desired(
                current: 4,
                samples: Array(repeating: .init(value: 111), count: 4),
                target: 100,
                tolerance: 0.2
            ) == 4,
            "a tolerance per target"
        )
        // An average value over the pool: 900 requests/s at 150 a replica → 6, whatever runs now.
        #expect(
            ReplicaCalculator.desired(current: 2, ready: 2, total: 900, target: 150, averageValue: true, tolerance: 0.1)
                == 6
        )
        #expect(
            ReplicaCalculator.desired(current: 6, ready: 6, total: 880, target: 150, averageValue: true, tolerance: 0.1)
                == 6
        )
        // A value (p95 latency): 300 ms against 150 ms with 3 ready → 6.
        #expect(
            ReplicaCalculator.desired(
                current: 3,
                ready: 3,
                total: 300,
                target: 150,
                averageValue: false,
                tolerance: 0.1
            ) == 6
        )
        #expect(
            ReplicaCalculator.desired(
                current: 3,
                ready: 3,
                total: 160,
                target: 150,
                averageValue: false,
                tolerance: 0.1
            ) == 3
        )
    }

    @Test("A replica without a figure counts as 100% of the target when scaling down, 0% when scaling up")
    func missingFigures() {
        // Scaling down: 2 ready at 50, 2 silent → the silent count at 100: mean 75 → ceil(0.75 × 4) = 3 (not 1).
        let down = [ReplicaSample(value: 50), .init(value: 50), .init(value: nil), .init(value: nil)]
        #expect(ReplicaCalculator.desired(current: 4, samples: down, target: 100, tolerance: 0.1) == 3)
        // Scaling up: 2 at 200, 2 silent at 0: mean 100 → within tolerance → no change (the silent ones may be idle).
        let up = [ReplicaSample(value: 200), .init(value: 200), .init(value: nil), .init(value: nil)]
        #expect(ReplicaCalculator.desired(current: 4, samples: up, target: 100, tolerance: 0.1) == 4)
        // 2 at 300, 2 silent: mean 150 → 6.
        let more = [ReplicaSample(value: 300), .init(value: 300), .init(value: nil), .init(value: nil)]
        #expect(ReplicaCalculator.desired(current: 4, samples: more, target: 100, tolerance: 0.1) == 6)
        #expect(ReplicaCalculator.desired(current: 4, samples: [.init(value: nil)], target: 100, tolerance: 0.1) == nil)
    }

    @Test("A replica not ready counts as 0% when scaling up; a new replica's CPU spike is not a reason to scale")
    func notReady() {
        // 2 ready at 150, 2 starting: without the rule ceil(1.5 × 2) = 3; with them at 0: mean 75 → would be a
        // scale-down, which reverses the direction → no change.
        let starting = [
            ReplicaSample(value: 150), .init(value: 150), .init(value: 900, ready: false),
            .init(value: nil, ready: false),
        ]
        #expect(ReplicaCalculator.desired(current: 4, samples: starting, target: 100, tolerance: 0.1) == 4)
        // 2 ready at 400, 2 starting: mean 200 → 8.
        let busy = [
            ReplicaSample(value: 400), .init(value: 400), .init(value: 900, ready: false),
            .init(value: nil, ready: false),
        ]
        #expect(ReplicaCalculator.desired(current: 4, samples: busy, target: 100, tolerance: 0.1) == 8)
        // Scaling down ignores the ones not ready: 2 ready at 50 → 1.
        let idle = [ReplicaSample(value: 50), .init(value: 50), .init(value: 900, ready: false)]
        #expect(ReplicaCalculator.desired(current: 3, samples: idle, target: 100, tolerance: 0.1) == 1)
        // CPU: a replica 20 s old at 100% is treated as starting.
        let spike = [ReplicaSample(value: 0.6), .init(value: 0.6), .init(value: 1.0, age: .seconds(20))]
        #expect(
            ReplicaCalculator.desired(
                current: 3,
                samples: spike,
                target: 0.6,
                tolerance: 0.1,
                initializationPeriod: .seconds(300)
            ) == 3
        )
        #expect(
            ReplicaCalculator.desired(current: 3, samples: spike, target: 0.6, tolerance: 0.1) == 4,
            "without the period the spike scales up"
        )
    }
}
