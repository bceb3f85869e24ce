import Foundation
import WedSyncRedis

/// The shared tier: entries in Redis (a single server or a Cluster, through ``RedisKeyRouting``), and the
/// versions of tags and keys that make invalidation O(1) and safe against racing writers.
///
/// Keys, for an entry at address `ns/key` (the hash tag keeps all three in one slot):
/// - `wsc:{ns/key}:m` the metadata record, `wsc:{ns/key}:d` the data, both expiring when the entry may no longer
///   be served;
/// - `wsc:{ns/key}:x` the key's version: raised by every write and invalidation of the key. A loader's write is
///   conditional on the version it saw before loading, so a value loaded before an invalidation can never land
///   after it;
/// - `wsc:tv:<tag>` a tag's version (`v`) and the invalidation sequence number of its last invalidation (`s`);
/// - `wsc:seq` the deployment's invalidation sequence: raised once by every invalidation of tags, before their
///   versions. A load notes it before reading its data, and commits only if none of its tags was invalidated at a
///   later sequence number, so data read before an invalidation is never stored after it, with no clocks involved.
public final class RedisL2Store: Sendable {
    public let redis: any RedisKeyRouting
    public let codec: L2Codec
    /// How long a key's version outlives its last change (longer than any entry's retention).
    public let keyVersionRetention: Duration
    /// The pub/sub channel of the invalidation backplane.
    public static let channel = "wsc:invalidations"

    public init(
        redis: any RedisKeyRouting,
        codec: L2Codec = .init(),
        keyVersionRetention: Duration = .seconds(8 * 86_400)
    ) {
        self.redis = redis
        self.codec = codec
        self.keyVersionRetention = keyVersionRetention
    }

    static func metadataKey(_ address: String) -> String { "wsc:{\(address)}:m" }
    static func dataKey(_ address: String) -> String { "wsc:{\(address)}:d" }
    static func versionKey(_ address: String) -> String { "wsc:{\(address)}:x" }
    /// Tag versions never expire: a version that fell back to 0 could make old entries valid again. One small hash
    /// per tag ever invalidated.
    static func tagKey(_ tag: String) -> String { "wsc:tv:\(tag)" }
    static let sequenceKey = "wsc:seq"

    /// What L2 holds for an address: the entry (if any, and readable) and the key's version now.
    public struct Record: Sendable {
        public var entry: CacheEntry?
        public var keyVersion: UInt64
        /// The invalidation sequence as the read found it, when it was asked for and one round trip could give it.
        public var sequence: UInt64?
    }

    /// Reads an entry and its key's version in one round trip; with `notingSequence`, on a single Redis server,
    /// the invalidation sequence too (``currentSequence()``), in the same round trip. A Redis Cluster keeps the
    /// sequence in another slot: there the record has none, and the caller asks for it on its own.
    public func read(_ address: String, notingSequence: Bool = false) async throws -> Record {
        let entryKeys: [RedisArgument] = [
            "MGET", RedisArgument(Self.metadataKey(address)), RedisArgument(Self.dataKey(address)),
            RedisArgument(Self.versionKey(address)),
        ]
        let reply: RedisValue
        var sequence: UInt64?
        if notingSequence, redis.isSingleNode {
            let replies = try await redis.pipeline(
                [entryKeys, ["GET", RedisArgument(Self.sequenceKey)]],
                routingKey: Self.metadataKey(address)
            )
            guard replies.count == 2 else { throw RedisError(.unexpectedReply, "a pipeline of two answered otherwise") }
            if case .error(let text) = replies[0] { throw RedisError.reply(text) }
            if case .error(let text) = replies[1] { throw RedisError.reply(text) }
            reply = replies[0]
            sequence = UInt64(replies[1].int ?? 0)
        } else {
            reply = try await redis.send(entryKeys, routingKey: Self.metadataKey(address))
        }
        guard let values = reply.array, values.count == 3 else {
            throw RedisError(.unexpectedReply, "MGET did not answer three values")
        }
        let keyVersion = UInt64(values[2].int ?? 0)
        guard let metadata = values[0].bytes, let data = values[1].bytes else {
            return Record(entry: nil, keyVersion: keyVersion, sequence: sequence)
        }
        // A record that does not decode (damaged, written with another key, not ours) is a miss, not an outage:
        // the next write of the key replaces it.
        return Record(
            entry: try? codec.decode(metadata: metadata, data: data, address: address, version: keyVersion),
            keyVersion: keyVersion,
            sequence: sequence
        )
    }

