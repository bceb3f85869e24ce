import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import WedSyncConnectionPool

/// A pooled client for one Redis server.
///
/// ```swift
/// let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), logger: logger)
/// try await redis.set("wedding:42", value: bytes, ttl: .seconds(60))
/// let cached = try await redis.get("wedding:42")
/// ```
/// Connections speak RESP2 on NIO's event loops (``RedisConnection``): a command parks no thread, and a caller
/// running on an event loop is answered there. Run the client as a `Service` so idle connections are reaped and
/// everything closes on graceful shutdown.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    private let pool: ConnectionPool<Factory>

    /// A client whose connections run on `group` (NIO's shared loops unless given).
    public init(
        configuration: RedisConfiguration,
        poolConfiguration: ConnectionPoolConfiguration = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.pool = ConnectionPool(
            name: "redis",
            configuration: poolConfiguration,
            factory: Factory(configuration: configuration, group: group),
            logger: logger
        )
    }

    // MARK: Service

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.pool.runMaintenance()
        }
        await shutdown()
    }

    /// Closes the client, for callers that do not run it as a `Service`.
    public func shutdown() async {
        pool.shutdown()
    }

    // MARK: Commands

    /// Sends any command: `try await redis.send(["HSET", "k", "f", "v"])`.
    public func send(_ arguments: [RedisArgument]) async throws -> RedisValue {
        try await withConnection { connection in try await connection.send(arguments) }
    }

    /// Sends any command: `try await redis.send("INCRBY", "counter", 5)`.
    public func send(_ arguments: RedisArgument...) async throws -> RedisValue {
        try await send(arguments)
    }

    /// Sends several commands in one round trip; error replies are returned in place, not thrown.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        try await withConnection { connection in try await connection.pipeline(commands) }
    }

    /// The value of `key`, or `nil` when it does not exist.
    public func get(_ key: String) async throws -> [UInt8]? {
        try await send("GET", RedisArgument(key)).bytes
    }

    /// Sets `key` to `value`, expiring after `ttl` when given (millisecond precision).
    public func set(_ key: String, value: [UInt8], ttl: Duration? = nil) async throws {
        var arguments: [RedisArgument] = ["SET", RedisArgument(key), RedisArgument(value)]
        if let ttl {
            arguments += ["PX", RedisArgument(max(1, Int(ttl / .milliseconds(1))))]
        }
        _ = try await send(arguments)
    }

    /// Deletes keys; returns how many existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await send([RedisArgument("DEL")] + keys.map { RedisArgument($0) }).int ?? 0
    }

    /// Publishes a message; returns how many subscribers received it.
    @discardableResult
    public func publish(_ message: [UInt8], to channel: String) async throws -> Int {
        try await send("PUBLISH", RedisArgument(channel), RedisArgument(message)).int ?? 0
    }

    /// Runs a Lua script by its SHA1 (`EVALSHA`), loading it first when the server does not have it (first use,
    /// or after a restart flushed the script cache).
    public func evaluate(_ script: RedisScript, keys: [String] = [], arguments: [RedisArgument] = []) async throws
        -> RedisValue
    {
        try await withConnection { connection in
            let tail = [RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments
            if let sha = script.sha {
                do {
                    return try await connection.send([RedisArgument("EVALSHA"), RedisArgument(sha)] + tail)
                } catch let error as RedisError where error.replyKind == "NOSCRIPT" {
                    // The server forgot it: load it again below.
                }
            }
            guard let sha = try await connection.send(["SCRIPT", "LOAD", RedisArgument(script.source)]).string else {
                throw RedisError(.unexpectedReply, "SCRIPT LOAD did not answer a SHA1")
            }
            script.remember(sha: sha)
            return try await connection.send([RedisArgument("EVALSHA"), RedisArgument(sha)] + tail)
        }
    }

    /// One round trip, for readiness checks.
    public func ping() async throws {
        _ = try await send("PING")
    }

    /// Lends a connection to `body` (for a sequence of commands on one connection, e.g. `WATCH`/`MULTI`/`EXEC`).
    public func withConnection<Result>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        do {
            return try await pool.withConnection(
                reusableAfter: { !(($0 as? RedisError)?.isConnectionFailure ?? false) },
                body
            )
        } catch let error as ConnectionPoolError {
            throw RedisError(error.code == .acquireTimeout ? .poolTimeout : .shutdown, error.description)
        }
    }

    /// Size, use, waiters and acquire latency of the pool now.
    public var statistics: ConnectionPoolStatistics { pool.statistics }
}

extension RedisClient {
    struct Factory: ConnectionFactory {
        let configuration: RedisConfiguration
        let group: any EventLoopGroup

        func makeConnection() async throws -> RedisConnection {
            try await RedisConnection.connect(configuration: configuration, group: group)
        }

        func ping(_ connection: RedisConnection) async -> Bool {
            (try? await connection.send(["PING"])) != nil
        }
    }
}
