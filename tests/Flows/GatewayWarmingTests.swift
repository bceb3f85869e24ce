import Foundation
import Logging
import NIOHTTP1
import Testing
import WedSyncCacheKit
import WedSyncCacheService
import WedSyncModels
import WedSyncPostgres
import WedSyncRedis
import WedSyncTestSupport

/// Warming that reaches the phones: the cache service reads the API's warming targets for a day and fetches each
/// page through a real gateway on its organization's behalf (its own credential and `X-Tenant-Id`, no supplier's
/// token); the suppliers' first reads through the gateway are then hits, and no warmed page reaches another tenant.
@Suite("Gateway warming: the cache service fills the gateway for the suppliers of a wedding day", .serialized)
struct GatewayWarmingTests {
    @Test(
        "Every warmed first read is a HIT with the API's own answer; another tenant's reads of the same URLs get their own; only a warming service may warm"
    )
    func warmedFirstReads() async throws {
        let database = try await SeededDatabase.create(prefix: "warming", organizations: 6)
        let pool = PostgresPool(
            name: "warming",
            configuration: try PostgresConfiguration(url: database.url),
            logger: Logger(label: "test")
        )
        // The day with the most organizations holding a booked wedding.
        let day = try await pool.query(
            """
            SELECT wedding_date::text FROM clients WHERE status = 'booked' AND deleted_at IS NULL
            GROUP BY 1 ORDER BY count(DISTINCT organization_id) DESC, count(*) DESC, 1 LIMIT 1
            """
        )[0].decode(String.self, at: 0)
        await pool.shutdown()

        let api = try ServiceProcess(
            "wedsync-api",
            environment: [
                "WEDSYNC_DATABASE_URL": TestEnvironment.throughPgBouncer(database.url), "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await api.waitUntil("/ready")
        // A Redis of the test's own: other tests' gateways share the test Redis, and their tag purges (org:1...)
        // would reach this gateway's pages over the backplane.
        let privateRedis = try await PrivateRedis.start()
        let gateway = try await GatewayProcess.start(
            arguments: [],
            environment: ["WEDSYNC_API_URL": api.baseURL, "WEDSYNC_REDIS_URL": privateRedis.url]
        )
        let cache = try ServiceProcess(
            "wedsync-cache",
            environment: [
                "WEDSYNC_REDIS_URL": privateRedis.url, "WEDSYNC_API_URL": api.baseURL,
                "WEDSYNC_GATEWAY_URL": gateway.baseURL, "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        defer {
            Task {
                try? await cache.terminate()
                try? await gateway.terminate()
                try? await api.terminate()
            }
        }
        try await cache.waitUntil("/ready")

        // The targets: only warming services and the admin may read them.
        let targetsURL = api.baseURL + APIPath.API.warmingTargets + "?date=\(day)"
        #expect(try await HTTP.get(targetsURL).status == 401)
        #expect(try await HTTP.get(targetsURL, headers: TestCredentials.asService("wedsync-metrics")).status == 403)
        let listed = try await HTTP.get(targetsURL, headers: TestCredentials.asService("wedsync-cache"))
        #expect(listed.status == 200, "\(listed.text)")
        let targets = try WedSyncJSON.makeDecoder().decode(WarmingTargets.self, from: listed.data)
        #expect(targets.organizations.count >= 2, "a busy day of the seed has several businesses")
        let pages = targets.organizations.flatMap { organization in
            organization.paths.map { (organization.organizationId, $0) }
        }
        #expect(pages.contains { $0.1.hasPrefix("/api/guest-lists?client_id=") }, "the day's couples' guest lists")

        // A supplier's token of every organization on the day, and of one organization without a wedding that day.
        var tokens: [Int: String] = [:]
        for organization in Set(targets.organizations.map(\.organizationId) + [1, 2, 3, 4, 5, 6]) {
            tokens[organization] = try await database.token(organization: organization)
        }
        // Purged first (nothing is stored yet: the purge must not disturb what follows).
        let purge = try await HTTP.send(
            .POST,
            gateway.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: String(
                decoding: try JSONEncoder().encode(["tags": (1...6).map { "org:\($0)" } + ["dashboard"]]),
                as: UTF8.self
            )
        )
        #expect(purge.status == 200, "\(purge.text)")

        // The seconds each page's L2 record has left (-2: none), as the gateway keys it (pool, tenant, target).
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: privateRedis.url),
            logger: Logger(label: "test")
        )
        func remaining() async throws -> [Int] {
            var seconds: [Int] = []
            for (organization, path) in pages {
                let record = "wsc:{gw/api|\(organization)|\(path)}:d"
                seconds.append(try await redis.send("TTL", RedisArgument(record)).int ?? -2)
            }
            return seconds
        }
        let before = try await remaining()

        // The job, as the shipped schedule submits it.
        let request = WarmRequest(
            namespace: WarmRequest.gatewayNamespace,
            concurrency: 4,
            ttl: 129_600,
            name: "wedding day",
            gateway: WarmRequest.Gateway(url: gateway.baseURL, targetsURL: targetsURL)
        )
        let submitted = try await HTTP.send(
            .POST,
            cache.baseURL + "/v1/warm",
            headers: TestCredentials.asAdmin + [("Content-Type", "application/json")],
            body: String(decoding: try WedSyncJSON.makeEncoder().encode(request), as: UTF8.self)
        )
        #expect(submitted.status == 202, "\(submitted.text)")
        var job = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: submitted.data)
        #expect(job.total == pages.count)
        #expect(
            try await eventually(timeout: .seconds(60)) {
                let progress = try await HTTP.get(
                    cache.baseURL + "/v1/jobs/\(job.id)",
                    headers: TestCredentials.asAdmin
                )
                job = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: progress.data)
                return job.state != .queued && job.state != .running
            }
        )
        #expect(job.state == .completed && job.succeeded == pages.count && job.failed == 0, "\(job.errors)")
        // Stored before the job's fetches were answered (written again now: more time left than before), each kept
        // for the job's ttl (36 h) rather than the API's minute.
        let after = try await remaining()
        #expect(zip(before, after).allSatisfy { $1 > 86_400 && $1 > $0 }, "\(before) -> \(after)")
        await redis.shutdown()

        // Every supplier's first read of a warmed page: a HIT, and exactly what the API answers that supplier.
        var misses: [String] = []
        for (organization, path) in pages {
            let token = try #require(tokens[organization])
            let direct = try await HTTP.get(api.baseURL + path, headers: [("Authorization", "Bearer \(token)")])
            let read = try await HTTP.get(gateway.baseURL + path, headers: [("Authorization", "Bearer \(token)")])
            if read.headers.first(name: "x-cache") != "HIT" || read.status != 200 || read.text != direct.text {
                misses.append(
                    "org \(organization) \(path): \(read.status) \(read.headers.first(name: "x-cache") ?? "-")"
                )
            }
        }
        #expect(misses.isEmpty, "\(misses.prefix(5))")

        // Every other tenant reading the same URLs gets its own answer (or its own 404), never the warmed one.
        var crossTenant: [String] = []
        for (organization, path) in pages {
            for (other, token) in tokens where other != organization {
                let read = try await HTTP.get(gateway.baseURL + path, headers: [("Authorization", "Bearer \(token)")])
                let own = try await HTTP.get(api.baseURL + path, headers: [("Authorization", "Bearer \(token)")])
                if read.status != own.status || read.text != own.text {
                    crossTenant.append("org \(other) read org \(organization)'s \(path): \(read.status)")
                }
            }
        }
        #expect(crossTenant.isEmpty, "\(crossTenant.prefix(5))")

        // Only a warming service warms: another service's credential with X-Tenant-Id is refused (it is no
        // supplier's token), a write is refused, and the API refuses the same on its own.
        let path = pages[0].1
        let otherService = try await HTTP.get(
            gateway.baseURL + path,
            headers: TestCredentials.asService("wedsync-metrics") + [("X-Tenant-Id", String(pages[0].0))]
        )
        #expect(otherService.status == 401)
        for base in [gateway.baseURL, api.baseURL] {
            let write = try await HTTP.send(
                .POST,
                base + "/api/guests",
                headers: TestCredentials.asService("wedsync-cache") + [
                    ("X-Tenant-Id", String(pages[0].0)), ("Content-Type", "application/json"),
                ],
                body: "{}"
            )
            #expect(write.status == 405, "\(base): \(write.text)")
        }
        let malformed = try await HTTP.get(
            gateway.baseURL + path,
            headers: TestCredentials.asService("wedsync-cache") + [("X-Tenant-Id", "1 OR 1=1")]
        )
        #expect(malformed.status == 400 && malformed.text.contains("invalid_tenant"), "\(malformed.text)")
        #expect(
            try await HTTP.get(
                api.baseURL + path,
                headers: TestCredentials.asService("wedsync-metrics") + [
                    ("X-Tenant-Id", String(pages[0].0))
                ]
            ).status == 401
        )
        #expect(
            try await HTTP.get(
                api.baseURL + path,
                headers: TestCredentials.asService("wedsync-cache") + [
                    ("X-Tenant-Id", "999999")
                ]
            ).status == 404
        )
        withExtendedLifetime(privateRedis) {}
    }
}
