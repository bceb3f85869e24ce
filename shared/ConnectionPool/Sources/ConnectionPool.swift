import DequeModule
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A bounded pool of connections to one server, shared by the PostgreSQL and Redis clients.
///
/// - Borrowers never exceed ``ConnectionPoolConfiguration/maximumConnections``: past it they queue (first come,
///   first served) and fail with ``ConnectionPoolError/Code/acquireTimeout`` after the acquire timeout.
/// - Every borrow checks the connection cheaply (``PoolableConnection/isUsable``), and pings it when it has been
///   idle for long, so connections a restarted server dropped are replaced instead of failing a caller.
/// - ``runMaintenance()`` reaps idle connections above the minimum and reopens the minimum; the clients run it from
///   their `Service.run()`, and call ``shutdown()`` when it returns.
///
/// The state lives behind one `Mutex`; the hot path (an idle connection is there) takes the lock once and
/// allocates nothing but the lease.
public final class ConnectionPool<Factory: ConnectionFactory>: Sendable {
    public typealias Connection = Factory.Connection

    /// The pool's name in statistics, errors and logs.
    public let name: String
    public let configuration: ConnectionPoolConfiguration
    private let factory: Factory
    private let logger: Logger
    private let state: Mutex<State>
    private let timerLoop: any EventLoop

    public init(name: String, configuration: ConnectionPoolConfiguration, factory: Factory, logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.factory = factory
        self.logger = logger
        self.state = Mutex(State())
        self.timerLoop = MultiThreadedEventLoopGroup.singleton.any()
    }

    // MARK: Borrowing