    /// The write of an entry: conditional on the key's version (`ARGV[4]`, or `set` to raise it), expiring in
    /// `ARGV[3]` ms, the key's version kept `ARGV[5]` ms.
    private static let writeBody = """
        local version = tonumber(redis.call('GET', KEYS[3]) or '0')
        if ARGV[4] == 'set' then
          version = redis.call('INCR', KEYS[3])
        elseif tonumber(ARGV[4]) ~= version then
          return -1
        end
        redis.call('PEXPIRE', KEYS[3], ARGV[5])
        local existed = redis.call('EXISTS', KEYS[1])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        return {version, existed}
        """

    private static let writeScript = RedisScript(writeBody)

    /// ``writeBody`` after a check of the tags at `KEYS[4...]`: each must still be at the version the entry was
    /// sealed with (`ARGV[7...]`), and none invalidated after the read of the data (sequence `ARGV[6]`).
    private static let checkedWriteScript = RedisScript(
        """
        for i = 4, #KEYS do
          local state = redis.call('HMGET', KEYS[i], 'v', 's')
          local version, sequence = state[1] or '0', tonumber(state[2] or '0')
          if version ~= ARGV[i + 3] then return {-2, i - 3, tonumber(version), sequence} end
          if sequence > tonumber(ARGV[6]) then return {-3, i - 3, tonumber(version), sequence} end
        end

        """ + writeBody
    )

    /// What a write left in L2.
    public struct Written: Sendable, Equatable {
        /// The key's version now.
        public var version: UInt64
        /// Whether the key had a value or a version before: some process may hold an older copy. A key written
        /// for the first time has nothing older anywhere to replace.
        public var replacedEarlier: Bool
    }

    /// Writes an entry. With `expectedKeyVersion` (a loader's write) it lands only if the key's version is still
    /// the one seen before loading; without (an explicit set) it raises the version. `nil` when the condition
    /// failed.
    public func write(_ entry: CacheEntry, at address: String, expectedKeyVersion: UInt64?, now: Double) async throws
        -> Written?
    {
        let records = try codec.encode(entry, address: address)
        let retainMilliseconds = max(1, Int(((entry.retainUntil - now) * 1000).rounded(.up)))
        let reply = try await redis.evaluate(
            Self.writeScript,
            keys: [Self.metadataKey(address), Self.dataKey(address), Self.versionKey(address)],
            arguments: [
                RedisArgument(records.metadata), RedisArgument(records.data), RedisArgument(retainMilliseconds),
                RedisArgument(expectedKeyVersion.map { String($0) } ?? "set"),
                RedisArgument(Self.milliseconds(keyVersionRetention)),
            ]
        )
        if reply.int == -1 { return nil }
        guard let parts = reply.array, parts.count == 2, let version = parts[0].int, version >= 0,
            let existed = parts[1].int
        else {
            throw RedisError(.unexpectedReply, "the write script did not answer a version")
        }
        return Written(version: UInt64(version), replacedEarlier: version > 1 || existed == 1)
    }

    /// What ``write(_:at:now:checking:readAt:)`` did.
    public enum CheckedWrite: Sendable, Equatable {
        case written(Written)
        /// A checked tag is not at the version the entry carries: nothing was written.
        case tagChanged(String, TagVersion)
        /// A checked tag was invalidated after the data was read (at a later sequence): nothing was written.
        case invalidatedAfterRead(String, TagVersion)
    }

