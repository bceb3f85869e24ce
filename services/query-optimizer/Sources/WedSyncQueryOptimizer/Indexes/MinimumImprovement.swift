/// How much an index must cut a statement's planned cost to be recommended, one rule for a single statement
/// (`POST /v1/analyze`) and for the workload: at least ``share`` of the statement's cost, and at least ``cost`` units.
///
/// The share keeps an index that cuts a hot statement's cost by 30% (Dexter's 50% would hide it); the floor keeps
/// one that saves a few units of an already cheap statement out (half of 8 units is no index's worth).
public struct MinimumImprovement: Sendable, Equatable {
    /// The share of the statement's cost, from 0 to 1.
    public var share: Double
    /// Planner cost units.
    public var cost: Double

    public init(share: Double = 0.1, cost: Double = 100) {
        self.share = share
        self.cost = cost
    }

    /// Whether a cut from `before` to `after` is enough.
    public func accepts(before: Double, after: Double) -> Bool {
        before > 0 && after.isFinite && after >= 0 && before - after >= max(share * before, cost)
    }
}
