/// The intended send times of an open model, as offsets from its start: the times at which the cumulative number of
/// arrivals, the integral of the rate, reaches 1, 2, 3... (a stage ramping from `r0` to `r1` over `d` has
/// `N(t) = r0 t + (r1 - r0) t² / 2d`). Every latency is measured from these times, never from when a request
/// happened to leave, so a stalled server cannot hide the requests it delayed.
public struct ArrivalSchedule: Sequence, Sendable {
    public let stages: [RateStage]

    public init(stages: [RateStage]) {
        self.stages = stages
    }

    public func makeIterator() -> Iterator {
        Iterator(stages: stages)
    }

    public struct Iterator: IteratorProtocol {
        private let stages: [RateStage]
        private var stage = 0
        private var stageStart = 0.0
        private var startRate = 0.0
        /// Arrivals owed before the current stage began (fractional).
        private var carried = 0.0
        private var wanted = 1.0

        init(stages: [RateStage]) {
            self.stages = stages
        }

        /// The next intended send time, in seconds from the start; `nil` after the last stage.
        public mutating func next() -> Double? {
            while stage < stages.count {
                let current = stages[stage]
                let length =
                    Double(current.duration.components.seconds)
                    + Double(current.duration.components.attoseconds) / 1e18
                let r0 = startRate
                let r1 = current.target
                let owed = wanted - carried
                let total = length * (r0 + r1) / 2
                if length > 0, owed <= total {
                    let offset: Double
                    let slope = (r1 - r0) / length
                    if abs(slope) < 1e-12 {
                        offset = owed / r0
                    } else {
                        // Solve r0 t + slope t² / 2 = owed for the smallest non-negative t.
                        let discriminant = Swift.max(0, r0 * r0 + 2 * slope * owed)
                        offset = (-r0 + discriminant.squareRoot()) / slope
                    }
                    wanted += 1
                    return stageStart + offset
                }
                carried += total
                stageStart += length
                startRate = r1
                stage += 1
            }
            return nil
        }
    }
}
