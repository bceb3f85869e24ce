/// The sizing and timing of a ``ConnectionPool``.
public struct ConnectionPoolConfiguration: Sendable, Equatable {
    /// Connections kept open even when idle (the maintenance loop opens them).
    public var minimumConnections: Int
    /// The most connections the pool will ever have open or opening at once.
    public var maximumConnections: Int
    /// How long a borrower waits for a connection before ``ConnectionPoolError/Code/acquireTimeout``.
    public var acquireTimeout: Duration
    /// Idle connections above the minimum are closed after this long unused.
    public var idleTimeout: Duration
    /// A connection idle for longer than this is pinged before it is lent out.
    public var healthCheckAfterIdle: Duration
    /// How often the maintenance loop reaps idle connections and tops the pool up to its minimum.
    public var maintenanceInterval: Duration

    public init(
        minimumConnections: Int = 1,
        maximumConnections: Int = 10,
        acquireTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(60),
        healthCheckAfterIdle: Duration = .seconds(30),
        maintenanceInterval: Duration = .seconds(1)
    ) {
        precondition(maximumConnections > 0, "a pool needs room for at least one connection")
        precondition(minimumConnections >= 0 && minimumConnections <= maximumConnections, "0 <= minimum <= maximum")
        self.minimumConnections = minimumConnections
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
        self.idleTimeout = idleTimeout
        self.healthCheckAfterIdle = healthCheckAfterIdle
        self.maintenanceInterval = maintenanceInterval
    }
}
