import Foundation
import Logging
import Synchronization
import Testing
import WedSyncConnectionPool
import WedSyncRedis
import WedSyncTestSupport

@Suite("Redis client against a real server", .timeLimit(.minutes(2)))
struct RedisClientTests {
    static func makeClient(
        url: String? = nil,
        maximum: Int = 4,
        commandTimeout: Duration = .seconds(2),
        acquireTimeout: Duration = .seconds(5)
    ) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: try url ?? TestEnvironment.redisURL())
        configuration.commandTimeout = commandTimeout
        return RedisClient(
            configuration: configuration,
            poolConfiguration: ConnectionPoolConfiguration(
                minimumConnections: 0,
                maximumConnections: maximum,
                acquireTimeout: acquireTimeout
            ),
            logger: Logger(label: "test")
        )
    }

    @Test("Values are binary-safe and expire with their TTL")
    func binarySafe() async throws {
        let redis = try Self.makeClient()
        defer { Task { await redis.shutdown() } }
        let key = TestEnvironment.uniqueName("binary")
        let value = (0...255).map { UInt8($0) } + Array("\r\n$-1\r\n".utf8)
        try await redis.set(key, value: value)
        #expect(try await redis.get(key) == value)
        let keyWithNewline = key + "\r\nSET injected 1"
        try await redis.set(keyWithNewline, value: [0])
        #expect(try await redis.get(keyWithNewline) == [0])
        #expect(try await redis.get("injected") == nil)
        // A TTL is set as given (a long one, so a loaded machine cannot outlast it before it is read) and expires.
        try await redis.set(key + ":ttl", value: [1], ttl: .seconds(60))
        #expect(try await redis.get(key + ":ttl") == [1])
        let ttl = try await redis.send("PTTL", RedisArgument(key + ":ttl")).int ?? -1
        #expect(ttl > 0 && ttl <= 60_000)
        try await redis.set(key + ":short", value: [1], ttl: .seconds(1))
        #expect(await eventually(timeout: .seconds(15)) { (try? await redis.get(key + ":short")) == .some(nil) })
        #expect(try await redis.delete([key, keyWithNewline, key + ":ttl", key + ":missing"]) == 3)
    }

    @Test("A pipeline answers every command in order, error replies in place")
    func pipeline() async throws {
        let redis = try Self.makeClient()
        defer { Task { await redis.shutdown() } }
        let key = TestEnvironment.uniqueName("pipe")
        var commands: [[RedisArgument]] = (0..<100).map { _ in ["INCR", RedisArgument(key)] }
        commands.insert(["HGET", RedisArgument(key), "field"], at: 50)
        let replies = try await redis.pipeline(commands)
        #expect(replies.count == 101)
        #expect(replies[0] == .integer(1))
        #expect(replies[49] == .integer(50))
        if case .error(let message) = replies[50] {
            #expect(message.hasPrefix("WRONGTYPE"))
        } else {
            Issue.record("expected an error reply, got \(replies[50])")
        }
        #expect(replies[100] == .integer(100))
        do {
            _ = try await redis.send("HGET", RedisArgument(key), "field")
            Issue.record("WRONGTYPE was not thrown")
        } catch let error as RedisError {
            #expect(error.code == .server)
        }
    }

    @Test("Scripts run by SHA1, and are loaded again after the server forgets them")
    func scripts() async throws {
        let redis = try Self.makeClient(maximum: 1)
        defer { Task { await redis.shutdown() } }
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        let key = TestEnvironment.uniqueName("script")
        #expect(try await redis.evaluate(script, keys: [key], arguments: [5]) == .integer(5))
        let loadedBefore = try await Self.scriptLoads(redis)
        #expect(try await redis.evaluate(script, keys: [key], arguments: [5]) == .integer(10))
        #expect(try await Self.scriptLoads(redis) == loadedBefore, "the second call should send only the SHA1")
        _ = try await redis.send("SCRIPT", "FLUSH")
        #expect(try await redis.evaluate(script, keys: [key], arguments: [1]) == .integer(11))
    }

    /// How many times `SCRIPT LOAD` has run on the server.
    static func scriptLoads(_ redis: RedisClient) async throws -> Int {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_script|load:") }
        return line.flatMap { $0.split(separator: "calls=").last?.split(separator: ",").first }.flatMap { Int($0) } ?? 0
    }

    @Test("A password-protected server needs AUTH, which the URL carries")
    func authentication() async throws {
        let server = try await PrivateRedis.start()
        let admin = try Self.makeClient(url: server.url)
        _ = try await admin.send("CONFIG", "SET", "requirepass", "wedding-secret-42")
        await admin.shutdown()

        let anonymous = try Self.makeClient(url: server.url)
        defer { Task { await anonymous.shutdown() } }
        await #expect(throws: RedisError.self) { _ = try await anonymous.send("PING") }

        let wrong = try Self.makeClient(url: "redis://:not-it@127.0.0.1:\(server.port)")
        defer { Task { await wrong.shutdown() } }
        do {
            _ = try await wrong.send("PING")
            Issue.record("a wrong password was accepted")
        } catch let error as RedisError {
            #expect(error.code == .connectionFailed)
            #expect(!error.description.contains("not-it"))
        }

        let authorised = try Self.makeClient(url: "redis://:wedding-secret-42@127.0.0.1:\(server.port)")
        defer { Task { await authorised.shutdown() } }
        #expect(try await authorised.send("PING") == .simpleString("PONG"))
    }

    @Test("200 concurrent callers share at most the pool's maximum of connections")
    func maximumUnderLoad() async throws {
        let redis = try Self.makeClient(maximum: 6, acquireTimeout: .seconds(60))
        defer { Task { await redis.shutdown() } }
        let name = TestEnvironment.uniqueName("pooltest")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await redis.withConnection { connection in
                        _ = try await connection.send(["CLIENT", "SETNAME", RedisArgument(name)])
                        _ = try await connection.send(["SET", RedisArgument("\(name):\(index)"), RedisArgument(index)])
                    }
                }
            }
            try await group.waitForAll()
        }
        let clients = try await redis.send("CLIENT", "LIST").string ?? ""
        let named = clients.split(separator: "\n").filter { $0.contains("name=\(name)") }.count
        #expect(named >= 1 && named <= 6)
        #expect(redis.statistics.size <= 6)
        #expect(try await redis.get("\(name):199") == Array("199".utf8))
    }

    @Test("A command that outlives its timeout fails, and its connection is replaced")
    func commandTimeout() async throws {
        let server = try await PrivateRedis.start()
        let redis = try Self.makeClient(url: server.url, maximum: 1, commandTimeout: .milliseconds(200))
        defer { Task { await redis.shutdown() } }
        let start = ContinuousClock.now
        do {
            // The server would answer this after 30 s; the 200 ms timeout must end it long before.
            _ = try await redis.send("BLPOP", RedisArgument(TestEnvironment.uniqueName("empty-list")), "30")
            Issue.record("a 30 s command finished within a 200 ms timeout")
        } catch let error as RedisError {
            #expect(error.code == .connectionLost)
        }
        // A bound far from both the timeout and the server's answer, which a loaded machine cannot miss.
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(try await redis.send("PING") == .simpleString("PONG"))
        #expect(redis.statistics.connectionsClosed == 1)
    }

    @Test("A subscriber receives channel and pattern messages")
    func publishSubscribe() async throws {
        let redis = try Self.makeClient()
        defer { Task { await redis.shutdown() } }
        let channel = TestEnvironment.uniqueName("invalidations")
        let subscriber = RedisSubscriber(
            configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()),
            channels: [channel],
            patterns: ["\(channel):*"],
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscriber.run() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .subscribed)
            #expect(try await redis.publish(Array("tag:client-42".utf8), to: channel) == 1)
            #expect(
                await events.next() == .message(channel: channel, pattern: nil, payload: Array("tag:client-42".utf8))
            )
            try await redis.publish([0, 1, 2], to: "\(channel):org-7")
            #expect(
                await events.next()
                    == .message(channel: "\(channel):org-7", pattern: "\(channel):*", payload: [0, 1, 2])
            )
            group.cancelAll()
        }
    }
}
