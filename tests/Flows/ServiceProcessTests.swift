import Foundation
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

/// Every service executable, started for real on loopback with real dependencies, as `scripts/stack` runs it.
@Suite("Service executables", .serialized, .timeLimit(.minutes(2)))
struct ServiceProcessTests {
    static let token = "process-test-admin-token-0123456789"

    static let services = [
        "wedsync-api", "wedsync-cache", "wedsync-query-optimizer", "wedsync-metrics", "wedsync-autoscaler",
        "wedsync-gateway",
    ]

    /// Starts the services `name` depends on, then `name` pointing at them.
    static func start(_ name: String, environment extra: [String: String] = [:]) async throws -> (
        ServiceProcess, [ServiceProcess]
    ) {
        var environment = [
            "WEDSYNC_ADMIN_TOKEN": token,
            "WEDSYNC_DATABASE_URL": try TestEnvironment.databaseURL(),
            "WEDSYNC_REDIS_URL": try TestEnvironment.redisURL(),
        ]
        var dependencies: [ServiceProcess] = []
        if name == "wedsync-gateway" {
            let api = try ServiceProcess("wedsync-api", environment: environment)
            try await api.waitUntil("/ready")
            environment["WEDSYNC_API_URL"] = api.baseURL
            dependencies.append(api)
        }
        if name == "wedsync-api" {
            // The API reports its writes to the cache service, and its queries to the metrics service and the
            // query optimizer.
            let cache = try ServiceProcess("wedsync-cache", environment: environment)
            let metrics = try ServiceProcess("wedsync-metrics", environment: environment)
            let optimizer = try ServiceProcess("wedsync-query-optimizer", environment: environment)
            try await cache.waitUntil("/ready")
            try await metrics.waitUntil("/ready")
            try await optimizer.waitUntil("/ready")
            environment["WEDSYNC_CACHE_URL"] = cache.baseURL
            environment["WEDSYNC_METRICS_URL"] = metrics.baseURL
            environment["WEDSYNC_OPTIMIZER_URL"] = optimizer.baseURL
            dependencies += [cache, metrics, optimizer]
        }
        if name == "wedsync-autoscaler" || name == "wedsync-query-optimizer" {
            // The autoscaler reads the metrics service; the optimizer sends its findings there.
            let metrics = try ServiceProcess("wedsync-metrics", environment: environment)
            try await metrics.waitUntil("/ready")
            environment["WEDSYNC_METRICS_URL"] = metrics.baseURL
            dependencies.append(metrics)
        }
        let service = try ServiceProcess(name, environment: environment.merging(extra) { _, new in new })
        return (service, dependencies)
    }

    /// The C libraries each executable may link: only the services that use a database link libpq, only those that
    /// use Redis link hiredis.
    static let cLibraries: [(service: String, links: Set<String>)] = [
        ("wedsync-api", ["libpq"]), ("wedsync-query-optimizer", ["libpq"]), ("wedsync-cache", ["libhiredis"]),
        ("wedsync-gateway", ["libhiredis"]), ("wedsync-metrics", ["libsqlite3", "libcurl"]), ("wedsync-autoscaler", []),
    ]

    @Test("Each executable links only the C libraries of what it uses (ldd)", arguments: cLibraries)
    func linkedLibraries(service: String, links: Set<String>) async throws {
        let result = try await run("/usr/bin/ldd", [try TestEnvironment.binDirectory() + "/" + service])
        #expect(result.status == 0, "\(result.output)")
        let linked = Set(
            ["libpq", "libhiredis", "libsqlite3", "libcurl"].filter { library in result.output.contains(library + ".so")
            }
        )
        #expect(linked == links, "\(service) links \(linked.sorted())")
    }

