import NIOCore
import NIOPosix
import WedSyncConnectionPool

/// One pooled Redis connection: RESP2 over a NIO channel. A command is written on the connection's event loop and
/// its reply completes the caller there, so no thread is parked per command; a connection opened from a task that
/// runs on an event loop lives on that loop.
public final class RedisConnection: PoolableConnection {
    private let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let broken: RedisChannelHandler.Broken

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, broken: RedisChannelHandler.Broken) {
        self.channel = channel
        self.handler = handler
        self.broken = broken
    }

    /// Connects, authenticates and selects the database, on the caller's event loop when it runs on one of
    /// `group`'s.
    static func connect(configuration: RedisConfiguration, group: any EventLoopGroup) async throws -> RedisConnection {
        let eventLoop = group.any()
        let timeout = TimeAmount.nanoseconds(Int64(configuration.commandTimeout / .nanoseconds(1)))
        let connection: RedisConnection
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout / .nanoseconds(1))))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: timeout))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .flatMapThrowing { channel in
                    let handler = try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
                    return RedisConnection(
                        channel: channel,
                        handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                        broken: handler.broken
                    )
                }
                .get()
        } catch {
            throw RedisError(.connectionFailed, "\(configuration): \(error)")
        }
        do {
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let username = configuration.username { auth.append(RedisArgument(username)) }
                auth.append(RedisArgument(password))
                _ = try await connection.send(auth)
            }
            if configuration.database != 0 {
                _ = try await connection.send(["SELECT", RedisArgument(configuration.database)])
            }
        } catch let error as RedisError {
            connection.close()
            throw RedisError(.connectionFailed, "\(configuration): \(error.message)")
        }
        return connection
    }

    /// Sends one command and returns its reply; an error reply throws ``RedisError/Code/server``.
    public func send(_ arguments: [RedisArgument]) async throws -> RedisValue {
        let value = try await submit([arguments])[0]
        if case .error(let message) = value { throw RedisError.reply(message) }
        return value
    }

    /// Sends the commands in one write and reads their replies in order. Error replies stay in place as
    /// ``RedisValue/error(_:)``.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await submit(commands)
    }

    private func submit(_ commands: [[RedisArgument]]) async throws(RedisError) -> [RedisValue] {
        let eventLoop = channel.eventLoop
        var buffer = channel.allocator.buffer(capacity: RESP.encodedSize(commands))
        for arguments in commands { RESP.write(arguments, into: &buffer) }
        let promise = eventLoop.makePromise(of: [RedisValue].self)
        let (handler, count) = (self.handler, commands.count)
        if eventLoop.inEventLoop {
            handler.value.send(buffer, count: count, promise: promise)
        } else {
            eventLoop.execute { handler.value.send(buffer, count: count, promise: promise) }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionLost, "the connection failed: \(error)")
        }
    }

    public var eventLoopIdentity: ObjectIdentifier? {
        ObjectIdentifier(channel.eventLoop)
    }

    public var isUsable: Bool {
        !broken.value && channel.isActive
    }

    public func close() {
        channel.close(promise: nil)
    }
}
