import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncRedis
import WedSyncTestSupport

/// Tenant isolation through two gateway processes in front of a real `wedsync-api` (PostgreSQL, seeded with two
/// organizations): one organization's bodies never reach the other, a forged `X-Tenant-Id` changes nothing, and a
/// bad token is refused before the cache is asked.
@Suite("Gateway: tenant isolation in front of the demo API", .serialized)
struct GatewayTenantTests {
    /// The organization ids a body names.
    static func organizations(in text: String) -> Set<Int> {
        Set(text.matches(of: /"organizationId"\s*:\s*(\d+)/).compactMap { Int($0.1) })
    }

    static func stats(_ gateway: ServiceProcess) async throws -> Int {
        let answer = try await HTTP.get(gateway.baseURL + "/admin/cache/stats", headers: GatewayProcess.admin)
        let stats = try WedSyncJSON.makeDecoder().decode(CacheStats.self, from: answer.data)
        return stats.namespaces.first { $0.namespace == "gw" }?.lookups ?? 0
    }

    /// How the clients reach the gateways.
    enum Transport: String, CaseIterable, Sendable {
        /// Plain HTTP/1.1, a connection per request in flight.
        case http1Plain = "HTTP/1.1"
        /// TLS 1.3 and HTTP/2: each gateway's workers share one connection, both tenants' streams interleaved on it.
        case http2TLS = "HTTP/2 over TLS"
    }

