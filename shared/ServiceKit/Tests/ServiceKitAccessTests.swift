import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WedSyncModels
import WedSyncRedisService
import WedSyncServiceKit
import WedSyncTestSupport

/// Who may call what: the access every route declares, enforced before its handler runs, with each kind of caller.
@Suite("Service kit: access per route, identities, 405, readiness detail")
struct ServiceKitAccessTests {
    static let admin = "access-admin-token-0123456789"
    static let monitor = "access-monitor-token-0123456789"
    static func serviceToken(_ name: String) -> String { "access-service-\(name)-0123456789" }

    static func makeService() async throws -> ServiceBuilder {
        let callers = ["wedsync-api", "wedsync-gateway", "wedsync-autoscaler"].map {
            "\($0)=\(ServiceCredentials.digestText(of: serviceToken($0)))"
        }
        let configuration = try await ServiceConfiguration.load(
            service: "wedsync-test",
            defaultPort: 0,
            arguments: ["wedsync-test"],
            environment: [
                "WEDSYNC_ADMIN_TOKEN": admin, "WEDSYNC_MONITOR_TOKEN": monitor,
                "WEDSYNC_SERVICE_CALLERS": callers.joined(separator: ","),
                "WEDSYNC_REDIS_URL": "redis://127.0.0.1:9",
            ]
        )
        let service = ServiceBuilder(configuration: configuration, summary: "test")
        _ = try service.redis(critical: false)
        for (path, access) in [
            ("/v1/public", RouteAccess.public), ("/v1/monitor", .monitor), ("/v1/api-only", .service("wedsync-api")),
            ("/v1/any-service", .anyService), ("/v1/capacity", .monitor(orService: "wedsync-autoscaler")),
            ("/v1/admin-only", .admin),
        ] {
            service.routes.get(path, RouteSpec(summary: path, access: access)) { _, context in
                ["caller": context.identity?.description ?? "none"]
            }
        }
        service.routes.delete("/v1/admin-only", RouteSpec(summary: "delete", access: .admin)) { _, _ in
            ["deleted": "yes"]
        }
        return service
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test(
        "Each route answers only the callers its access names: 401 without a known credential, 403 to the others",
        arguments: [
            (
                "/v1/public",
                ["anonymous": 200, "monitor": 200, "api": 200, "gateway": 200, "admin": 200, "unknown": 200]
            ),
            (
                "/v1/monitor",
                ["anonymous": 401, "monitor": 200, "api": 403, "gateway": 403, "admin": 200, "unknown": 401]
            ),
            (
                "/v1/api-only",
                ["anonymous": 401, "monitor": 403, "api": 200, "gateway": 403, "admin": 200, "unknown": 401]
            ),
            (
                "/v1/any-service",
                ["anonymous": 401, "monitor": 403, "api": 200, "gateway": 200, "admin": 200, "unknown": 401]
            ),
            (
                "/v1/capacity",
                ["anonymous": 401, "monitor": 200, "api": 403, "autoscaler": 200, "admin": 200, "unknown": 401]
            ),
            (
                "/v1/admin-only",
                ["anonymous": 401, "monitor": 403, "api": 403, "gateway": 403, "admin": 200, "unknown": 401]
            ),
        ]
    )
    func access(path: String, expected: [String: Int]) async throws {
        let callers: [String: HTTPFields] = [
            "anonymous": [:], "monitor": Self.bearer(Self.monitor),
            "api": Self.bearer(Self.serviceToken("wedsync-api")),
            "gateway": Self.bearer(Self.serviceToken("wedsync-gateway")),
            "autoscaler": Self.bearer(Self.serviceToken("wedsync-autoscaler")),
            "admin": Self.bearer(Self.admin), "unknown": Self.bearer("made-up-token-0123456789"),
        ]
        try await Self.makeService().buildApplication().test(.router) { client in
            for (caller, status) in expected {
                let response = try await client.execute(uri: path, method: .get, headers: callers[caller]!)
                #expect(response.status.code == status, "\(path) as \(caller): \(String(buffer: response.body))")
                if status == 401 {
                    #expect(
                        try WedSyncJSON.makeDecoder().decode(
                            ErrorEnvelope.self,
                            from: Data(response.body.readableBytesView)
                        ).error.code == "unauthorized"
                    )
                }
            }
        }
    }

