import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WedSyncConnectionPool
import WedSyncTestSupport

/// The pool's logic, over an in-memory connection (the real clients are covered by the integration tests).
@Suite("Connection pool logic", .timeLimit(.minutes(1)))
struct ConnectionPoolTests {
    final class FakeConnection: PoolableConnection {
        let id: Int
        let usable = Atomic(true)
        let closed = Atomic(false)
        /// The event loop it was opened on, when it was opened on one.
        let eventLoopIdentity: ObjectIdentifier?
        init(id: Int) {
            self.id = id
            self.eventLoopIdentity = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        }
        var isUsable: Bool { usable.load(ordering: .relaxed) && !isClosed }
        var isClosed: Bool { closed.load(ordering: .relaxed) }
        func close() { closed.store(true, ordering: .relaxed) }
    }

    struct FakeError: Error {}

    /// Counters shared by concurrent borrowers.
    final class Tally: Sendable {
        let inUse = Atomic(0)
        let peak = Atomic(0)
        let order = Mutex<[Int]>([])
    }

    final class FakeFactory: ConnectionFactory {
        let opened = Atomic(0)
        let failing = Atomic(false)
        let pings = Atomic(0)
        let pingSucceeds = Atomic(true)
        var pingCount: Int { pings.load(ordering: .relaxed) }
        var openedCount: Int { opened.load(ordering: .relaxed) }

        /// How long a failing connect takes before it fails.
        let failureDelayMilliseconds = Atomic(0)

