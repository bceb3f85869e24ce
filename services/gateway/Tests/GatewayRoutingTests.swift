import Foundation
import HTTPTypes
import Logging
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncGateway

/// Route patterns, the routes file, GCRA, the balancer's choices and a replica's circuit.
@Suite("Gateway: routes, rate limits, balancing")
struct GatewayRoutingTests {
    @Test(
        "Patterns: literals, {name}, *, and a final **",
        arguments: [
            ("/api/clients/{id}", "/api/clients/42", true),
            ("/api/clients/{id}", "/api/clients/42/guests", false),
            ("/api/clients/{id}", "/api/clients", false),
            ("/api/*/guests", "/api/7/guests", true),
            ("/api/**", "/api", true),
            ("/api/**", "/api/clients/1/x", true),
            ("/api/**", "/apis", false),
            ("/**", "/", true),
            ("/health", "/health/", true),
        ]
    )
    func patterns(pattern: String, path: String, matches: Bool) throws {
        #expect(try #require(RoutePattern(pattern)).matches(path[...]) == matches)
    }

    @Test("Malformed patterns are refused")
    func badPatterns() {
        for bad in ["api", "/a/**/b", "/a/{", "/a/b*"] { #expect(RoutePattern(bad) == nil, "\(bad)") }
    }

    @Test("The routes file: pools, defaults, first match wins, clear errors")
    func routesFile() throws {
        let file = try GatewayRoutesFile.parse(
            """
            upstreams:
              api: {}
              static: {replicas: ["http://10.0.0.1:81", "10.0.0.2:82"], ejection-ms: 250}
            routes:
              - {name: day, match: /api/guests/**, upstream: api, critical: true, rate-limit: {tenant: {rate: 5, burst: 10}, global: true}}
              - {match: /api/**, upstream: api, methods: [get, head], fault: {delay-ms: 150, percent: 25}}
              - {match: /**, upstream: static, access: public, cache: false, timeout-ms: 500}
            """,
            defaultReplicas: ["api": [UpstreamAddress(host: "127.0.0.1", port: 3000)]]
        )
        #expect(file.pools.map(\.name) == ["api", "static"])
        #expect(file.pools[0].replicas.map(\.address) == ["127.0.0.1:3000"])
        #expect(file.pools[1].replicas.map(\.address) == ["10.0.0.1:81", "10.0.0.2:82"])
        #expect(file.pools[1].ejectionTime == .milliseconds(250))
        let table = RouteTable(file.routes)
        #expect(table.route(method: .get, path: "/api/guests/3")?.name == "day")
        #expect(
            table.route(method: .get, path: "/api/guests/3")?.rateLimit
                == RateLimitPolicy(tenant: .init(rate: 5, burst: 10), global: true)
        )
        #expect(table.route(method: .get, path: "/api/clients")?.name == "route-2")
        #expect(table.route(method: .post, path: "/api/clients")?.name == "route-3")
        #expect(table.route(method: .post, path: "/api/clients")?.access == .public)
        #expect(table.route(method: .post, path: "/api/clients")?.timeout == .milliseconds(500))
        #expect(table.route(method: .get, path: "/api/clients")?.fault == .init(delay: .milliseconds(150), percent: 25))
        #expect(table.route(method: .get, path: "/api/guests/3")?.fault == nil)
        for (bad, message) in [
            ("upstreams: {a: {}}\nroutes: [{match: /x, upstream: b}]", "no upstream named b"),
            ("upstreams: {a: {replicas: [ftp://x]}}\nroutes: []", "not an http(s)"),
            ("upstreams: {a: {}}\nroutes: [{match: x, upstream: a}]", "not a path pattern"),
            ("upstreams: {a: {}}\nroutes: [{upstream: a}]", "missing match"),
            (
                "upstreams: {a: {}}\nroutes: [{match: /x, upstream: a, rate-limit: {client: {rate: 0, burst: 1}}}]",
                "rate > 0"
            ),
            ("upstreams: {a: {}}\nroutes: [{match: /x, upstream: a, fault: {delay-ms: 0}}]", "fault needs"),
            (
                "upstreams: {a: {}}\nroutes: [{match: /x, upstream: a, fault: {delay-ms: 5, percent: 101}}]",
                "fault needs"
            ),
        ] {
            #expect(throws: ConfigurationError.self) { try GatewayRoutesFile.parse(bad, defaultReplicas: [:]) }
            do {
                _ = try GatewayRoutesFile.parse(bad, defaultReplicas: [:])
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    @Test("The example routes file in infrastructure/ parses")
    func exampleFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../infrastructure/gateway.yaml"
        ).path
        let file = try GatewayRoutesFile.load(
            path: path,
            defaultReplicas: ["api": [UpstreamAddress(host: "127.0.0.1", port: 8090)]]
        )
        #expect(file.routes.contains { $0.critical })
        #expect(file.routes.allSatisfy { $0.fault == nil }, "no shipped route injects a delay")
        #expect(RouteTable(file.routes).route(method: .get, path: "/api/clients")?.name == "api")
    }

    @Test("Admission without waiting spends both limits or neither, on the counts the full path keeps")
    func admitNowBoth() {
        let limiter = RateLimiter(redis: nil, logger: .init(label: "test"))
        let route = GatewayRoute(name: "r", pattern: RoutePattern("/**")!, upstream: "u")
        let limits = RateLimitPolicy(tenant: .init(rate: 0.001, burst: 3), client: .init(rate: 0.001, burst: 2))
        func admit(_ client: String, _ tenant: String) -> Bool? {
            limiter.admitNow(route: route, limits: limits, client: client, tenant: tenant)
        }
        #expect(admit("a", "1") == true)
        #expect(admit("a", "1") == true)
        #expect(admit("a", "1") == false, "client a's burst of 2 is spent")
        #expect(admit("b", "1") == true, "the refusal spent nothing of tenant 1's burst of 3")
        #expect(admit("c", "1") == false, "tenant 1's burst is spent")
        let now = Date().timeIntervalSince1970
        #expect(
            limiter.checkLocal(.client(RateLimiter.bucket(route), "c"), limit: limits.client!, now: now).allowed,
            "c was not spent"
        )
        #expect(!limiter.checkLocal(.tenant(RateLimiter.bucket(route), "1"), limit: limits.tenant!, now: now).allowed)
        // Many pairs: their two counts fall in the same shard or in two, in either order.
        for index in 0..<64 {
            #expect(admit("client-\(index)", "tenant-\(index)") == true)
            #expect(admit("client-\(index)", "other-\(index)") == true)
            #expect(admit("client-\(index)", "tenant-\(index)") == false, "client-\(index) has spent its burst")
            #expect(admit("next-\(index)", "tenant-\(index)") == true)
            #expect(admit("last-\(index)", "tenant-\(index)") == true)
            #expect(admit("more-\(index)", "tenant-\(index)") == false, "tenant-\(index) has spent its burst")
        }
        let global = RateLimitPolicy(client: .init(rate: 1, burst: 1), global: true)
        #expect(limiter.admitNow(route: route, limits: global, client: "fresh", tenant: nil) == true, "no Redis: local")
    }