    @Test(
        "The handler knows its caller; a browser may send the monitor token as Basic's password and is challenged for it"
    )
    func identities() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let api = try await client.execute(
                uri: "/v1/any-service",
                method: .get,
                headers: Self.bearer(Self.serviceToken("wedsync-api"))
            )
            #expect(String(buffer: api.body) == #"{"caller":"service:wedsync-api"}"#)
            let basic = Data("anyone:\(Self.monitor)".utf8).base64EncodedString()
            let browser = try await client.execute(
                uri: "/v1/monitor",
                method: .get,
                headers: [.authorization: "Basic \(basic)"]
            )
            #expect(String(buffer: browser.body) == #"{"caller":"monitor"}"#)
            let challenged = try await client.execute(uri: "/v1/monitor", method: .get)
            #expect(challenged.headers[values: .wwwAuthenticate].contains(#"Basic realm="wedsync monitor""#))
        }
    }

    @Test("A path the service serves with a method it does not: 405 with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let put = try await client.execute(uri: "/v1/admin-only", method: .put, headers: Self.bearer(Self.admin))
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "DELETE, GET, HEAD")
            #expect(
                try WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: Data(put.body.readableBytesView)).error
                    .code == "method_not_allowed"
            )
            #expect(try await client.execute(uri: "/health", method: .post).headers[.allow] == "GET, HEAD")
            #expect(try await client.execute(uri: "/v1/nowhere", method: .put).status == .notFound)
        }
    }

    @Test("/ready says why a dependency is down only to the monitor and admin; others get names and states")
    func readinessDetail() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            for (headers, detailed) in [
                (HTTPFields(), false), (Self.bearer(Self.serviceToken("wedsync-api")), false),
                (Self.bearer(Self.monitor), true), (Self.bearer(Self.admin), true),
            ] {
                let response = try await client.execute(uri: "/ready", method: .get, headers: headers)
                let report = try WedSyncJSON.makeDecoder().decode(
                    ReadinessReport.self,
                    from: Data(response.body.readableBytesView)
                )
                let redis = try #require(report.dependencies.first { $0.name == "redis" })
                #expect(redis.state == .down)
                #expect((redis.detail != nil) == detailed, "\(headers): \(redis.detail ?? "no detail")")
            }
        }
    }

    @Test("The OpenAPI document gives every operation its access (x-access) and security schemes")
    func documented() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView))
            let paths = try #require(document["paths"])
            #expect(paths["/v1/capacity"]?["get"]?["x-access"] == "monitor,service:wedsync-autoscaler")
            #expect(paths["/v1/api-only"]?["get"]?["x-access"] == "service:wedsync-api")
            #expect(paths["/v1/api-only"]?["get"]?["security"] == [["serviceToken": []], ["adminToken": []]])
            #expect(paths["/v1/any-service"]?["get"]?["x-access"] == "service:*")
            #expect(paths["/health"]?["get"]?["x-access"] == "public")
            #expect(paths["/v1/admin/log-level"]?["put"]?["x-access"] == "admin")
            #expect(paths["/v1/monitor"]?["get"]?["responses"]?["403"] != nil)
        }
    }
}

