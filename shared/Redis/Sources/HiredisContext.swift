import CHiredis
import Foundation

/// A hiredis connection: the only place that touches hiredis. Every call blocks; callers run them on their own
/// threads (``RedisSubscriber`` on its own thread; commands go through ``RedisConnection`` on NIO).
///
/// hiredis 0.14 speaks RESP2 and has no TLS; after any I/O error or timeout its context is dead, so the owner
/// drops it and connects afresh.
struct HiredisContext: @unchecked Sendable {
    private(set) var context: UnsafeMutablePointer<redisContext>?

    /// Connects, authenticates and selects the database.
    static func connect(_ configuration: RedisConfiguration, commandTimeout: Duration?) throws(RedisError)
        -> HiredisContext
    {
        guard
            let context = redisConnectWithTimeout(
                configuration.host,
                Int32(configuration.port),
                makeTimeval(configuration.connectTimeout)
            )
        else {
            throw RedisError(.connectionFailed, "hiredis could not allocate a context")
        }
        var connection = HiredisContext(context: context)
        if context.pointee.err != 0 {
            let message = connection.errorMessage
            connection.free()
            throw RedisError(.connectionFailed, "\(configuration): \(message)")
        }
        if let commandTimeout {
            redisSetTimeout(context, makeTimeval(commandTimeout))
        }
        redisEnableKeepAlive(context)
        do {
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let username = configuration.username { auth.append(RedisArgument(username)) }
                auth.append(RedisArgument(password))
                _ = try connection.command(auth)
            }
            if configuration.database != 0 {
                _ = try connection.command(["SELECT", RedisArgument(configuration.database)])
            }
        } catch {
            connection.free()
            throw RedisError(.connectionFailed, "\(configuration): \(error.message)")
        }
        return connection
    }

    /// The socket, for polling.
    var fileDescriptor: Int32 { context?.pointee.fd ?? -1 }

    /// Whether the context can still be used (no I/O error so far).
    var isHealthy: Bool {
        guard let context else { return false }
        return context.pointee.err == 0
    }

    /// Sends one command and waits for its reply. A top-level error reply throws ``RedisError/Code/server``.
    mutating func command(_ arguments: [RedisArgument]) throws(RedisError) -> RedisValue {
        guard let context, context.pointee.err == 0 else {
            throw RedisError(.connectionLost, "the connection is closed")
        }
        let raw = Self.withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw RedisError(.connectionLost, errorMessage) }
        defer { freeReplyObject(raw) }
        let value = Self.value(of: raw.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value { throw RedisError.reply(message) }
        return value
    }

    /// Queues a command in the output buffer and writes the buffer out (used by the subscriber, which reads
    /// replies as they come).
    mutating func send(_ arguments: [RedisArgument]) throws(RedisError) {
        guard let context, context.pointee.err == 0 else {
            throw RedisError(.connectionLost, "the connection is closed")
        }
        let status = Self.withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        guard status == REDIS_OK else { throw RedisError(.connectionLost, errorMessage) }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw RedisError(.connectionLost, errorMessage) }
        }
    }

    /// Reads what the socket has (call after `poll` says it is readable) and returns every complete reply.
    mutating func readAvailable() throws(RedisError) -> [RedisValue] {
        guard let context else { throw RedisError(.connectionLost, "the connection is closed") }
        guard redisBufferRead(context) == REDIS_OK else { throw RedisError(.connectionLost, errorMessage) }
        var replies: [RedisValue] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else {
                throw RedisError(.connectionLost, errorMessage)
            }
            guard let raw else { return replies }
            replies.append(Self.value(of: raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
    }

    /// Whether the socket has bytes to read within `timeout` (or has been closed by the peer).
    func waitReadable(timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: Int(timeout / .milliseconds(1)))
        return poll(&descriptor, 1, milliseconds) > 0
    }

    mutating func free() {
        if let context { redisFree(context) }
        context = nil
    }

    var errorMessage: String {
        guard let context else { return "the connection is closed" }
        let message = withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? "the connection failed" : message
    }

    // MARK: Conversions

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            guard let bytes = reply.str else { return .bulkString([]) }
            return .bulkString(Array(UnsafeRawBufferPointer(start: bytes, count: reply.len)))
        case REDIS_REPLY_STATUS:
            return .simpleString(reply.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(reply.str.map { String(cString: $0) } ?? "ERR")
        case REDIS_REPLY_INTEGER:
            return .integer(Int(reply.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = reply.element else { return .array([]) }
            return .array((0..<reply.elements).map { index in value(of: elements[index]!) })
        default:
            return .null
        }
    }

    /// Lays the arguments out as hiredis' `argc`/`argv`/`argvlen`, binary-safe (no C strings).
    private static func withArgv<Result>(
        _ arguments: [RedisArgument],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        let total = arguments.reduce(0) { $0 + $1.bytes.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            let destination = storage.baseAddress! + offset
            argument.bytes.withUnsafeBytes { source in
                if let base = source.baseAddress { destination.copyMemory(from: base, byteCount: source.count) }
            }
            pointers.append(UnsafePointer(destination.assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.bytes.count)
            offset += argument.bytes.count
        }
        return pointers.withUnsafeMutableBufferPointer { pointers in
            lengths.withUnsafeBufferPointer { lengths in
                body(Int32(arguments.count), pointers.baseAddress!, lengths.baseAddress!)
            }
        }
    }
}

private func makeTimeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