        func makeConnection() async throws -> FakeConnection {
            if failing.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(failureDelayMilliseconds.load(ordering: .relaxed)))
                throw FakeError()
            }
            try await Task.sleep(for: .milliseconds(1))
            return FakeConnection(id: opened.add(1, ordering: .relaxed).newValue)
        }

        func ping(_ connection: FakeConnection) async -> Bool {
            pings.add(1, ordering: .relaxed)
            return pingSucceeds.load(ordering: .relaxed)
        }
    }

    func makePool(
        _ factory: FakeFactory,
        minimum: Int = 0,
        maximum: Int = 4,
        acquireTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(60),
        healthCheckAfterIdle: Duration = .seconds(30)
    ) -> ConnectionPool<FakeFactory> {
        ConnectionPool(
            name: "fake",
            configuration: ConnectionPoolConfiguration(
                minimumConnections: minimum,
                maximumConnections: maximum,
                acquireTimeout: acquireTimeout,
                idleTimeout: idleTimeout,
                healthCheckAfterIdle: healthCheckAfterIdle,
                maintenanceInterval: .milliseconds(10)
            ),
            factory: factory,
            logger: Logger(label: "test")
        )
    }

    /// At rest, every connection the pool counts is idle: no borrow, open or waiter was lost track of.
    func expectQuiescent(_ pool: ConnectionPool<FakeFactory>, sourceLocation: SourceLocation = #_sourceLocation) {
        let statistics = pool.statistics
        #expect(statistics.inUse == 0, "in use at rest", sourceLocation: sourceLocation)
        #expect(statistics.waiting == 0, "waiting at rest", sourceLocation: sourceLocation)
        #expect(
            statistics.size == statistics.idle,
            "size \(statistics.size) != idle \(statistics.idle)",
            sourceLocation: sourceLocation
        )
    }

    /// Polls `condition` until it holds (at most 10 s).
    func waitFor(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("200 concurrent borrowers never hold more than the maximum, and all are served")
    func maximumRespected() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, maximum: 4, acquireTimeout: .seconds(60))
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await pool.withConnection { _ in
                        let now = tally.inUse.add(1, ordering: .relaxed).newValue
                        tally.peak.max(now, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(2))
                        tally.inUse.subtract(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        let highest = tally.peak.load(ordering: .relaxed)
        #expect(highest == 4)
        #expect(factory.openedCount == 4)
        let statistics = pool.statistics
        #expect(statistics.acquires == 200)
        #expect(statistics.inUse == 0 && statistics.idle == 4 && statistics.waiting == 0)
        #expect(statistics.efficiency < 1)
        expectQuiescent(pool)
    }

    /// Runs a task's jobs on one event loop, as the gateway runs its handlers.
    final class LoopExecutor: TaskExecutor {
        let loop: any EventLoop
        init(_ loop: any EventLoop) { self.loop = loop }
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    @Test("A borrower on an event loop is lent a connection of its loop, opening one there while the pool has room")
    func eventLoopAffinity() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (first, second) = (LoopExecutor(loops[0]), LoopExecutor(loops[1]))
        let factory = FakeFactory()
        let pool = makePool(factory, maximum: 3)
        /// Borrows from a task on `executor`'s loop and gives the connection back; returns its id.
        func borrow(on executor: LoopExecutor?) async throws -> Int {
            try await withTaskExecutorPreference(executor) {
                try await pool.withConnection { connection in connection.id }
            }
        }
        let onFirst = try await borrow(on: first)
        let onSecond = try await borrow(on: second)
        #expect(onFirst != onSecond)
        #expect(factory.openedCount == 2)
        // The second loop's connection is the most recently used, yet the first loop gets its own back.
        #expect(try await borrow(on: first) == onFirst)
        #expect(try await borrow(on: second) == onSecond)
        #expect(try await borrow(on: first) == onFirst)
        // Off the loops, the most recently used is lent, as before.
        #expect(try await borrow(on: nil) == onFirst)
        #expect(factory.openedCount == 2)
        // A full pool lends another loop's idle connection rather than make the borrower wait.
        let third = LoopExecutor(loops[1])
        let holding = Tally()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for _ in 0..<3 {
                tasks.addTask(executorPreference: third) {
                    try await pool.withConnection { _ in
                        holding.inUse.add(1, ordering: .relaxed)
                        while holding.inUse.load(ordering: .relaxed) < 3 { try await Task.sleep(for: .milliseconds(1)) }
                    }
                }
            }
            try await tasks.waitForAll()
        }
        #expect(factory.openedCount == 3)
        expectQuiescent(pool)
        try await group.shutdownGracefully()
    }

    @Test("A borrower that waits longer than the acquire timeout gets a clear error")
    func acquireTimeout() async throws {
        let pool = makePool(FakeFactory(), maximum: 1, acquireTimeout: .milliseconds(50))
        let held = try await pool.acquire()
        let start = ContinuousClock.now
        await #expect(throws: ConnectionPoolError.self) {
            _ = try await pool.acquire()
        }
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        do {
            _ = try await pool.acquire()
        } catch let error as ConnectionPoolError {
            #expect(error.code == .acquireTimeout)
            #expect(error.description.contains("all 1 in use"))
        }
        #expect(pool.statistics.acquireTimeouts == 2)
        pool.release(held)
        let again = try await pool.acquire()
        #expect(again === held)
        pool.release(again)
        expectQuiescent(pool)
    }

    @Test("Waiters are served in arrival order when connections come back")
    func fifoWaiters() async throws {
        // Waiters line up one by one; on a machine busy with other tests that can take longer than the usual 5 s
        // acquire timeout, which would fail the first waiter rather than test the order.
        let pool = makePool(FakeFactory(), maximum: 1, acquireTimeout: .seconds(120))
        let held = try await pool.acquire()
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    try await pool.withConnection { _ in tally.order.withLock { $0.append(index) } }
                }
                while pool.statistics.waiting < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            pool.release(held)
            try await group.waitForAll()
        }
        let order = tally.order.withLock { $0 }
        #expect(order == [0, 1, 2, 3, 4])
        expectQuiescent(pool)
    }

    @Test("An unusable connection is closed and replaced, not lent out")
    func unusableReplaced() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, maximum: 2)
        let first = try await pool.acquire()
        pool.release(first)
        first.usable.store(false, ordering: .relaxed)
        let second = try await pool.acquire()
        #expect(second !== first)
        #expect(first.isClosed)
        #expect(pool.statistics.connectionsClosed == 1)
        pool.release(second, reusable: false)
        #expect(second.isClosed)
        #expect(pool.statistics.size == 0)
        expectQuiescent(pool)
    }

    @Test("A connection idle past the health-check delay is pinged; a failed ping replaces it")
    func pingAfterIdle() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, maximum: 1, healthCheckAfterIdle: .milliseconds(300))
        let first = try await pool.acquire()
        pool.release(first)
        let again = try await pool.acquire()
        #expect(again === first)
        #expect(factory.pingCount == 0)
        pool.release(again)
        try await Task.sleep(for: .milliseconds(600))
        factory.pingSucceeds.store(false, ordering: .relaxed)
        let replaced = try await pool.acquire()
        #expect(factory.pingCount == 1)
        #expect(replaced !== first)
        #expect(first.isClosed)
        pool.release(replaced)
        expectQuiescent(pool)
    }

    @Test("A failed connect frees its place for the next borrower")
    func connectFailure() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, maximum: 1)
        factory.failing.store(true, ordering: .relaxed)
        await #expect(throws: FakeError.self) { _ = try await pool.acquire() }
        #expect(pool.statistics.size == 0)
        #expect(pool.statistics.connectFailures == 1)
        factory.failing.store(false, ordering: .relaxed)
        let connection = try await pool.acquire()
        #expect(connection.id == 1)
        pool.release(connection)
        expectQuiescent(pool)
    }

    @Test("When the maintenance loop fails to open a connection, a borrower queued behind it is woken at once")
    func failedTopUpWakesWaiter() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, minimum: 1, maximum: 1, acquireTimeout: .seconds(30))
        factory.failing.store(true, ordering: .relaxed)
        factory.failureDelayMilliseconds.store(300, ordering: .relaxed)
        // The loop reserves the only place and spends 300 ms failing to fill it; a borrower arriving meanwhile
        // queues. Unless the failure hands it the place, every later tick reserves the place again first and the
        // borrower waits out its whole acquire timeout.
        let maintenance = Task { await pool.runMaintenance() }
        defer { maintenance.cancel() }
        #expect(await waitFor { pool.statistics.size == 1 })
        let start = ContinuousClock.now
        do {
            _ = try await pool.acquire()
            Issue.record("a failing factory produced a connection")
        } catch is FakeError {
            // The waiter tried for itself and saw the real failure, not a pool timeout.
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(pool.statistics.inUse == 0)
        #expect(pool.statistics.waiting == 0)
    }

    @Test("A borrower whose task is already cancelled is refused at once and never queued")
    func alreadyCancelled() async throws {
        let pool = makePool(FakeFactory(), maximum: 1, acquireTimeout: .seconds(30))
        let held = try await pool.acquire()
        let start = ContinuousClock.now
        let borrower = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.acquire()
        }
        await #expect(throws: CancellationError.self) { _ = try await borrower.value }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(pool.statistics.waiting == 0)
        pool.release(held)
        expectQuiescent(pool)
    }

    @Test("A cancelled waiter leaves the queue")
    func cancelledWaiter() async throws {
        let pool = makePool(FakeFactory(), maximum: 1)
        let held = try await pool.acquire()
        let waiter = Task { try await pool.acquire() }
        while pool.statistics.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(pool.statistics.waiting == 0)
        pool.release(held)
        #expect(pool.statistics.idle == 1)
        expectQuiescent(pool)
    }

    @Test("Maintenance opens the minimum and reaps idle connections above it")
    func maintenance() async throws {
        let factory = FakeFactory()
        let pool = makePool(factory, minimum: 2, maximum: 4, idleTimeout: .milliseconds(30))
        let maintenance = Task { await pool.runMaintenance() }
        defer { maintenance.cancel() }
        while pool.statistics.idle < 2 { try await Task.sleep(for: .milliseconds(2)) }
        let connections = [
            try await pool.acquire(), try await pool.acquire(), try await pool.acquire(), try await pool.acquire(),
        ]
        #expect(pool.statistics.size == 4)
        for connection in connections { pool.release(connection) }
        #expect(await waitFor { pool.statistics.size <= 2 })
        #expect(pool.statistics.size == 2)
    }

    @Test("Shutdown fails waiters, closes idle connections and refuses new borrowers")
    func shutdown() async throws {
        let pool = makePool(FakeFactory(), maximum: 1)
        let held = try await pool.acquire()
        let waiter = Task { try await pool.acquire() }
        while pool.statistics.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        pool.shutdown()
        await #expect(throws: ConnectionPoolError.self) { _ = try await waiter.value }
        await #expect(throws: ConnectionPoolError.self) { _ = try await pool.acquire() }
        pool.release(held)
        #expect(held.isClosed)
        #expect(pool.statistics.size == 0)
    }
}