    @Test("GCRA: a burst, then one request per interval")
    func gcra() {
        let limiter = RateLimiter(redis: nil, logger: .init(label: "test"))
        let limit = RateLimitPolicy.Limit(rate: 2, burst: 3)
        let key = RateLimiter.LocalKey(scope: UInt8(ascii: "c"), bucket: "standard", subject: "k")
        let other = RateLimiter.LocalKey(scope: UInt8(ascii: "c"), bucket: "standard", subject: "other")
        #expect(key.redisKey == "gw:rl:{c:standard:k}")
        let allowed = (0..<5).map { _ in limiter.checkLocal(key, limit: limit, now: 100).allowed }
        #expect(allowed == [true, true, true, false, false])
        let refused = limiter.checkLocal(key, limit: limit, now: 100)
        #expect(abs(refused.retryAfter - 0.5) < 0.001)
        #expect(limiter.checkLocal(key, limit: limit, now: 100.5).allowed)
        #expect(!limiter.checkLocal(key, limit: limit, now: 100.5).allowed)
        #expect(limiter.checkLocal(other, limit: limit, now: 100).allowed)
    }

    @Test(
        "A replica's circuit: opens after consecutive failures, one trial when the time is up, doubles on a failed trial"
    )
    func circuit() {
        let configuration = UpstreamPoolConfiguration(
            name: "p",
            replicas: [],
            consecutiveFailures: 2,
            ejectionTime: .seconds(1)
        )
        let replica = Replica(address: UpstreamAddress(host: "h", port: 1))
        let start = ContinuousClock.now
        for _ in 0..<2 {
            #expect(replica.begin(at: start) == .normal)
            replica.finish(latency: nil, failed: true, at: start, configuration: configuration)
        }
        #expect(!replica.isEligible(at: start + .milliseconds(500)))
        #expect(replica.begin(at: start + .milliseconds(500)) == .refused)
        let later = start + .milliseconds(1100)
        #expect(replica.isEligible(at: later))
        #expect(replica.begin(at: later) == .trial)
        #expect(replica.begin(at: later) == .refused, "one trial at a time")
        replica.finish(latency: nil, failed: true, at: later, configuration: configuration)
        #expect(!replica.isEligible(at: later + .milliseconds(1500)), "a failed trial reopens for twice as long")
        let again = later + .milliseconds(2100)
        #expect(replica.begin(at: again) == .trial)
        replica.finish(latency: .milliseconds(3), failed: false, at: again, configuration: configuration)
        #expect(replica.begin(at: again) == .normal)
        #expect(replica.status(at: again).ejections == 2)
    }

