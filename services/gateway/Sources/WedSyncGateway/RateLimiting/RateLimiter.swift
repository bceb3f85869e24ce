import Foundation
import HTTPTypes
import Logging
import Synchronization
import WedSyncRedis
import WedSyncServiceKit

/// Rate limits per tenant and per client address with GCRA (the generic cell rate algorithm): each key keeps one
/// number, its theoretical arrival time; a request is let in when that time is no further ahead of now than the
/// burst allows. Counted in this process, or, for routes marked `global`, by one atomic Redis script shared by
/// every gateway replica (falling back to this process's count while Redis is unreachable). Routes marked
/// wedding-day critical are counted apart, so a flood elsewhere never spends their budget.
public final class RateLimiter: Sendable {
    let redis: (any RedisKeyRouting)?
    let logger: Logger
    /// The counts of this process, in shards by key, so that event loops rarely wait on one another's lock.
    private let shards: [LocalShard] = (0..<16).map { _ in LocalShard() }
    static let maximumLocalKeys = 200_000

    /// One shard of the local counts: theoretical arrival times (seconds since 1970) by key.
    private final class LocalShard: Sendable {
        let table = Mutex<[LocalKey: Double]>([:])
    }

    /// Whose count, on which budget: the local counts are keyed without building a string per request.
    struct LocalKey: Hashable, Sendable {
        /// `c` a client address, `t` a tenant.
        let scope: UInt8
        /// ``RateLimiter/bucket(_:)``.
        let bucket: String
        let subject: String
        /// The three hashed once: a key picks its shard and its slot of that shard's table by it.
        let hash: Int

        init(scope: UInt8, bucket: String, subject: String) {
            self.scope = scope
            self.bucket = bucket
            self.subject = subject
            var hasher = Hasher()
            hasher.combine(scope)
            hasher.combine(bucket)
            hasher.combine(subject)
            hash = hasher.finalize()
        }

        static func == (left: LocalKey, right: LocalKey) -> Bool {
            left.hash == right.hash && left.scope == right.scope && left.subject == right.subject
                && left.bucket == right.bucket
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(hash)
        }

        /// The count of a client address in `bucket` (``RateLimiter/bucket(_:)``).
        static func client(_ bucket: String, _ address: String) -> LocalKey {
            LocalKey(scope: UInt8(ascii: "c"), bucket: bucket, subject: address)
        }

        /// The count of a tenant in `bucket`.
        static func tenant(_ bucket: String, _ tenant: String) -> LocalKey {
            LocalKey(scope: UInt8(ascii: "t"), bucket: bucket, subject: tenant)
        }

        /// The key of the same count in Redis (routes marked `global`).
        var redisKey: String {
            "gw:rl:{\(Character(Unicode.Scalar(scope))):\(bucket):\(subject)}"
        }
    }

    private func shardIndex(_ key: LocalKey) -> Int {
        Int(UInt(bitPattern: key.hash) % UInt(shards.count))
    }