    /// Writes an entry (raising the key's version, as an explicit set) in one round trip with a check of `tags`,
    /// which the entry carries at versions the writer has not learnt from Redis: each must be at the version
    /// the entry was sealed with, and none invalidated after `readAt`. Only on a single Redis server (a script
    /// touches the tags' keys beside the entry's).
    public func write(_ entry: CacheEntry, at address: String, now: Double, checking tags: [String], readAt: UInt64)
        async throws -> CheckedWrite
    {
        guard redis.isSingleNode else {
            throw RedisError(
                .invalidConfiguration,
                "a checked write touches keys of several slots: one Redis server only"
            )
        }
        var sealed: [String: UInt64] = [:]
        for (tag, version) in zip(entry.tags, entry.tagVersions) { sealed[tag] = version }
        let records = try codec.encode(entry, address: address)
        let retainMilliseconds = max(1, Int(((entry.retainUntil - now) * 1000).rounded(.up)))
        var arguments: [RedisArgument] = [
            RedisArgument(records.metadata), RedisArgument(records.data), RedisArgument(retainMilliseconds), "set",
            RedisArgument(Self.milliseconds(keyVersionRetention)), RedisArgument(String(readAt)),
        ]
        arguments += tags.map { RedisArgument(String(sealed[$0] ?? 0)) }
        let reply = try await redis.evaluate(
            Self.checkedWriteScript,
            keys: [Self.metadataKey(address), Self.dataKey(address), Self.versionKey(address)]
                + tags.map(Self.tagKey),
            arguments: arguments
        )
        guard let parts = reply.array, let first = parts.first?.int else {
            throw RedisError(.unexpectedReply, "the checked write script answered no outcome")
        }
        if first < 0 {
            guard parts.count == 4, let index = parts[1].int, tags.indices.contains(index - 1),
                let version = parts[2].int, let sequence = parts[3].int, version >= 0, sequence >= 0
            else { throw RedisError(.unexpectedReply, "the checked write script answered an unknown refusal") }
            let state = TagVersion(version: UInt64(version), sequence: UInt64(sequence))
            return first == -2 ? .tagChanged(tags[index - 1], state) : .invalidatedAfterRead(tags[index - 1], state)
        }
        guard parts.count == 2, let existed = parts[1].int else {
            throw RedisError(.unexpectedReply, "the checked write script did not answer a version")
        }
        return .written(Written(version: UInt64(first), replacedEarlier: first > 1 || existed == 1))
    }

    private static let invalidateKeyScript = RedisScript(
        """
        local version = redis.call('INCR', KEYS[3])
        redis.call('PEXPIRE', KEYS[3], ARGV[1])
        redis.call('DEL', KEYS[1], KEYS[2])
        return version
        """
    )

    /// Deletes the entries at `addresses` and raises their versions, so writes loaded before now are refused.
    /// Returns each address's new version.
    @discardableResult
    public func invalidate(addresses: [String]) async throws -> [String: UInt64] {
        try await mapConcurrently(addresses) { address in
            let reply = try await self.redis.evaluate(
                Self.invalidateKeyScript,
                keys: [Self.metadataKey(address), Self.dataKey(address), Self.versionKey(address)],
                arguments: [RedisArgument(Self.milliseconds(self.keyVersionRetention))]
            )
            guard let version = reply.int else {
                throw RedisError(.unexpectedReply, "the invalidation script did not answer a version")
            }
            return UInt64(version)
        }
    }

    // Two invalidations of one tag may run their scripts in either order: the sequence kept is the larger, so a
    // tag's sequence never goes back below one a load could have noted.
    private static let bumpTagScript = RedisScript(
        """
        local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
        local sequence = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
        if tonumber(ARGV[1]) > sequence then
          sequence = tonumber(ARGV[1])
          redis.call('HSET', KEYS[1], 's', ARGV[1])
        end
        return {version, sequence}
        """
    )