    /// Lends a connection to `body` and takes it back afterwards, whatever `body` does.
    ///
    /// When `body` throws, the connection goes back to the pool only if `reusableAfter` says the error left it
    /// usable (a client closes connections whose failure was of the connection itself) and it still
    /// ``PoolableConnection/isUsable``.
    public func withConnection<Result>(
        reusableAfter isReusable: (any Error) -> Bool = { _ in true },
        _ body: (Connection) async throws -> Result
    ) async throws -> Result {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection, reusable: isReusable(error))
            throw error
        }
    }

    /// Borrows a connection. Prefer ``withConnection(_:)``; a caller of `acquire` must ``release(_:reusable:)``.
    public func acquire() async throws -> Connection {
        try Task.checkCancellation()
        let start = ContinuousClock.now
        var waited = false
        while true {
            let grant: Grant
            let loop = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
            switch state.withLock({ $0.grantWithoutWaiting(maximum: configuration.maximumConnections, loop: loop) }) {
            case .granted(let immediate):
                grant = immediate
            case .mustWait:
                waited = true
                grant = try await waitForGrant()
            case .shutdown:
                throw ConnectionPoolError(code: .shutdown, pool: name, message: "the pool has been shut down")
            }

            switch grant {
            case .connection(let connection, let idleFor):
                guard await isHealthy(connection, idleFor: idleFor) else {
                    discard(connection)
                    continue
                }
                record(start: start, immediate: !waited)
                return connection
            case .openPermit:
                do {
                    let connection = try await factory.makeConnection()
                    state.withLock { $0.opened += 1 }
                    record(start: start, immediate: false)
                    return connection
                } catch {
                    let waiter = state.withLock { state -> Waiter? in
                        state.connectFailures += 1
                        return state.returnPermit(maximum: configuration.maximumConnections)
                    }
                    waiter?.resume(with: .success(.openPermit))
                    throw error
                }
            }
        }
    }

    /// Takes a borrowed connection back. A connection that is not `reusable` (the caller saw it fail, or left it in
    /// a state it cannot clean up) is closed instead. One that broke otherwise is found by the next borrow's check
    /// (``PoolableConnection/isUsable`` is a system call: once per command, not twice).
    public func release(_ connection: Connection, reusable: Bool = true) {
        guard reusable else {
            discard(connection)
            return
        }
        let action = state.withLock { state -> ReleaseAction in
            state.leased -= 1
            return state.offer(connection)
        }
        perform(action, with: connection)
    }

    private func perform(_ action: ReleaseAction, with connection: Connection) {
        switch action {
        case .close: connection.close()
        case .handOver(let waiter): waiter.resume(with: .success(.connection(connection, idleFor: .zero)))
        case .keep: break
        }
    }

    /// Closes a borrowed connection and frees its place (a waiter, if any, may open a new one).
    private func discard(_ connection: Connection) {
        let waiter = state.withLock { state -> Waiter? in
            state.closed += 1
            return state.returnPermit(maximum: configuration.maximumConnections)
        }
        connection.close()
        waiter?.resume(with: .success(.openPermit))
    }

    private func isHealthy(_ connection: Connection, idleFor: Duration) async -> Bool {
        guard connection.isUsable else { return false }
        guard idleFor > configuration.healthCheckAfterIdle else { return true }
        return await factory.ping(connection)
    }

    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let outcome = state.withLock { state -> Result<Grant, any Error>? in
                    // Checked under the lock `onCancel` takes too: a cancellation that came before this point
                    // found no waiter to remove, so it must not be queued now.
                    if Task.isCancelled {
                        return .failure(CancellationError())
                    }
                    if state.isShutdown {
                        return .failure(
                            ConnectionPoolError(code: .shutdown, pool: name, message: "the pool has been shut down")
                        )
                    }
                    // Something may have been released since the fast path looked.
                    if let grant = state.grantWithoutWaiting(maximum: configuration.maximumConnections).grant {
                        return .success(grant)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeout: nil))
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome)
                    return
                }
                let timeout = timerLoop.scheduleTask(in: .nanoseconds(configuration.acquireTimeout.nanoseconds)) {
                    self.expireWaiter(id: id)
                }
                let stillWaiting = state.withLock { state -> Bool in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters[index].timeout = timeout
                    return true
                }
                if !stillWaiting { timeout.cancel() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.removeWaiter(id: id) }
            waiter?.timeout?.cancel()
            waiter?.resume(with: .failure(CancellationError()))
        }
    }

    private func expireWaiter(id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.removeWaiter(id: id) else { return nil }
            state.acquireTimeouts += 1
            return waiter
        }
        guard let waiter else { return }
        let seconds = Double(configuration.acquireTimeout.nanoseconds) / 1e9
        logger.warning(
            "connection pool exhausted",
            metadata: ["pool.name": "\(name)", "pool.acquire_timeout_s": "\(seconds)"]
        )
        waiter.resume(
            with: .failure(
                ConnectionPoolError(
                    code: .acquireTimeout,
                    pool: name,
                    message: "no connection became free within \(seconds)s "
                        + "(all \(configuration.maximumConnections) in use)"
                )
            )
        )
    }

    private func record(start: ContinuousClock.Instant, immediate: Bool) {
        let elapsed = ContinuousClock.now - start
        state.withLock { $0.recordAcquire(milliseconds: Double(elapsed.nanoseconds) / 1e6, immediate: immediate) }
    }

    // MARK: Maintenance

    /// Keeps the pool at its minimum and closes connections idle for longer than the idle timeout, every
    /// maintenance interval, until the calling task is cancelled.
    public func runMaintenance() async {
        while !Task.isCancelled {
            await fillToMinimum()
            reapIdle()
            do {
                try await Task.sleep(for: configuration.maintenanceInterval)
            } catch {
                return
            }
        }
    }

    private func fillToMinimum() async {
        while true {
            let mayOpen = state.withLock { state -> Bool in
                guard !state.isShutdown, state.total < configuration.minimumConnections else { return false }
                state.total += 1
                return true
            }
            guard mayOpen else { return }
            do {
                let connection = try await factory.makeConnection()
                let action = state.withLock { state -> ReleaseAction in
                    state.opened += 1
                    return state.offer(connection)
                }
                perform(action, with: connection)
            } catch {
                let waiter = state.withLock { state -> Waiter? in
                    state.connectFailures += 1
                    return state.freePlace(maximum: configuration.maximumConnections)
                }
                // A borrower that queued behind this attempt tries for itself rather than waiting for a tick.
                waiter?.resume(with: .success(.openPermit))
                logger.debug(
                    "could not open a connection to keep the pool's minimum",
                    metadata: ["pool.name": "\(name)", "error": "\(error)"]
                )
                return
            }
        }
    }

    private func reapIdle() {
        let now = ContinuousClock.now
        let reaped = state.withLock { state -> [Connection] in
            var reaped: [Connection] = []
            // `idle` is a stack: the longest-idle connections are at the bottom.
            while let oldest = state.idle.first,
                state.total > configuration.minimumConnections,
                now - oldest.since > configuration.idleTimeout
            {
                state.idle.removeFirst()
                state.total -= 1
                state.closed += 1
                reaped.append(oldest.connection)
            }
            // A dropped connection is found here rather than by the next borrower.
            state.idle.removeAll { idle in
                guard !idle.connection.isUsable else { return false }
                state.total -= 1
                state.closed += 1
                reaped.append(idle.connection)
                return true
            }
            return reaped
        }
        for connection in reaped { connection.close() }
    }

    /// Closes every idle connection, fails every waiter and refuses further borrows. Connections still lent out
    /// are closed as they come back.
    public func shutdown() {
        let (idle, waiters) = state.withLock { state -> ([IdleConnection], Deque<Waiter>) in
            state.isShutdown = true
            let idle = state.idle
            let waiters = state.waiters
            state.idle.removeAll()
            state.waiters.removeAll()
            state.total -= idle.count
            state.closed += idle.count
            return (idle, waiters)
        }
        for connection in idle { connection.connection.close() }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.resume(
                with: .failure(ConnectionPoolError(code: .shutdown, pool: name, message: "the pool has been shut down"))
            )
        }
    }

    // MARK: Statistics

    /// The pool's state and counters now.
    public var statistics: ConnectionPoolStatistics {
        state.withLock { state in
            let (p50, p99) = state.acquireLatencyPercentiles()
            return ConnectionPoolStatistics(
                name: name,
                size: state.total,
                inUse: state.leased,
                idle: state.idle.count,
                waiting: state.waiters.count,
                minimumSize: configuration.minimumConnections,
                maximumSize: configuration.maximumConnections,
                acquires: state.acquires,
                acquireTimeouts: state.acquireTimeouts,
                connectionsOpened: state.opened,
                connectionsClosed: state.closed,
                connectFailures: state.connectFailures,
                acquireLatencyP50Ms: p50,
                acquireLatencyP99Ms: p99,
                efficiency: state.acquires == 0 ? 1 : Double(state.immediateAcquires) / Double(state.acquires)
            )
        }
    }
}

