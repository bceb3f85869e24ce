import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing
import WedSyncConnectionPool
import WedSyncModels
import WedSyncPostgres
import WedSyncPostgresService
import WedSyncRedisService
import WedSyncServiceKit
import WedSyncTestSupport

/// The service kit over real HTTP on loopback: graceful shutdown and service-to-service calls.
@Suite("Service kit over real HTTP", .timeLimit(.minutes(2)))
struct ServiceKitLiveTests {
    static let token = "live-test-admin-token-0123456789"

    static func configuration(port: Int, environment: [String: String] = [:]) async throws -> ServiceConfiguration {
        try await ServiceConfiguration.load(
            service: "wedsync-live-test",
            defaultPort: port,
            arguments: ["wedsync-live-test"],
            environment: ["WEDSYNC_ADMIN_TOKEN": token, "WEDSYNC_DATABASE_URL": try TestEnvironment.databaseURL()]
                .merging(environment) { _, new in new }
        )
    }

    /// Runs `service` in a ServiceGroup until `body` returns, then shuts it down gracefully.
    static func serve(
        _ service: ServiceBuilder,
        _ body: @Sendable (String, ServiceGroup) async throws -> Void
    ) async throws {
        let group = ServiceGroup(
            configuration: .init(services: [service.buildApplication()], logger: Logger(label: "test"))
        )
        let base = "http://127.0.0.1:\(service.configuration.port)"
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await eventually { (try? await HTTP.get("\(base)/health").status) == 200 })
            try await body(base, group)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("On graceful shutdown, a request in flight finishes, new ones are refused, and pools close")
    func gracefulShutdown() async throws {
        let port = try freePort()
        let service = ServiceBuilder(configuration: try await Self.configuration(port: port), summary: "test")
        let database = try service.postgres()
        // The slow request holds its connection until the shutdown has begun (or for a minute, should the test fail
        // first): it is surely in flight then, however the machine schedules it.
        let shutdownBegun = Flag()
        service.routes.get("/v1/slow", RouteSpec(summary: "Takes a while", access: .public)) { _, _ -> [String: Int] in
            try await database.read.withConnection { connection in
                let deadline = ContinuousClock.now + .seconds(60)
                while !shutdownBegun.isRaised, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let rows = try await connection.query("SELECT 7::int AS answer, pg_sleep(0.1)")
                return ["answer": try rows[0].decode(Int.self, at: 0)]
            }
        }
        try await Self.serve(service) { base, group in
            let slow = Task { try await HTTP.get("\(base)/v1/slow") }
            #expect(await eventually(timeout: .seconds(30)) { database.primary.statistics.inUse == 1 })
            await group.triggerGracefulShutdown()
            #expect(await eventually(timeout: .seconds(30)) { !acceptsConnections(port: port) })
            shutdownBegun.raise()
            let answer = try await slow.value
            #expect(answer.status == 200)
            #expect(try JSONDecoder().decode([String: Int].self, from: answer.data) == ["answer": 7])
        }
        #expect(await eventually { database.primary.statistics.size == 0 })
        await #expect(throws: (any Error).self) { _ = try await database.primary.query("SELECT 1") }
    }

