import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import WedSyncCacheKit
import WedSyncConnectionPool
import WedSyncModels
import WedSyncRedis
import WedSyncTestSupport

@Suite("Redis Cluster: routing, redirections and the cache on three primaries", .serialized, .timeLimit(.minutes(3)))
struct RedisClusterTests {
    static func client(_ urls: String) throws -> RedisClusterClient {
        RedisClusterClient(
            seeds: try RedisConfiguration.seeds(from: urls),
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 4),
            logger: Logger(label: "test")
        )
    }

    @Test("Keys spread over every primary and each is read back from the node that owns its slot")
    func routing() async throws {
        let urls = try TestEnvironment.redisClusterURLs()
        let cluster = try Self.client(urls)
        let prefix = uniqueNamespace("route")
        for index in 0..<300 {
            _ = try await cluster.send(
                ["SET", RedisArgument("\(prefix):\(index)"), RedisArgument(String(index))],
                routingKey: "\(prefix):\(index)"
            )
        }
        for index in stride(from: 0, to: 300, by: 7) {
            #expect(
                try await cluster.send(["GET", RedisArgument("\(prefix):\(index)")], routingKey: "\(prefix):\(index)")
                    .string == String(index)
            )
        }
        // Every primary holds some of them: the slots really are spread.
        for seed in try RedisConfiguration.seeds(from: urls) {
            let node = RedisClient(
                configuration: seed,
                poolConfiguration: .init(minimumConnections: 0, maximumConnections: 1),
                logger: Logger(label: "test")
            )
            let keys = try await node.scanKeys(matching: "\(prefix):*", count: 1000)
            #expect(keys.count > 50, "node \(seed.port) holds \(keys.count) keys")
            await node.shutdown()
        }
        #expect(try await cluster.scanKeys(matching: "\(prefix):*", count: 1000).count == 300)
        #expect(cluster.redirections.moved == 0)
        await cluster.shutdown()
    }

    @Test(
        "Run as a service, the cluster client runs every node's pool (each filled to its minimum); a scan lists every key of every primary once"
    )
    func nodePoolsAndScan() async throws {
        let cluster = RedisClusterClient(
            seeds: try RedisConfiguration.seeds(from: try TestEnvironment.redisClusterURLs()),
            poolConfiguration: .init(
                minimumConnections: 2,
                maximumConnections: 4,
                maintenanceInterval: .milliseconds(50)
            ),
            logger: Logger(label: "test")
        )
        let runner = Task { try await cluster.run() }
        let prefix = uniqueNamespace("scan")
        for index in 0..<200 {
            _ = try await cluster.send(
                ["SET", RedisArgument("\(prefix):\(index)"), "1"],
                routingKey: "\(prefix):\(index)"
            )
        }
        // Used one command at a time, each pool opened one connection; its maintenance opens the second.
        let filled = await eventually(timeout: .seconds(15)) {
            let pools = cluster.nodeStatistics
            return pools.count == 3 && pools.values.allSatisfy { $0.size >= 2 }
        }
        #expect(filled, "\(cluster.nodeStatistics.mapValues(\.size))")
        let keys = try await cluster.scanKeys(matching: "\(prefix):*", count: 100)
        #expect(keys == (0..<200).map { "\(prefix):\($0)" }.sorted())
        runner.cancel()
        await cluster.shutdown()
    }

    @Test("MOVED after a slot changes owner, ASK while it migrates: both followed, the map refreshed")
    func redirections() async throws {
        let cluster = try await PrivateRedisCluster.start()
        let client = try Self.client(cluster.urls)
        let runner = Task { try await client.run() }
        defer { runner.cancel() }
        let key = "migrating-key"
        let slot = RedisClusterSlot.of(key)
        _ = try await client.send(["SET", RedisArgument(key), "before"], routingKey: key)
        let source = try await cluster.owner(of: slot)
        let target = cluster.ports.first { $0 != source }!
        let sourceID = try await cluster.nodeID(source)
        let targetID = try await cluster.nodeID(target)

        // Mid-migration: the key has moved to the target, the slot is still the source's, which answers ASK.
        try await cluster.cli(target, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID)
        try await cluster.cli(source, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID)
        try await cluster.cli(source, "MIGRATE", "127.0.0.1", String(target), "", "0", "5000", "KEYS", key)
        #expect(try await client.send(["GET", RedisArgument(key)], routingKey: key).string == "before")
        _ = try await client.send(["SET", RedisArgument("{\(key)}:new"), "during"], routingKey: "{\(key)}:new")
        #expect(client.redirections.asked >= 2)
        #expect(client.redirections.moved == 0)

        // The migration completes: the source now answers MOVED, once; then the refreshed map goes straight there.
        for port in [target, source] + cluster.ports.filter({ $0 != source && $0 != target }) {
            try await cluster.cli(port, "CLUSTER", "SETSLOT", String(slot), "NODE", targetID)
        }
        #expect(
            try await client.send(["GET", RedisArgument("{\(key)}:new")], routingKey: "{\(key)}:new").string == "during"
        )
        #expect(client.redirections.moved == 1)
        #expect(await eventually(timeout: .seconds(15)) { client.redirections.refreshes >= 2 })
        #expect(try await client.send(["GET", RedisArgument(key)], routingKey: key).string == "before")
        #expect(client.redirections.moved == 1, "the refreshed map routes directly")
        await client.shutdown()
    }

    @Test("The cache on a cluster: entries, tags across processes, prefixes on every primary, single flight")
    func cacheOnCluster() async throws {
        let urls = try TestEnvironment.redisClusterURLs()
        let seeds = try RedisConfiguration.seeds(from: urls)
        func process() -> (MultiTierCache, RedisClusterClient) {
            let router = try! Self.client(urls)
            let cache = MultiTierCache(
                configuration: .init(defaultPolicy: NamespacePolicy(ttl: 60), ttlJitter: 0, backplane: seeds[1]),
                l2: RedisL2Store(redis: router),
                logger: Logger(label: "test")
            )
            return (cache, router)
        }
        let (a, routerA) = process()
        let (b, routerB) = process()
        let runners = [Task { try await a.run() }, Task { try await b.run() }]
        defer { for runner in runners { runner.cancel() } }
        #expect(await eventually(timeout: .seconds(10)) { a.isBackplaneLive && b.isBackplaneLive })

        let namespace = uniqueNamespace("cluster")
        let addresses = try (0..<60).map { try CacheAddress(namespace: namespace, key: "day-\($0)") }
        for (index, address) in addresses.enumerated() {
            let tiers = try await a.set(
                address,
                body: ByteBuffer(string: "v\(index)"),
                contentType: "text/plain",
                tags: ["org:\(namespace)", "day:\(index)"]
            )
            #expect(tiers == [.l1, .l2])
        }
        for (index, address) in addresses.enumerated() {
            let lookup = try await b.get(address)
            #expect(lookup?.tier == .l2)
            #expect(lookup.map { String(buffer: $0.entry.body) } == "v\(index)")
        }
        await a.invalidate(InvalidationRequest(tags: ["day:3"]))
        #expect(await eventually(timeout: CacheRedisTests.bound) { (try? await b.get(addresses[3])) == nil })
        #expect(try await b.get(addresses[4]) != nil)

        let sweptBefore = a.statistics().sweptByPrefix
        let removed = await a.invalidate(InvalidationRequest(prefixes: ["\(namespace)/day-1"]))
        #expect(removed.invalidatedPrefixes == 1)
        // Swept from every node in the background: day-1 and day-10 ... day-19.
        #expect(
            await eventually(timeout: .seconds(120)) { a.statistics().sweptByPrefix - sweptBefore == 11 },
            "\(a.statistics().sweptByPrefix - sweptBefore)"
        )
        #expect(await eventually(timeout: CacheRedisTests.bound) { (try? await b.get(addresses[15])) == nil })

        await a.invalidate(InvalidationRequest(tags: ["org:\(namespace)"]))
        #expect(await eventually(timeout: CacheRedisTests.bound) { (try? await b.get(addresses[40])) == nil })

        let calls = Counter()
        let hot = try CacheAddress(namespace: namespace, key: "hot")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    _ = try await a.get(hot) {
                        calls.increment()
                        try await Task.sleep(for: .milliseconds(100))
                        return CacheLoad(body: ByteBuffer(string: "hot"))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(calls.value == 1)
        #expect(try await b.get(hot)?.tier == .l2)
        for runner in runners { runner.cancel() }
        await routerA.shutdown()
        await routerB.shutdown()
    }
}