// MARK: - State

extension ConnectionPool {
    /// What a borrower is given: a connection, or the right to open one (its place is already counted).
    enum Grant: Sendable {
        case connection(Connection, idleFor: Duration)
        case openPermit
    }

    enum Decision {
        case granted(Grant)
        case mustWait
        case shutdown

        var grant: Grant? {
            if case .granted(let grant) = self { return grant }
            return nil
        }
    }

    enum ReleaseAction {
        case close
        case handOver(Waiter)
        case keep
    }

    struct IdleConnection: Sendable {
        var connection: Connection
        var since: ContinuousClock.Instant
    }

    struct Waiter: Sendable {
        var id: Int
        var continuation: CheckedContinuation<Grant, any Error>
        var timeout: Scheduled<Void>?

        func resume(with result: Result<Grant, any Error>) {
            continuation.resume(with: result)
        }
    }

    struct State: ~Copyable {
        var idle: [IdleConnection] = []
        /// Connections open or being opened.
        var total = 0
        var leased = 0
        var waiters: Deque<Waiter> = []
        var nextWaiterID = 0
        var isShutdown = false

        var acquires = 0
        var immediateAcquires = 0
        var acquireTimeouts = 0
        var opened = 0
        var closed = 0
        var connectFailures = 0
        var latencies = [Double](repeating: 0, count: 1024)
        var latencyCount = 0

        /// An idle connection, the most recently used first; one on the borrower's event loop `loop` (when it runs
        /// on one) before any other, and a new one opened there rather than one taken from another loop while the
        /// pool has room.
        mutating func grantWithoutWaiting(maximum: Int, loop: ObjectIdentifier? = nil) -> Decision {
            if isShutdown { return .shutdown }
            var index = idle.indices.last
            if let loop, let latest = idle.last?.connection.eventLoopIdentity, latest != loop {
                index =
                    idle.lastIndex(where: { $0.connection.eventLoopIdentity == loop })
                    ?? (total < maximum ? nil : index)
            }
            if let index {
                let found = idle.remove(at: index)
                leased += 1
                return .granted(.connection(found.connection, idleFor: .now - found.since))
            }
            if total < maximum {
                total += 1
                leased += 1
                return .granted(.openPermit)
            }
            return .mustWait
        }

        /// Puts a connection nobody holds back into circulation: to the first waiter, or onto the idle stack (or
        /// closes it after shutdown).
        mutating func offer(_ connection: Connection) -> ReleaseAction {
            if isShutdown {
                total -= 1
                closed += 1
                return .close
            }
            if var waiter = waiters.popFirst() {
                leased += 1
                waiter.timeout?.cancel()
                waiter.timeout = nil
                return .handOver(waiter)
            }
            idle.append(IdleConnection(connection: connection, since: .now))
            return .keep
        }

        /// Gives back the place of a borrowed connection that was closed or never opened; the first waiter, if any,
        /// gets it.
        mutating func returnPermit(maximum: Int) -> Waiter? {
            leased -= 1
            return freePlace(maximum: maximum)
        }

        /// Frees a place in the pool; the first waiter, if any, is given the right to open a connection in it.
        mutating func freePlace(maximum: Int) -> Waiter? {
            total -= 1
            guard !isShutdown, total < maximum, var waiter = waiters.popFirst() else { return nil }
            total += 1
            leased += 1
            waiter.timeout?.cancel()
            waiter.timeout = nil
            return waiter
        }

        mutating func removeWaiter(id: Int) -> Waiter? {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: index)
        }

        mutating func recordAcquire(milliseconds: Double, immediate: Bool) {
            acquires += 1
            if immediate { immediateAcquires += 1 }
            latencies[latencyCount % latencies.count] = milliseconds
            latencyCount += 1
        }

        func acquireLatencyPercentiles() -> (p50: Double, p99: Double) {
            let count = min(latencyCount, latencies.count)
            guard count > 0 else { return (0, 0) }
            let sorted = latencies[0..<count].sorted()
            func at(_ quantile: Double) -> Double {
                sorted[min(count - 1, Int((quantile * Double(count)).rounded(.up)) - 1)]
            }
            return (at(0.50), at(0.99))
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
