import Logging
import ServiceLifecycle
import Synchronization
import WedSyncConnectionPool

/// A client for a Redis Cluster: each command goes to the primary that serves its key's hash slot.
///
/// It learns the slot map with `CLUSTER SLOTS` from any reachable seed, keeps one pooled ``RedisClient`` per
/// primary, and follows the cluster's redirections: `MOVED` (the slot has a new owner: remember it, refresh the
/// whole map in the background, retry there) and `ASK` (the slot is migrating: send `ASKING` and the command to the
/// target once, without changing the map). A connection failure refreshes the map and retries once, so a failover
/// is followed as soon as the cluster has promoted a replica. Run as a `Service`, it runs each node's pool too (its
/// minimum of connections kept, idle ones let go), as a single ``RedisClient`` runs its own.
public final class RedisClusterClient: Service, Sendable {
    public let seeds: [RedisConfiguration]
    private let poolConfiguration: ConnectionPoolConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    /// Redirections followed and map refreshes, for tests and metrics.
    private let counters = Mutex((moved: 0, asked: 0, refreshes: 0))
    private let refreshRequests: AsyncStream<Void>
    private let requestRefresh: AsyncStream<Void>.Continuation
    /// Each node's client as it is made, for ``run()`` to run its pool's maintenance.
    private let madeNodes: AsyncStream<RedisClient>
    private let announceNode: AsyncStream<RedisClient>.Continuation
    static let maximumRedirections = 5

    private struct State {
        /// Slot → node address (`host:port`).
        var owners: [String?] = Array(repeating: nil, count: RedisClusterSlot.count)
        var nodes: [String: RedisClient] = [:]
        var stopped = false
        /// Refreshes started, and the latest one whose map was applied: an older map answered late is dropped.
        var refreshesStarted = 0
        var refreshApplied = 0
    }

    public init(seeds: [RedisConfiguration], poolConfiguration: ConnectionPoolConfiguration = .init(), logger: Logger) {
        precondition(!seeds.isEmpty, "a cluster client needs at least one seed node")
        self.seeds = seeds
        self.poolConfiguration = poolConfiguration
        self.logger = logger
        (refreshRequests, requestRefresh) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (madeNodes, announceNode) = AsyncStream.makeStream()
    }

