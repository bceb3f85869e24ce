import NIOCore

/// A task executor that runs every job on one event loop: a connection's request handling, started with this as
/// its preference, stays on the thread that reads and writes its socket, and on which its upstream connections
/// answer, instead of crossing to the cooperative pool and back at every await.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The executor the current request's handling runs on, if any: unstructured tasks it starts for its own work
    /// can keep to it (`Task(executorPreference:)`).
    @TaskLocal public static var current: EventLoopTaskExecutor?

    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Runs `body` with an executor of `eventLoop` as its preference and as ``current``: what it awaits, and the
    /// child tasks it starts, resume on that loop.
    static func running(on eventLoop: any EventLoop, _ body: () async -> Void) async {
        let executor = EventLoopTaskExecutor(eventLoop)
        await $current.withValue(executor) {
            await withTaskExecutorPreference(executor) {
                await body()
            }
        }
    }
}