    @Test("Power of two choices prefers the replica with less latency-weighted work, and retries go elsewhere")
    func balancing() {
        let configuration = UpstreamPoolConfiguration(
            name: "p",
            replicas: [UpstreamAddress(host: "a", port: 1), UpstreamAddress(host: "b", port: 2)]
        )
        let pool = UpstreamPool(configuration: configuration)
        let (slow, fast) = (pool.members[0], pool.members[1])
        let now = ContinuousClock.now
        _ = slow.begin(at: now)
        slow.finish(latency: .milliseconds(50), failed: false, at: now, configuration: configuration)
        _ = fast.begin(at: now)
        fast.finish(latency: .milliseconds(1), failed: false, at: now, configuration: configuration)
        var picks: [String: Int] = [:]
        for _ in 0..<100 {
            guard let (replica, _) = pool.pick() else { continue }
            picks[replica.address.host, default: 0] += 1
            replica.finish(latency: nil, failed: false, at: now, configuration: configuration)
        }
        #expect(picks["b"] == 100)
        #expect(pool.pick(excluding: ["b:2"])?.0.address.host == "a")
        #expect(pool.pick(excluding: ["a:1", "b:2"]) == nil, "a retry needs another replica")
    }

    @Test("In a panic (no replica eligible) requests go to any replica, and a retry to one not tried yet")
    func panicRetries() {
        let configuration = UpstreamPoolConfiguration(
            name: "p",
            replicas: [
                UpstreamAddress(host: "a", port: 1), UpstreamAddress(host: "b", port: 2),
                UpstreamAddress(host: "c", port: 3),
            ]
        )
        let pool = UpstreamPool(configuration: configuration)
        let (a, b, c) = (pool.members[0], pool.members[1], pool.members[2])
        for replica in [b, c] {
            for _ in 0..<configuration.unhealthyThreshold {
                replica.recordHealth(passed: false, configuration: configuration)
            }
        }
        #expect(!pool.hasAlternative(to: ["a:1"]), "b and c are unhealthy while a is eligible: no retry")
        #expect(pool.pick(excluding: ["a:1"]) == nil)
        for _ in 0..<configuration.unhealthyThreshold { a.recordHealth(passed: false, configuration: configuration) }
        #expect(pool.hasAlternative(to: ["b:2"]), "in a panic a retry may go to a replica marked down")
        let retry = pool.pick(excluding: ["b:2"])
        #expect(retry != nil && retry?.0.address.host != "b")
        #expect(pool.pick(excluding: ["a:1", "b:2", "c:3"]) == nil, "never the same replica twice")
    }

    @Test("HTTP-date: IMF-fixdate formatted and parsed by hand, the obsolete forms accepted")
    func httpDate() throws {
        let date = Date(timeIntervalSince1970: 784_111_777)
        #expect(HTTPDate.format(date) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == date)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == date)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == date)
        #expect(HTTPDate.parse("Sun, 31 Feb 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("0") == nil)
        for seconds in stride(from: -86_400 * 400, to: 4_000_000_000, by: 9_876_543) {
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(HTTPDate.parse(HTTPDate.format(date)) == date)
        }
    }
}