    /// Raises the versions of `tags`: every entry carrying one becomes unreadable at once. Takes one invalidation
    /// sequence number first (so a load that noted an earlier one cannot commit data tagged with them), then
    /// records it with each new version. Returns the new states.
    public func bump(tags: [String]) async throws -> [String: TagVersion] {
        guard !tags.isEmpty else { return [:] }
        guard
            let sequence = try await redis.send(
                ["INCR", RedisArgument(Self.sequenceKey)],
                routingKey: Self.sequenceKey
            ).int
        else {
            throw RedisError(.unexpectedReply, "INCR did not answer an integer")
        }
        return try await mapConcurrently(tags) { tag in
            let reply = try await self.redis.evaluate(
                Self.bumpTagScript,
                keys: [Self.tagKey(tag)],
                arguments: [RedisArgument(sequence)]
            )
            guard let values = reply.array, values.count == 2, let version = values[0].int, let recorded = values[1].int
            else {
                throw RedisError(.unexpectedReply, "the tag script did not answer a version and a sequence")
            }
            return TagVersion(version: UInt64(version), sequence: UInt64(recorded))
        }
    }

    /// The current states of `tags` (version 0 and sequence 0 for a tag never invalidated).
    public func versions(of tags: [String]) async throws -> [String: TagVersion] {
        try await mapConcurrently(tags) { tag in
            let reply = try await self.redis.send(
                ["HMGET", RedisArgument(Self.tagKey(tag)), "v", "s"],
                routingKey: Self.tagKey(tag)
            )
            let values = reply.array ?? []
            return TagVersion(
                version: UInt64(values.first?.int ?? 0),
                sequence: UInt64(values.dropFirst().first?.int ?? 0)
            )
        }
    }

    /// The deployment's invalidation sequence number now.
    public func currentSequence() async throws -> UInt64 {
        UInt64(try await redis.send(["GET", RedisArgument(Self.sequenceKey)], routingKey: Self.sequenceKey).int ?? 0)
    }

    static let prefixLogKey = "wsc:prefixes"
    /// How long a prefix invalidation is remembered: longer than any entry lives.
    static let prefixLogRetention: Duration = .seconds(8 * 86_400)
    static let prefixLogLimit = 10_000

    private static let prefixLogScript = RedisScript(
        """
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1] .. ' ' .. ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2] - ARGV[4])
        redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[5]))
        return 1
        """
    )

    /// Records a prefix invalidation under a new invalidation sequence number (returned): an entry whose data was
    /// read at an earlier number and whose address starts with `prefix` is invalid from now on, in every process,
    /// even if it reaches L2 after the deletion below (a load elsewhere that read before).
    public func recordPrefixInvalidation(_ prefix: String, now: Double) async throws -> UInt64 {
        guard
            let sequence = try await redis.send(
                ["INCR", RedisArgument(Self.sequenceKey)],
                routingKey: Self.sequenceKey
            ).int
        else {
            throw RedisError(.unexpectedReply, "INCR did not answer an integer")
        }
        _ = try await redis.evaluate(
            Self.prefixLogScript,
            keys: [Self.prefixLogKey],
            arguments: [
                RedisArgument(sequence), RedisArgument(Int(now * 1000)), RedisArgument(prefix),
                RedisArgument(Int(Self.prefixLogRetention / .milliseconds(1))), RedisArgument(Self.prefixLogLimit),
            ]
        )
        return UInt64(sequence)
    }

    /// The prefix invalidations still remembered, oldest first.
    public func prefixInvalidations() async throws -> [PrefixInvalidation] {
        let reply = try await redis.send(
            ["ZRANGE", RedisArgument(Self.prefixLogKey), "0", "-1"],
            routingKey: Self.prefixLogKey
        )
        return (reply.array ?? []).compactMap { member in
            guard let text = member.string, let space = text.firstIndex(of: " "), let sequence = UInt64(text[..<space])
            else { return nil }
            return PrefixInvalidation(prefix: String(text[text.index(after: space)...]), sequence: sequence)
        }.sorted { $0.sequence < $1.sequence }
    }