    @Test("/ready answers 503 naming a critical dependency that is down, 200 degraded for a non-critical one")
    func readiness() async throws {
        let deadPort = try freePort()
        let service = ServiceBuilder(
            configuration: try await Self.configuration(
                port: try freePort(),
                environment: ["WEDSYNC_REDIS_URL": "redis://127.0.0.1:\(deadPort)"]
            ),
            summary: "test"
        )
        _ = try service.postgres(critical: true)
        _ = try service.redis(critical: false)
        try await Self.serve(service) { base, _ in
            let degraded = try await HTTP.get("\(base)/ready")
            #expect(degraded.status == 200)
            let report = try WedSyncJSON.makeDecoder().decode(ReadinessReport.self, from: degraded.data)
            #expect(report.status == "degraded")
            #expect(report.dependencies.first { $0.name == "database" }?.state == .up)
            #expect(report.dependencies.first { $0.name == "redis" }?.state == .down)
        }

        let strict = ServiceBuilder(
            configuration: try await Self.configuration(
                port: try freePort(),
                environment: ["WEDSYNC_REDIS_URL": "redis://127.0.0.1:\(deadPort)"]
            ),
            summary: "test"
        )
        _ = try strict.redis(critical: true)
        try await Self.serve(strict) { base, _ in
            let down = try await HTTP.get("\(base)/ready")
            #expect(down.status == 503)
            let body = try WedSyncJSON.makeDecoder().decode(NotReadyResponse.self, from: down.data)
            #expect(body.error.code == "not_ready")
            #expect(body.error.message.contains("redis"))
            #expect(body.dependencies.map(\.name) == ["redis"])
            let metrics = try await HTTP.get("\(base)/metrics")
            #expect(metrics.text.contains(#"dependency_up{dependency="redis"} 0"#))
        }
    }

    @Test("The service client passes the request id on, sends the admin token, and decodes remote errors")
    func serviceClient() async throws {
        let upstream = ServiceBuilder(
            configuration: try await Self.configuration(port: try freePort()),
            summary: "upstream"
        )
        upstream.routes.get("/v1/whoami", RouteSpec(summary: "Echo what arrived", access: .public)) {
            request,
            context in
            [
                "requestID": context.requestID,
                "authorization": request.headers[.authorization] == "Bearer \(Self.token)" ? "admin" : "none",
            ]
        }
        // Answers only once the test has seen the caller give up (or after 30 s): no deadline is met by chance, and the
        // shutdown afterwards waits for nothing.
        let callerGaveUp = Flag()
        upstream.routes.get("/v1/sleepy", RouteSpec(summary: "Answers late", access: .public)) {
            _,
            _ -> [String: String] in
            let deadline = ContinuousClock.now + .seconds(30)
            while !callerGaveUp.isRaised, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            return [:]
        }
        try await Self.serve(upstream) { base, _ in
            // A deadline no answer of this upstream needs, however loaded the machine; the sleepy route never meets it.
            let client = ServiceClient(name: "upstream", baseURL: base, token: Self.token, timeout: .seconds(20))
            let seen = try await RequestID.$current.withValue("phone-request-7") {
                try await client.get("/v1/whoami", as: [String: String].self)
            }
            #expect(seen == ["requestID": "phone-request-7", "authorization": "admin"])

            do {
                _ = try await client.get("/v1/missing", as: [String: String].self)
                Issue.record("a 404 was decoded as success")
            } catch let error as ServiceClientError {
                #expect(error.kind == .remote)
                #expect(error.status == 404)
                #expect(error.remote?.code == "not_found")
            }

            do {
                _ = try await ServiceClient(name: "upstream", baseURL: base, timeout: .milliseconds(500)).get(
                    "/v1/sleepy",
                    as: [String: String].self
                )
                Issue.record("an answer held back until the caller gave up beat a 500 ms deadline")
            } catch let error as ServiceClientError {
                #expect(error.kind == .timeout)
            }
            callerGaveUp.raise()

            do {
                _ = try await client.get("/health", as: [Int].self)
                Issue.record("an object decoded as an array")
            } catch let error as ServiceClientError {
                #expect(error.kind == .invalidResponse)
            }
        }

        // A refused connection is reported at once, not after the deadline: a bound far from both, which a loaded
        // machine cannot miss.
        let nowhere = ServiceClient(
            name: "nowhere",
            baseURL: "http://127.0.0.1:\(try freePort())",
            timeout: .seconds(60)
        )
        let start = ContinuousClock.now
        do {
            _ = try await nowhere.get("/health", as: HealthReport.self)
            Issue.record("a closed port answered")
        } catch {
            #expect(error.kind == .unreachable)
        }
        let refusedAfter = ContinuousClock.now - start
        #expect(refusedAfter < .seconds(30), "a refused connection should not wait for the 60 s deadline")
        print("service client: a refused connection reported after \(refusedAfter)")
    }
}