    /// Keeps the slot map current (every 30 s, and soon after each `MOVED`) and runs every node's pool, until
    /// graceful shutdown.
    public func run() async throws {
        try? await refreshSlots()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(30))
                        try? await self.refreshSlots()
                    }
                }
                group.addTask {
                    for await _ in self.refreshRequests {
                        try? await self.refreshSlots()
                    }
                }
                for await node in self.madeNodes {
                    group.addTask { try? await node.run() }
                }
            }
        }
        await shutdown()
    }

    /// Closes every node's pool.
    public func shutdown() async {
        let clients = state.withLock { state -> [RedisClient] in
            state.stopped = true
            requestRefresh.finish()
            announceNode.finish()
            defer { state.nodes.removeAll() }
            return Array(state.nodes.values)
        }
        for client in clients { await client.shutdown() }
    }

    /// Each node's pool now, by `host:port`.
    public var nodeStatistics: [String: ConnectionPoolStatistics] {
        state.withLock { $0.nodes.mapValues(\.statistics) }
    }

    /// `MOVED` and `ASK` redirections followed, and slot map refreshes, so far.
    public var redirections: (moved: Int, asked: Int, refreshes: Int) { counters.withLock { $0 } }

    // MARK: Slot map

    /// Asks the seeds (then the known nodes) for `CLUSTER SLOTS` and replaces the map.
    public func refreshSlots() async throws {
        let (known, number) = state.withLock { state -> ([String], Int) in
            state.refreshesStarted += 1
            return (Array(state.nodes.keys), state.refreshesStarted)
        }
        var lastError: any Error = RedisError(.connectionFailed, "no seed node answered CLUSTER SLOTS")
        for address in seeds.map(Self.address(of:)) + known {
            do {
                let reply = try await client(for: address).send("CLUSTER", "SLOTS")
                try apply(slots: reply, refresh: number)
                counters.withLock { $0.refreshes += 1 }
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func apply(slots reply: RedisValue, refresh number: Int) throws {
        guard let ranges = reply.array else {
            throw RedisError(.unexpectedReply, "CLUSTER SLOTS did not answer an array")
        }
        var owners: [String?] = Array(repeating: nil, count: RedisClusterSlot.count)
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let first = parts[0].int, let last = parts[1].int,
                let primary = parts[2].array, primary.count >= 2, let host = primary[0].string,
                let port = primary[1].int,
                first >= 0, last < RedisClusterSlot.count, first <= last
            else { throw RedisError(.unexpectedReply, "CLUSTER SLOTS answered a malformed range") }
            let address = "\(host.isEmpty ? seeds[0].host : host):\(port)"
            for slot in first...last { owners[slot] = address }
        }
        state.withLock { state in
            guard number > state.refreshApplied else { return }
            state.refreshApplied = number
            state.owners = owners
        }
    }

    private static func address(of configuration: RedisConfiguration) -> String {
        "\(configuration.host):\(configuration.port)"
    }

    /// The pooled client of the node at `host:port`, created on first use with the seeds' credentials.
    private func client(for address: String) throws -> RedisClient {
        try state.withLock { state in
            guard !state.stopped else { throw RedisError(.shutdown, "the cluster client has been shut down") }
            if let client = state.nodes[address] { return client }
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
                throw RedisError(.unexpectedReply, "a node address is not host:port")
            }
            var configuration = seeds[0]
            configuration.host = String(address[..<colon])
            configuration.port = port
            configuration.database = 0
            let client = RedisClient(configuration: configuration, poolConfiguration: poolConfiguration, logger: logger)
            state.nodes[address] = client
            announceNode.yield(client)
            return client
        }
    }

    /// The node serving `slot`, refreshing the map first when it is unknown.
    private func owner(of slot: Int) async throws -> String {
        if let owner = state.withLock({ $0.owners[slot] }) { return owner }
        try await refreshSlots()
        guard let owner = state.withLock({ $0.owners[slot] }) else {
            throw RedisError(.connectionFailed, "no node serves hash slot \(slot)")
        }
        return owner
    }

    private var primaries: [String] {
        state.withLock { Array(Set($0.owners.compactMap { $0 })).sorted() }
    }

    // MARK: Routing

    /// Runs `body` against the node owning `key`'s slot, following redirections.
    private func routed(
        _ key: String,
        _ body: @Sendable (RedisClient, _ asking: Bool) async throws -> RedisValue
    ) async throws -> RedisValue {
        let slot = RedisClusterSlot.of(key)
        var address = try await owner(of: slot)
        var asking = false
        var retriedConnection = false
        var attempt = 0
        for _ in 0...Self.maximumRedirections {
            do {
                let value = try await body(try client(for: address), asking)
                if case .error(let text) = value, let redirect = Redirect(text) {
                    try follow(redirect, slot: slot, address: &address, asking: &asking)
                    continue
                }
                return value
            } catch let error as RedisError {
                if let text = error.serverMessage, let redirect = Redirect(text) {
                    try follow(redirect, slot: slot, address: &address, asking: &asking)
                    continue
                }
                if let kind = error.replyKind, kind == "TRYAGAIN" || kind == "CLUSTERDOWN" {
                    // A multi-key command mid-resharding, or a failover in progress: wait a little and retry.
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(50 * attempt))
                    continue
                }
                guard error.isConnectionFailure, !retriedConnection else { throw error }
                // The node may have failed over: learn the new map and try its new owner once.
                retriedConnection = true
                try? await refreshSlots()
                address = try await owner(of: slot)
                asking = false
            }
        }
        throw RedisError(.unexpectedReply, "too many cluster redirections for one command")
    }

    private func follow(_ redirect: Redirect, slot: Int, address: inout String, asking: inout Bool) throws {
        let target = redirect.resolved(String(address.prefix { $0 != ":" }))
        address = target
        switch redirect.kind {
        case .moved:
            asking = false
            state.withLock { $0.owners[redirect.slot] = target }
            counters.withLock { $0.moved += 1 }
            requestRefresh.yield()
        case .ask:
            asking = true
            counters.withLock { $0.asked += 1 }
        }
    }

    private struct Redirect {
        enum Kind { case moved, ask }
        let kind: Kind
        let slot: Int
        let address: String

        /// Parses `MOVED 3999 127.0.0.1:6381` and `ASK 3999 127.0.0.1:6381`.
        init?(_ text: String) {
            let parts = text.split(separator: " ")
            guard parts.count == 3, let slot = Int(parts[1]) else { return nil }
            switch parts[0] {
            case "MOVED": kind = .moved
            case "ASK": kind = .ask
            default: return nil
            }
            self.slot = slot
            address = String(parts[2])
        }

        /// The node's address, with `fallbackHost` when the server left its host out (`MOVED 3999 :6381`).
        func resolved(_ fallbackHost: String) -> String {
            address.hasPrefix(":") ? fallbackHost + address : address
        }
    }

    /// Sends `arguments` on one connection of `client`, after `ASKING` when the slot is being imported there.
    private static func send(_ arguments: [RedisArgument], on client: RedisClient, asking: Bool) async throws
        -> RedisValue
    {
        guard asking else { return try await client.send(arguments) }
        return try await client.withConnection { connection in
            let replies = try await connection.pipeline([["ASKING"], arguments])
            guard replies.count == 2 else {
                throw RedisError(.unexpectedReply, "ASKING pipeline answered \(replies.count) replies")
            }
            if case .error(let text) = replies[1] { throw RedisError.reply(text) }
            return replies[1]
        }
    }
}