    /// `{tat, now}` in milliseconds from Redis's own clock, so every gateway agrees on time.
    static let script = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat < now then tat = now end
        if tat - now > tolerance then
          return {0, tat - now - tolerance}
        end
        local new = tat + interval
        redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.max(1, new - now))
        return {1, math.floor((tolerance - (new - now)) / interval)}
        """
    )

    public init(redis: (any RedisKeyRouting)?, logger: Logger) {
        self.redis = redis
        self.logger = logger
    }

    /// What one check found.
    struct Decision: Equatable {
        var allowed: Bool
        /// Requests left in the burst (when allowed), or seconds until one is (when not).
        var remaining: Int
        var retryAfter: Double
    }

    /// Lets the request of a client address in, or throws 429 with `Retry-After` and `RateLimit-*` fields.
    public func admit(route: GatewayRoute, limits: RateLimitPolicy, client: String?) async throws(ServiceError) {
        guard let limit = limits.client, let client else { return }
        try await check(
            .client(Self.bucket(route), client),
            limit: limit,
            global: limits.global,
            scope: "client"
        )
    }

    /// Lets the request of a tenant in, or throws 429.
    public func admit(route: GatewayRoute, limits: RateLimitPolicy, tenant: String) async throws(ServiceError) {
        guard let limit = limits.tenant else { return }
        try await check(
            .tenant(Self.bucket(route), tenant),
            limit: limit,
            global: limits.global,
            scope: "tenant"
        )
    }

    /// For a request answered without waiting: whether its client's and its tenant's limits let it in, counted in
    /// this process as ``admit(route:limits:client:)`` counts them; `nil` when the route's limits are counted in
    /// Redis (the full path decides, and answers a refusal).
    func admitNow(route: GatewayRoute, limits: RateLimitPolicy, client: String?, tenant: String?) -> Bool? {
        admitNow(bucket: Self.bucket(route), limits: limits, client: client, tenant: tenant)
    }

    /// ``admitNow(route:limits:client:tenant:)`` for a route whose ``bucket(_:)`` the caller resolved once.
    func admitNow(bucket: String, limits: RateLimitPolicy, client: String?, tenant: String?) -> Bool? {
        if limits.global, redis != nil { return nil }
        let clientKey = limits.client != nil ? client.map { LocalKey.client(bucket, $0) } : nil
        let tenantKey = limits.tenant != nil ? tenant.map { LocalKey.tenant(bucket, $0) } : nil
        let now = Date().timeIntervalSince1970
        switch (clientKey, tenantKey) {
        case (nil, nil):
            return true
        case (let key?, nil):
            return shards[shardIndex(key)].table.withLock { Self.spend(&$0, key, limits.client!, now: now) }
        case (nil, let key?):
            return shards[shardIndex(key)].table.withLock { Self.spend(&$0, key, limits.tenant!, now: now) }
        case (let clientKey?, let tenantKey?):
            // Both limits decided under their locks (taken in shard order), and spent only when both let the request
            // in: a refusal goes the full way, which counts it (and answers it) as it always does.
            let (first, second) = (shardIndex(clientKey), shardIndex(tenantKey))
            let (clientLimit, tenantLimit) = (limits.client!, limits.tenant!)
            /// Both spent, through `read` and `write` of the tables that hold them, or neither.
            func spendBoth(_ read: (LocalKey) -> Double?, _ write: (LocalKey, Double) -> Void) -> Bool {
                guard let clientNext = Self.next(read(clientKey), clientLimit, now: now),
                    let tenantNext = Self.next(read(tenantKey), tenantLimit, now: now)
                else { return false }
                write(clientKey, clientNext)
                write(tenantKey, tenantNext)
                return true
            }
            if first == second {
                return shards[first].table.withLock { table in
                    spendBoth({ table[$0] }, { Self.store(&table, $0, $1, now: now) })
                }
            }
            return shards[min(first, second)].table.withLock { low in
                shards[max(first, second)].table.withLock { high in
                    func table(_ key: LocalKey) -> Bool { (key == clientKey) == (first < second) }
                    return spendBoth(
                        { table($0) ? low[$0] : high[$0] },
                        { table($0) ? Self.store(&low, $0, $1, now: now) : Self.store(&high, $0, $1, now: now) }
                    )
                }
            }
        }
    }

    /// GCRA: the next theoretical arrival time after a request at `now`, when `limit` lets it in after `tat`.
    static func next(_ tat: Double?, _ limit: RateLimitPolicy.Limit, now: Double) -> Double? {
        let interval = 1 / limit.rate
        let tolerance = interval * Double(max(0, limit.burst - 1))
        let current = max(tat ?? 0, now)
        guard current - now <= tolerance else { return nil }
        return current + interval
    }

    /// Spends one request of `limit` under `key`; whether it was let in.
    static func spend(_ table: inout [LocalKey: Double], _ key: LocalKey, _ limit: RateLimitPolicy.Limit, now: Double)
        -> Bool
    {
        // A known key is looked up once and changed in place.
        if let index = table.index(forKey: key) {
            guard let next = next(table.values[index], limit, now: now) else { return false }
            table.values[index] = next
            return true
        }
        guard let next = next(nil, limit, now: now) else { return false }
        store(&table, key, next, now: now)
        return true
    }

    /// Keeps `value` under `key`, dropping the counts that have run out when the shard is full.
    static func store(_ table: inout [LocalKey: Double], _ key: LocalKey, _ value: Double, now: Double) {
        if table.count >= maximumLocalKeys / 16 { table = table.filter { $0.value > now } }
        table[key] = value
    }

    /// Critical routes count apart, each on its own; every other route shares one budget.
    static func bucket(_ route: GatewayRoute) -> String {
        route.critical ? "critical:\(route.name)" : "standard"
    }

    private func check(_ key: LocalKey, limit: RateLimitPolicy.Limit, global: Bool, scope: String)
        async throws(ServiceError)
    {
        let decision: Decision
        if global, let redis {
            do {
                decision = try await checkGlobal(key.redisKey, limit: limit, redis: redis)
            } catch {
                logger.debug("global rate limit unavailable: counting locally", metadata: ["error": "\(error)"])
                decision = checkLocal(key, limit: limit, now: Date().timeIntervalSince1970)
            }
        } else {
            decision = checkLocal(key, limit: limit, now: Date().timeIntervalSince1970)
        }
        guard !decision.allowed else { return }
        let retryAfter = max(1, Int(decision.retryAfter.rounded(.up)))
        var headers: HTTPFields = [.retryAfter: String(retryAfter)]
        headers[HTTPField.Name("RateLimit-Limit")!] = String(limit.burst)
        headers[HTTPField.Name("RateLimit-Remaining")!] = "0"
        headers[HTTPField.Name("RateLimit-Reset")!] = String(retryAfter)
        headers[HTTPField.Name("RateLimit-Policy")!] =
            "\(limit.burst);w=\(max(1, Int((Double(limit.burst) / limit.rate).rounded(.up))));scope=\(scope)"
        throw ServiceError(
            .tooManyRequests,
            code: "rate_limited",
            message: "too many requests for this \(scope): retry in \(retryAfter) s",
            headers: headers
        )
    }

    /// GCRA in this process. `now` in seconds.
    func checkLocal(_ key: LocalKey, limit: RateLimitPolicy.Limit, now: Double) -> Decision {
        let interval = 1 / limit.rate
        let tolerance = interval * Double(max(0, limit.burst - 1))
        return shards[shardIndex(key)].table.withLock { table in
            let tat = max(table[key] ?? 0, now)
            if tat - now > tolerance {
                return Decision(allowed: false, remaining: 0, retryAfter: tat - now - tolerance)
            }
            let next = tat + interval
            Self.store(&table, key, next, now: now)
            return Decision(allowed: true, remaining: Int((tolerance - (next - now)) / interval), retryAfter: 0)
        }
    }

    func checkGlobal(_ key: String, limit: RateLimitPolicy.Limit, redis: any RedisKeyRouting) async throws -> Decision {
        let interval = max(1, Int((1000 / limit.rate).rounded()))
        let tolerance = interval * max(0, limit.burst - 1)
        let reply = try await redis.evaluate(
            Self.script,
            keys: [key],
            arguments: [RedisArgument(interval), RedisArgument(tolerance)]
        )
        guard let parts = reply.array, parts.count == 2, let allowed = parts[0].int, let value = parts[1].int else {
            throw RedisError(.unexpectedReply, "the rate limit script did not answer two integers")
        }
        return allowed == 1
            ? Decision(allowed: true, remaining: value, retryAfter: 0)
            : Decision(allowed: false, remaining: 0, retryAfter: Double(value) / 1000)
    }
}