@Suite("Token caches: bounded, refusals apart")
struct TokenVerdictCacheTests {
    @Test("A flood of refused tokens evicts only refusals: accepted tokens stay remembered")
    func floodOfRefusals() {
        let cache = TokenVerdictCache<Int>(
            acceptedCapacity: 100,
            refusedCapacity: 50,
            acceptedFor: .seconds(60),
            refusedFor: .seconds(60)
        )
        for index in 0..<100 {
            cache.remember(.accepted(index), for: TokenVerdictCache<Int>.digest(of: "good-\(index)"))
        }
        for index in 0..<10_000 { cache.remember(.refused, for: TokenVerdictCache<Int>.digest(of: "made-up-\(index)")) }
        #expect(cache.counts.accepted == 100 && cache.counts.refused == 50)
        for index in 0..<100 {
            guard case .accepted(let value) = cache.verdict(for: TokenVerdictCache<Int>.digest(of: "good-\(index)"))
            else {
                Issue.record("good-\(index) was forgotten")
                continue
            }
            #expect(value == index)
        }
        #expect(cache.verdict(for: TokenVerdictCache<Int>.digest(of: "made-up-9999")) != nil)
        #expect(
            cache.verdict(for: TokenVerdictCache<Int>.digest(of: "made-up-0")) == nil,
            "the oldest refusals went first"
        )
    }

    @Test("Entries expire; a token's verdict can change; the least recently used accepted token goes first")
    func expiryAndOrder() {
        let cache = TokenVerdictCache<String>(
            acceptedCapacity: 2,
            refusedCapacity: 2,
            acceptedFor: .seconds(30),
            refusedFor: .seconds(5)
        )
        let start = ContinuousClock.now
        let (a, b, c) = (
            TokenVerdictCache<String>.digest(of: "a"), TokenVerdictCache<String>.digest(of: "b"),
            TokenVerdictCache<String>.digest(of: "c")
        )
        cache.remember(.accepted("A"), for: a, now: start)
        cache.remember(.accepted("B"), for: b, now: start)
        _ = cache.verdict(for: a, now: start)
        cache.remember(.accepted("C"), for: c, now: start)
        #expect(cache.verdict(for: b, now: start) == nil, "b was the least recently used")
        #expect(cache.verdict(for: a, now: start + .seconds(31)) == nil, "expired")
        cache.remember(.refused, for: c, now: start)
        guard case .refused = cache.verdict(for: c, now: start) else {
            Issue.record("a refusal replaces an acceptance")
            return
        }
    }

    @Test("LRUMap: bounded, least recently used out first, slots reused")
    func lruMap() {
        var map = LRUMap<Int, String>(capacity: 3)
        for key in 0..<3 { map.set("\(key)", for: key) }
        _ = map.value(for: 0)
        #expect(map.set("3", for: 3) == 1)
        #expect(map.peek(1) == nil && map.peek(0) == "0" && map.count == 3)
        #expect(map.remove(2) == "2")
        map.set("4", for: 4)
        map.set("5", for: 5)
        #expect(map.count == 3 && map.peek(0) == nil && map.peek(3) == "3")
    }
}

@Suite("Stream slots")
struct StreamSlotsTests {
    @Test("A slot goes back however the stream ends, even when its body never runs; a client has its share")
    func slots() throws {
        let slots = StreamSlots(maximum: 3, maximumPerClient: 2)
        var first: StreamSlot? = try slots.acquire(client: "10.0.0.1")
        let second = try slots.acquire(client: "10.0.0.1")
        #expect(throws: ServiceError.self) { try slots.acquire(client: "10.0.0.1") }
        let other = try slots.acquire(client: "10.0.0.2")
        #expect(throws: ServiceError.self) { try slots.acquire(client: "10.0.0.3") }
        // A response dropped before its body ran (the client reset first) drops its slot with it.
        var response: Response? = Response(
            status: .ok,
            body: ResponseBody { [first] writer in
                withExtendedLifetime(first) {}
                try await writer.finish(nil)
            }
        )
        first = nil
        #expect(slots.open == 3)
        response = nil
        #expect(slots.open == 2)
        _ = try slots.acquire(client: "10.0.0.1")
        withExtendedLifetime((second, other, response)) {}
    }
}