extension RedisClusterClient: RedisKeyRouting {
    public var isSingleNode: Bool { false }

    public func send(_ arguments: [RedisArgument], routingKey key: String) async throws -> RedisValue {
        try await routed(key) { client, asking in try await Self.send(arguments, on: client, asking: asking) }
    }

    public func pipeline(_ commands: [[RedisArgument]], routingKey key: String) async throws -> [RedisValue] {
        // A redirection applies to every command of the pipeline (they share a slot), so the whole batch is
        // wrapped as one array and retried together.
        let reply = try await routed(key) { client, asking in
            // ASKING applies to the next command only: mid-migration, each command gets its own.
            let batch = asking ? commands.flatMap { [["ASKING"], $0] } : commands
            var replies = try await client.pipeline(batch)
            if asking { replies = replies.enumerated().filter { $0.offset % 2 == 1 }.map(\.element) }
            if let redirect = replies.first(where: {
                if case .error(let text) = $0 {
                    return text.hasPrefix("MOVED ") || text.hasPrefix("ASK ")
                } else {
                    return false
                }
            }) {
                return redirect
            }
            return .array(replies)
        }
        guard let replies = reply.array else {
            throw RedisError(.unexpectedReply, "a pipeline did not answer its replies")
        }
        return replies
    }

    public func evaluate(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RedisValue {
        guard let first = keys.first else {
            throw RedisError(.invalidConfiguration, "a script on a cluster must name its keys")
        }
        return try await routed(first) { client, asking in
            guard asking else { return try await client.evaluate(script, keys: keys, arguments: arguments) }
            // Mid-migration, send the source itself: the importing node may not have the script cached.
            let command =
                [RedisArgument("EVAL"), RedisArgument(script.source), RedisArgument(keys.count)]
                + keys.map { RedisArgument($0) } + arguments
            return try await Self.send(command, on: client, asking: true)
        }
    }

    /// Every primary's keys matching `pattern`. `SCAN` names no key, so no node redirects it: a primary that fails
    /// over mid-scan is followed by refreshing the map and scanning its successor, and when the map changed during
    /// the scan (a slot moved, a replica promoted), the primaries of the new map are scanned once more, so a key
    /// that migrated from a node not yet scanned to one already scanned is not missed. A key seen on two nodes
    /// (mid-migration) is listed once.
    public func scanKeys(matching pattern: String, count: Int) async throws -> [String] {
        if primaries.isEmpty { try await refreshSlots() }
        var keys = Set<String>()
        var refreshedOnFailure = false
        for pass in 0..<2 {
            let before = state.withLock { $0.owners }
            var scanned = Set<String>()
            while let address = primaries.first(where: { !scanned.contains($0) }) {
                do {
                    keys.formUnion(try await client(for: address).scanKeys(matching: pattern, count: count))
                    scanned.insert(address)
                } catch let error as RedisError where error.isConnectionFailure && !refreshedOnFailure {
                    refreshedOnFailure = true
                    try await refreshSlots()
                }
            }
            guard pass == 0, state.withLock({ $0.owners }) != before else { break }
        }
        return keys.sorted()
    }

    public func publish(_ message: [UInt8], to channel: String) async throws -> Int {
        // Cluster buses forward classic pub/sub to every node: any node will do; the channel's slot spreads load.
        try await routed(channel) { client, _ in .integer(try await client.publish(message, to: channel)) }.int ?? 0
    }

    public func ping() async throws {
        if primaries.isEmpty { try await refreshSlots() }
        for address in primaries { try await client(for: address).ping() }
    }
}
