/// A snapshot of a pool's state and counters, for `/metrics`, `/ready` and the query optimizer's pool health.
public struct ConnectionPoolStatistics: Sendable, Codable, Equatable {
    /// The pool's name.
    public var name: String
    /// Connections open or being opened.
    public var size: Int
    public var inUse: Int
    public var idle: Int
    /// Borrowers waiting for a connection right now.
    public var waiting: Int
    public var minimumSize: Int
    public var maximumSize: Int
    /// Borrows since start.
    public var acquires: Int
    public var acquireTimeouts: Int
    public var connectionsOpened: Int
    public var connectionsClosed: Int
    public var connectFailures: Int
    /// Over the last 1,024 borrows: the time from asking to holding a connection.
    public var acquireLatencyP50Ms: Double
    public var acquireLatencyP99Ms: Double
    /// The share of borrows served at once, without waiting or opening a connection (1 is perfect; a low
    /// figure with `waiting > 0` says the pool is the bottleneck).
    public var efficiency: Double

    public init(
        name: String,
        size: Int,
        inUse: Int,
        idle: Int,
        waiting: Int,
        minimumSize: Int,
        maximumSize: Int,
        acquires: Int,
        acquireTimeouts: Int,
        connectionsOpened: Int,
        connectionsClosed: Int,
        connectFailures: Int,
        acquireLatencyP50Ms: Double,
        acquireLatencyP99Ms: Double,
        efficiency: Double
    ) {
        self.name = name
        self.size = size
        self.inUse = inUse
        self.idle = idle
        self.waiting = waiting
        self.minimumSize = minimumSize
        self.maximumSize = maximumSize
        self.acquires = acquires
        self.acquireTimeouts = acquireTimeouts
        self.connectionsOpened = connectionsOpened
        self.connectionsClosed = connectionsClosed
        self.connectFailures = connectFailures
        self.acquireLatencyP50Ms = acquireLatencyP50Ms
        self.acquireLatencyP99Ms = acquireLatencyP99Ms
        self.efficiency = efficiency
    }

    /// Connections in use over the maximum, 0...1.
    public var utilisation: Double { maximumSize == 0 ? 0 : Double(inUse) / Double(maximumSize) }
}
