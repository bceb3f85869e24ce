import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WedSyncServiceKit

@Suite("Background work: jobs a request starts, run by a service and drained at shutdown")
struct BackgroundWorkTests {
    /// A gate jobs wait at until the test opens it.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let open = state.withLock { state -> Bool in
                    if state.open { return true }
                    state.waiters.append(waiter)
                    return false
                }
                if open { waiter.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    static func running(_ work: BackgroundWork) -> (ServiceGroup, Task<Void, any Error>) {
        let group = ServiceGroup(configuration: .init(services: [work], logger: Logger(label: "test")))
        return (group, Task { try await group.run() })
    }

    @Test("Jobs run; a key already queued or running is refused; idle() returns once all are done")
    func keysAndIdle() async throws {
        let work = BackgroundWork(name: "test", logger: Logger(label: "test"))
        let (group, running) = Self.running(work)
        let gate = Gate()
        let ran = Mutex(0)
        #expect(
            work.submit(key: "a") {
                await gate.wait(); ran.withLock { $0 += 1 }
            }
        )
        #expect(!work.submit(key: "a") { ran.withLock { $0 += 100 } }, "a second job with the key was taken")
        #expect(work.submit(key: "b") { ran.withLock { $0 += 1 } })
        gate.open()
        await work.idle()
        #expect(ran.withLock { $0 } == 2)
        #expect(work.statistics.refused == 1 && work.statistics.completed == 2)
        // Done, the key is free again.
        #expect(work.submit(key: "a") { ran.withLock { $0 += 1 } })
        await work.idle()
        #expect(ran.withLock { $0 } == 3)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("At shutdown, queued and running jobs finish before run() returns; then submissions are refused")
    func drainedAtShutdown() async throws {
        let work = BackgroundWork(
            name: "test",
            configuration: .init(concurrency: 1, drainTimeout: .seconds(60)),
            logger: Logger(label: "test")
        )
        let (group, running) = Self.running(work)
        let gate = Gate()
        let finished = Mutex<[Int]>([])
        for index in 0..<5 {
            #expect(
                work.submit {
                    await gate.wait(); finished.withLock { $0.append(index) }
                }
            )
        }
        await group.triggerGracefulShutdown()
        gate.open()
        try await running.value
        #expect(finished.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(!work.submit { finished.withLock { $0.append(99) } }, "a job was taken after the service stopped")
        #expect(work.statistics.dropped == 0)
    }

    @Test("Past the drain timeout, a running job is cancelled and queued ones are dropped, each onDrop called")
    func drainTimeout() async throws {
        let work = BackgroundWork(
            name: "test",
            configuration: .init(concurrency: 1, drainTimeout: .milliseconds(50)),
            logger: Logger(label: "test")
        )
        let (group, running) = Self.running(work)
        let started = Gate()
        let cancelled = Mutex(false)
        let dropped = Mutex(0)
        #expect(
            work.submit {
                started.open()
                // Only cancellation ends this job.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                cancelled.withLock { $0 = true }
            }
        )
        await started.wait()
        for _ in 0..<3 {
            #expect(work.submit(onDrop: { dropped.withLock { $0 += 1 } }) {})
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(cancelled.withLock { $0 })
        #expect(dropped.withLock { $0 } == 3)
        #expect(work.statistics.dropped == 3)
    }
}
