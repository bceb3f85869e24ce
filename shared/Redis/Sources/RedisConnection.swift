import NIOPosix
import Synchronization
import WedSyncConnectionPool

/// One pooled Redis connection; its blocking hiredis calls run on the client's thread pool.
public final class RedisConnection: PoolableConnection {
    private let context: Mutex<HiredisContext>
    private let threadPool: NIOThreadPool

    private init(context: HiredisContext, threadPool: NIOThreadPool) {
        self.context = Mutex(context)
        self.threadPool = threadPool
    }

    static func connect(configuration: RedisConfiguration, threadPool: NIOThreadPool) async throws -> RedisConnection {
        let context = try await run(on: threadPool) { () throws(RedisError) -> HiredisContext in
            try HiredisContext.connect(configuration, commandTimeout: configuration.commandTimeout)
        }
        return RedisConnection(context: context, threadPool: threadPool)
    }

    /// Sends one command and returns its reply; an error reply throws ``RedisError/Code/server``.
    public func send(_ arguments: [RedisArgument]) async throws -> RedisValue {
        try await Self.run(on: threadPool) { () throws(RedisError) -> RedisValue in
            try self.context.withLock { (context) throws(RedisError) -> RedisValue in try context.command(arguments) }
        }
    }

    /// Sends the commands in one write and reads their replies in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await Self.run(on: threadPool) { () throws(RedisError) -> [RedisValue] in
            try self.context.withLock { (context) throws(RedisError) -> [RedisValue] in try context.pipeline(commands) }
        }
    }

    public var isUsable: Bool {
        context.withLock { context in
            // An idle connection is never spoken to unprompted: a readable socket means the server closed it.
            context.isHealthy && !context.waitReadable(timeout: .zero)
        }
    }

    public func close() {
        context.withLock { $0.free() }
    }

    /// Runs `body` on the thread pool. Throws ``RedisError``s, or `CancellationError` when the calling task was
    /// cancelled before a thread picked the work up.
    private static func run<Result: Sendable>(
        on threadPool: NIOThreadPool,
        _ body: @escaping @Sendable () throws(RedisError) -> Result
    ) async throws -> Result {
        do {
            return try await threadPool.runIfActive { try body() }
        } catch let error as RedisError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw RedisError(.shutdown, "the client's threads have stopped")
        }
    }
}