    @Test(
        "Each service answers /health, /ready, valid Prometheus /metrics and valid OpenAPI 3.1, and stops on SIGTERM",
        arguments: services
    )
    func commonRoutes(name: String) async throws {
        let (service, dependencies) = try await Self.start(name)
        try await service.waitUntil("/ready", status: 200)

        let health = try await HTTP.get("\(service.baseURL)/health")
        #expect(health.status == 200)
        #expect(try WedSyncJSON.makeDecoder().decode(HealthReport.self, from: health.data).service == name)

        // Ready with every dependency checked: a non-critical one (Redis for a cache) can read as degraded for a
        // moment after start on a loaded machine, and /ready answers 200 either way.
        var report: ReadinessReport?
        let allReady = try await eventually(timeout: .seconds(20)) {
            let ready = try await HTTP.get("\(service.baseURL)/ready")
            report = try? WedSyncJSON.makeDecoder().decode(ReadinessReport.self, from: ready.data)
            return report?.status == "ready"
        }
        #expect(allReady, "last readiness report: \(String(describing: report))")

        _ = try await HTTP.get("\(service.baseURL)/nowhere")
        let metrics = try await HTTP.get("\(service.baseURL)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("http_requests_total"))
        #expect(metrics.text.contains("http_request_duration_seconds_bucket"))
        // The pools' statistics are exported too (the database pool in the services that have one, Redis in those).
        let pool = [
            "wedsync-api": "postgres-primary", "wedsync-query-optimizer": "postgres-primary", "wedsync-cache": "redis",
            "wedsync-gateway": "redis",
        ][name]
        if let pool {
            #expect(metrics.text.contains(#"connection_pool_connections{pool="\#(pool)",state="idle"}"#))
            #expect(metrics.text.contains(#"connection_pool_acquires_total{pool="\#(pool)"}"#))
            #expect(metrics.text.contains(#"connection_pool_acquire_p99_seconds{pool="\#(pool)"}"#))
        }
        let promtool = try await run("/usr/bin/promtool", ["check", "metrics"], input: metrics.data)
        #expect(promtool.status == 0, "promtool check metrics: \(promtool.output)")

        let document = try await HTTP.get("\(service.baseURL)/openapi.json")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(name)-openapi-\(UUID().uuidString.prefix(6)).json"
        )
        try document.data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let validator = try await run("/usr/bin/env", ["python3", "-m", "openapi_spec_validator", file.path])
        #expect(validator.status == 0, "openapi-spec-validator: \(validator.output)")
        #expect(document.text.contains(#""openapi":"3.1.0""#))

        #expect(try await service.terminate() == 0, "\(service.log)")
        for dependency in dependencies { try await dependency.terminate() }
    }

    @Test("A missing admin token is a 401 and a malformed body a 400, both in the error envelope", arguments: services)
    func errorEnvelopes(name: String) async throws {
        let (service, dependencies) = try await Self.start(name)
        try await service.waitUntil("/health")
        let url = "\(service.baseURL)\(APIPath.Common.logLevel)"

        let anonymous = try await HTTP.send(
            .PUT,
            url,
            headers: [("content-type", "application/json")],
            body: #"{"level":"debug"}"#
        )
        #expect(anonymous.status == 401)
        #expect(
            try WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: anonymous.data).error.code == "unauthorized"
        )

        let admin = [("authorization", "Bearer \(Self.token)"), ("content-type", "application/json")]
        let malformed = try await HTTP.send(.PUT, url, headers: admin, body: #"{"level": "#)
        #expect(malformed.status == 400)
        #expect(
            try WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: malformed.data).error.code == "invalid_body"
        )

        let changed = try await HTTP.send(.PUT, url, headers: admin, body: #"{"level":"debug"}"#)
        #expect(changed.status == 200)
        #expect(
            try WedSyncJSON.makeDecoder().decode(LogLevelSetting.self, from: changed.data)
                == LogLevelSetting(level: "debug")
        )

        try await service.terminate()
        for dependency in dependencies { try await dependency.terminate() }
    }

    @Test("JSON logs carry the request id and never the admin token")
    func jsonLogs() async throws {
        let (service, _) = try await Self.start(
            "wedsync-cache",
            environment: ["WEDSYNC_LOG_FORMAT": "json", "WEDSYNC_LOG_LEVEL": "debug"]
        )
        try await service.waitUntil("/ready")
        _ = try await HTTP.get(
            "\(service.baseURL)/v1/admin/log-level",
            headers: [("x-request-id", "trace-abc-123"), ("authorization", "Bearer \(Self.token)")]
        )
        try await service.terminate()
        let lines = service.log.split(separator: "\n").filter { !$0.isEmpty }
        #expect(!lines.isEmpty)
        var sawRequest = false
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil, "not a JSON log line: \(line)")
            if object?["request.id"] as? String == "trace-abc-123",
                object?["http.route"] as? String == "/v1/admin/log-level"
            {
                sawRequest = true
                #expect(object?["http.status"] as? String == "200")
            }
        }
        #expect(sawRequest, "no log line for the request:\n\(service.log)")
        #expect(!service.log.contains(Self.token))
    }

    @Test("A bad setting stops the service before it listens, naming the setting")
    func badSetting() async throws {
        let service = try ServiceProcess("wedsync-api", environment: ["WEDSYNC_DATABASE_URL": "mysql://nope"])
        #expect(await service.waitForExit() == 2)
        #expect(service.log.contains("database.url"))
        #expect(service.log.contains("WEDSYNC_DATABASE_URL"))
    }
}
