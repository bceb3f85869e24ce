/// What the last check found of one replica (or analytics standby).
public struct ReplicaState: Sendable, Equatable {
    /// Whether the check reached the server and it answered.
    public var reachable: Bool
    /// How far it has replayed the primary's log; `nil` for a server not in recovery (a promoted standby, or a
    /// primary named as a replica), which is taken to be caught up.
    public var replayed: PostgresLSN?
    /// How far behind the primary it is: the time since the primary first wrote what it has not replayed yet
    /// (zero when it has replayed everything the primary had written at the check).
    public var lag: Duration
    /// When the check ended.
    public var checkedAt: ContinuousClock.Instant

    public init(reachable: Bool, replayed: PostgresLSN?, lag: Duration, checkedAt: ContinuousClock.Instant) {
        self.reachable = reachable
        self.replayed = replayed
        self.lag = lag
        self.checkedAt = checkedAt
    }

    /// Whether it has replayed `position` (a write that a read must see).
    public func hasReplayed(_ position: PostgresLSN) -> Bool {
        guard let replayed else { return true }
        return replayed >= position
    }
}
