import Foundation
import Logging
import Testing
import WedSyncConnectionPool
import WedSyncRedis
import WedSyncTestSupport

@Suite("Redis across a server restart", .serialized, .timeLimit(.minutes(2)))
struct RedisRestartTests {
    @Test("Pub/sub resubscribes after redis-server restarts, and reports the gap")
    func resubscribes() async throws {
        let server = try await PrivateRedis.start()
        let configuration = try RedisConfiguration(url: server.url)
        let publisher = RedisClient(
            configuration: configuration,
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 1),
            logger: Logger(label: "test")
        )
        defer { Task { await publisher.shutdown() } }
        let subscriber = RedisSubscriber(
            configuration: configuration,
            channels: ["wedsync:invalidations"],
            heartbeat: .seconds(1),
            maximumBackoff: .milliseconds(200),
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscriber.run() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .subscribed)
            try await publisher.publish(Array("before".utf8), to: "wedsync:invalidations")
            #expect(
                await events.next()
                    == .message(channel: "wedsync:invalidations", pattern: nil, payload: Array("before".utf8))
            )

            try await server.restart()

            guard case .disconnected = await events.next() else {
                Issue.record("the drop was not reported")
                group.cancelAll()
                return
            }
            #expect(await events.next() == .subscribed)
            #expect(subscriber.isSubscribed)
            // The publisher's pooled connection died with the server; the pool replaces it on the next call.
            #expect(try await publisher.publish(Array("after".utf8), to: "wedsync:invalidations") == 1)
            #expect(
                await events.next()
                    == .message(channel: "wedsync:invalidations", pattern: nil, payload: Array("after".utf8))
            )
            group.cancelAll()
        }
    }

    @Test("A subscriber whose first node cannot be reached subscribes on the next one")
    func fallsBack() async throws {
        let server = try await PrivateRedis.start()
        let unreachable = RedisConfiguration(host: "127.0.0.1", port: try freePort())
        let subscriber = RedisSubscriber(
            configuration: unreachable,
            fallbacks: [try RedisConfiguration(url: server.url)],
            channels: ["wedsync:fallback"],
            heartbeat: .seconds(1),
            maximumBackoff: .milliseconds(100),
            logger: Logger(label: "test")
        )
        let publisher = RedisClient(
            configuration: try RedisConfiguration(url: server.url),
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 1),
            logger: Logger(label: "test")
        )
        defer { Task { await publisher.shutdown() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscriber.run() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .subscribed)
            try await publisher.publish(Array("hello".utf8), to: "wedsync:fallback")
            #expect(
                await events.next() == .message(channel: "wedsync:fallback", pattern: nil, payload: Array("hello".utf8))
            )
            group.cancelAll()
        }
    }

    @Test("The client works again as soon as the server is back")
    func clientRecovers() async throws {
        let server = try await PrivateRedis.start()
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: server.url),
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 2),
            logger: Logger(label: "test")
        )
        defer { Task { await redis.shutdown() } }
        try await redis.set("k", value: [1])
        try await server.stop()
        do {
            _ = try await redis.get("k")
            Issue.record("a command succeeded with the server stopped")
        } catch let error as RedisError {
            #expect(error.isConnectionFailure)
        }
        try await server.start()
        #expect(try await redis.get("k") == nil, "a restarted server without persistence is empty")
        try await redis.set("k", value: [2])
        #expect(try await redis.get("k") == [2])
    }
}