    @Test(
        "Two organizations hammering the same URLs through two gateways only ever get their own data; Redis holds their pages sealed",
        arguments: Transport.allCases
    )
    func isolation(over transport: Transport) async throws {
        let api = try await DemoAPI.shared.value
        let certificates = try await TestCertificates.shared()
        let tlsPorts = (try freePort(), try freePort())
        func environment(tlsPort: Int) -> [String: String] {
            let base = ["WEDSYNC_API_URL": api.base]
            guard transport == .http2TLS else { return base }
            return base.merging(certificates.environment(port: tlsPort)) { _, new in new }
        }
        let first = try await GatewayProcess.start(arguments: [], environment: environment(tlsPort: tlsPorts.0))
        let second = try await GatewayProcess.start(arguments: [], environment: environment(tlsPort: tlsPorts.1))
        let client = transport == .http2TLS ? try certificates.client() : HTTP.client
        func base(_ gateway: ServiceProcess) -> String {
            guard transport == .http2TLS else { return gateway.baseURL }
            return "https://localhost:\(gateway === first ? tlsPorts.0 : tlsPorts.1)"
        }
        if transport == .http2TLS {
            #expect(await eventually { acceptsConnections(port: tlsPorts.0) && acceptsConnections(port: tlsPorts.1) })
        }
        defer {
            Task {
                try? await first.terminate()
                try? await second.terminate()
            }
        }
        let tokens = [(1, api.tokenOne), (2, api.tokenTwo)]
        // A client of organization 1: its detail URL is asked for by both.
        let page = try await api.get("/api/clients?limit=1", token: api.tokenOne)
        let clientID = try #require(page.text.firstMatch(of: /"id"\s*:\s*(\d+)/).flatMap { Int($0.1) })
        let urls = (1...6).map { "/api/clients?limit=\($0 * 3)" } + ["/api/clients/\(clientID)"]
        // A test Redis used before holds these URLs as an earlier run's API answered them (another seed): purged
        // first, through the gateways' own purge, so every answer below comes from this run's API.
        let purge = try await HTTP.send(
            .POST,
            first.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: String(decoding: try JSONEncoder().encode(["tags": [], "urls": urls]), as: UTF8.self)
        )
        #expect(purge.status == 200)
        var expected: [String: (status: Int, body: String)] = [:]
        for (organization, token) in tokens {
            for url in urls {
                let answer = try await api.get(url, token: token)
                expected["\(organization) \(url)"] = (answer.status, answer.text)
            }
        }
        #expect(expected["1 /api/clients/\(clientID)"]?.status == 200)
        #expect(expected["2 /api/clients/\(clientID)"]?.status == 404)

        let answers = expected
        let mismatches = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var wrong: [String] = []
                    for round in 0..<25 {
                        let (organization, token) = tokens[(worker + round) % 2]
                        let gateway = (worker / 2) % 2 == 0 ? first : second
                        let url = urls[(worker * 7 + round) % urls.count]
                        // Half the requests also claim the other organization's tenant id.
                        var headers = [("Authorization", "Bearer \(token)")]
                        if round % 2 == 1 { headers.append(("X-Tenant-Id", String(3 - organization))) }
                        let answer = try await HTTP.send(.GET, base(gateway) + url, headers: headers, client: client)
                        if transport == .http2TLS, answer.version != .http2 { wrong.append("\(url) not over HTTP/2") }
                        let want = answers["\(organization) \(url)"]!
                        let others = Self.organizations(in: answer.text).subtracting([organization])
                        if answer.status != want.status || !others.isEmpty
                            || (answer.status == 200 && answer.text != want.body)
                        {
                            wrong.append(
                                "org \(organization) \(url): \(answer.status) \(answer.headers.first(name: "x-cache") ?? "") \(others)"
                            )
                        }
                    }
                    return wrong
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        // The cache was used, by both gateways, and both tenants.
        let hit = try await HTTP.send(
            .GET,
            base(second) + urls[0],
            headers: [("Authorization", "Bearer \(api.tokenTwo)")],
            client: client
        )
        #expect(hit.headers.first(name: "x-cache") == "HIT")
        #expect(Self.organizations(in: hit.text) == [2])

        // What the gateways stored in L2 is sealed: Redis alone shows no tenant's page.
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()),
            logger: Logger(label: "test")
        )
        let records = try await redis.scanKeys(matching: "wsc:{gw/*}:d", count: 1_000)
        #expect(!records.isEmpty, "the gateways stored their pages in L2")
        for record in records {
            let raw = String(decoding: try await redis.get(record) ?? [], as: UTF8.self)
            #expect(!raw.contains("organizationId") && !raw.contains("api|"), "\(record) holds plaintext")
        }
        await redis.shutdown()
        if transport == .http2TLS { try? await client.shutdown() }
    }

    @Test(
        "A missing or invalid token is refused with 401 before any cache lookup; a forged X-Tenant-Id alone opens nothing"
    )
    func refused() async throws {
        let api = try await DemoAPI.shared.value
        let gateway = try await GatewayProcess.start(arguments: [], environment: ["WEDSYNC_API_URL": api.base])
        defer { Task { try? await gateway.terminate() } }
        let url = gateway.baseURL + "/api/clients?limit=4"
        #expect(try await HTTP.get(url, headers: [("Authorization", "Bearer \(api.tokenOne)")]).status == 200)
        let before = try await Self.stats(gateway)
        for headers in [
            [], [("Authorization", "Bearer not-a-real-token")], [("X-Tenant-Id", "1")],
            [("Authorization", "Basic dXNlcjpwdw==")],
        ] {
            let answer = try await HTTP.get(url, headers: headers)
            #expect(answer.status == 401)
            #expect(answer.text.contains("\"error\""))
            #expect(answer.headers.first(name: "www-authenticate")?.hasPrefix("Bearer") == true)
            #expect(Self.organizations(in: answer.text).isEmpty)
        }
        #expect(try await Self.stats(gateway) == before, "a refused request looked in the cache")
        // The introspection forwarded the tenant from the token, not the client's header.
        let forged = try await HTTP.get(
            url,
            headers: [("Authorization", "Bearer \(api.tokenTwo)"), ("X-Tenant-Id", "1")]
        )
        #expect(forged.status == 200)
        #expect(Self.organizations(in: forged.text) == [2])
    }
}