    /// Deletes every entry whose address starts with `prefix` (raising each one's version); returns how many.
    public func invalidate(prefix: String) async throws -> Int {
        let addresses = try await self.addresses(matching: "\(Self.escapeGlob(prefix))*")
        try await invalidate(addresses: addresses)
        return addresses.count
    }

    /// Sends a backplane message to every process.
    public func publish(_ message: [UInt8]) async throws {
        _ = try await redis.publish(message, to: Self.channel)
    }

    public func ping() async throws {
        try await redis.ping()
    }

    // MARK: Helpers

    static func escapeGlob(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration / .milliseconds(1))
    }

    /// Runs `body` for each distinct item, at most 16 at a time, and collects the results.
    private func mapConcurrently<Value: Sendable>(
        _ items: [String],
        _ body: @escaping @Sendable (String) async throws -> Value
    ) async throws -> [String: Value] {
        let distinct = Array(Set(items))
        guard distinct.count > 1 else {
            guard let item = distinct.first else { return [:] }
            return [item: try await body(item)]
        }
        return try await withThrowingTaskGroup(of: (String, Value).self) { group in
            var results: [String: Value] = [:]
            var next = 0
            while next < min(16, distinct.count) {
                let item = distinct[next]
                group.addTask { (item, try await body(item)) }
                next += 1
            }
            while let (item, value) = try await group.next() {
                results[item] = value
                if next < distinct.count {
                    let item = distinct[next]
                    group.addTask { (item, try await body(item)) }
                    next += 1
                }
            }
            return results
        }
    }
}

extension RedisL2Store {
    /// The key's version alone (for a refresh that did not read the entry first).
    public func keyVersion(of address: String) async throws -> UInt64 {
        UInt64(
            try await redis.send(
                ["GET", RedisArgument(Self.versionKey(address))],
                routingKey: Self.versionKey(address)
            ).int ?? 0
        )
    }
}

extension RedisL2Store {
    /// The addresses of every entry L2 holds whose address matches the glob `pattern` (`schedules/2026-06-*`).
    public func addresses(matching pattern: String) async throws -> [String] {
        let keys = try await redis.scanKeys(matching: "wsc:{\(pattern)}:m", count: 1000)
        return keys.compactMap { key in
            guard key.hasPrefix("wsc:{"), key.hasSuffix("}:m") else { return nil }
            return String(key.dropFirst(5).dropLast(3))
        }
    }
}

/// A tag's version in Redis and the invalidation sequence number it was raised at.
public struct TagVersion: Sendable, Codable, Equatable {
    public var version: UInt64
    public var sequence: UInt64

    public init(version: UInt64, sequence: UInt64) {
        self.version = version
        self.sequence = sequence
    }
}

extension RedisL2Store {
    static func lockKey(_ address: String) -> String { "wsc:{\(address)}:l" }

    /// Takes the short lease that makes one process, of all, load `address`; `false` when another holds it.
    public func acquireLoadLease(_ address: String, token: String, lease: Duration) async throws -> Bool {
        let reply = try await redis.send(
            [
                "SET", RedisArgument(Self.lockKey(address)), RedisArgument(token), "NX", "PX",
                RedisArgument(max(1, Int(lease / .milliseconds(1)))),
            ],
            routingKey: Self.lockKey(address)
        )
        return !reply.isNull
    }

    private static let releaseScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """
    )

    /// Gives the lease back, if it is still ours (it may have run out and been taken by another process).
    public func releaseLoadLease(_ address: String, token: String) async throws {
        _ = try await redis.evaluate(
            Self.releaseScript,
            keys: [Self.lockKey(address)],
            arguments: [RedisArgument(token)]
        )
    }
}

/// A prefix invalidation and the invalidation sequence number it was made at.
public struct PrefixInvalidation: Sendable, Codable, Equatable {
    public var prefix: String
    public var sequence: UInt64

    public init(prefix: String, sequence: UInt64) {
        self.prefix = prefix
        self.sequence = sequence
    }
}
