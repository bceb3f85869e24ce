/// Sends commands to the Redis node that serves their keys.
///
/// The seam between a single redis-server (``RedisClient``: every key is on the one server) and a Redis Cluster,
/// where a key's hash slot decides the node. Commands given here name their keys so the router can find the node;
/// commands that touch several keys must keep them in one slot (hash tags: `wsc:{entry}:m`, `wsc:{entry}:d`).
public protocol RedisKeyRouting: Sendable {
    /// Sends a command whose keys all hash to the slot of `key`.
    func send(_ arguments: [RedisArgument], routingKey key: String) async throws -> RedisValue

    /// Sends several commands whose keys all hash to the slot of `key`, in one round trip. Error replies come back
    /// in place.
    func pipeline(_ commands: [[RedisArgument]], routingKey key: String) async throws -> [RedisValue]

    /// Runs a script on the node that serves `keys` (which must share a slot).
    func evaluate(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RedisValue

    /// Every key matching a `SCAN` pattern, on every primary.
    func scanKeys(matching pattern: String, count: Int) async throws -> [String]

    /// Publishes to a channel every subscriber of the deployment receives.
    func publish(_ message: [UInt8], to channel: String) async throws -> Int

    /// One round trip to every primary.
    func ping() async throws

    /// Whether every key lives on one server, so one pipeline may name keys of any slot.
    var isSingleNode: Bool { get }
}

extension RedisClient: RedisKeyRouting {
    public var isSingleNode: Bool { true }

    public func send(_ arguments: [RedisArgument], routingKey key: String) async throws -> RedisValue {
        try await send(arguments)
    }

    public func pipeline(_ commands: [[RedisArgument]], routingKey key: String) async throws -> [RedisValue] {
        try await pipeline(commands)
    }

    public func scanKeys(matching pattern: String, count: Int) async throws -> [String] {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            let reply = try await send(
                "SCAN",
                RedisArgument(cursor),
                "MATCH",
                RedisArgument(pattern),
                "COUNT",
                RedisArgument(count)
            )
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let batch = parts[1].array
            else {
                throw RedisError(.unexpectedReply, "SCAN did not answer a cursor and a list of keys")
            }
            keys += batch.compactMap(\.string)
            cursor = next
        } while cursor != "0"
        return keys
    }
}
