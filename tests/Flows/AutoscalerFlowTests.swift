import Foundation
import Synchronization
import Testing
import WedSyncModels
import WedSyncTestSupport

/// The autoscaler end to end, on real processes wired as `scripts/stack` wires them: a load ramp from the load tester
/// through the gateway makes the autoscaler (its local actuator) start API replicas, the gateway routes to them and
/// the load's p95 recovers; when the load falls, they are drained and stopped while it still runs, and not one
/// request fails. Every request is counted.
///
/// A replica's capacity here is its database pool of one connection (`database.pool.max: 1`) to a database 20 ms
/// away each way (through `tests/tools/latency-proxy.py`, as a database in another region is): about 22 requests a
/// second, whatever the machine's cores. On two cores shared by every process, that (not CPU) is what one more
/// replica adds here, as one more pod adds its node's share in a cluster. The load is the dashboard, one statement.
/// It measures latency, so `scripts/test` runs it alone, after the other suites.
@Suite(
    "Autoscaler end to end: load starts API replicas, the gateway routes to them, they drain when it falls",
    .serialized
)
struct AutoscalerFlowTests {
    /// The offered load: the ramp's top, and the rate it falls to.
    static let peakRate = 35
    static let lowRate = 8
    /// Requests per second one replica is scaled for, and the p95 it is held to (the autoscaling file's targets).
    static let targetPerReplica = 15
    static let targetP95Ms = 250
    /// Each way between the API's replicas and PostgreSQL.
    static let databaseDelayMs = 20

    /// One second of the load tester's run (`--ndjson`).
    struct Point: Decodable {
        var t: Int
        var requests: Int
        var failures: Int
        var p95: Double
    }

    /// The part of the load tester's `--json` summary read here.
    struct Summary: Decodable {
        struct Figures: Decodable {
            var requests: Int
            var failures: Int
            var statuses: [String: Int]
        }
        var scheduled: Int
        var dropped: Int
        var overall: Figures
    }

    /// What the test saw of the gateway's pool while the load ran.
    struct Observed {
        /// Seconds after the load started when a replica the autoscaler started first served a request.
        var scaledUpAt: Double?
        /// The most replicas the pool had serving at once.
        var mostReplicas = 1
        /// Seconds after the load started when the pool was back to the stack's one replica, all started ones gone.
        var scaledDownAt: Double?
        /// The addresses the autoscaler registered.
        var added: Set<String> = []
    }

    struct Pools: Decodable {
        struct Pool: Decodable {
            struct Replica: Decodable {
                var address: String
                var state: String
                var requests: Int
            }
            var name: String
            var replicas: [Replica]
        }
        var pools: [Pool]
    }

    @Test("A ramp starts replicas and p95 recovers; as it falls they drain and stop without one failed request")
    func scalesOutAndIn() async throws {
        let seeded = try await SeededDatabase.create(prefix: "autoscale", organizations: 2)
        let token = try await seeded.token(organization: 1)
        let bin = try TestEnvironment.binDirectory()
        let ports = (api: try freePort(), metrics: try freePort(), gateway: try freePort(), autoscaler: try freePort())
        let url = { (port: Int) in "http://127.0.0.1:\(port)" }
        let proxy = try await LatencyProxy(to: seeded.url, delayMs: Self.databaseDelayMs)
        defer { proxy.stop() }
        let replica = [
            "WEDSYNC_DATABASE_URL": proxy.url, "WEDSYNC_METRICS_URL": url(ports.metrics),
            "WEDSYNC_CACHE_URL": url(ports.metrics), "WEDSYNC_OPTIMIZER_URL": url(ports.metrics),
            "WEDSYNC_DATABASE_POOL_MAX": "1", "WEDSYNC_DATABASE_POOL_ACQUIRE_TIMEOUT_MS": "30000",
            "WEDSYNC_LOG_LEVEL": "warning",
        ]
        // The replicas the autoscaler starts get the API's own environment, its credential with it.
        let replicaEnvironment = TestEnvironment.temporaryPath("replica", suffix: ".env")
        let variables = replica.merging(TestCredentials.environment(for: "wedsync-api")) { $1 }
            .merging(["WEDSYNC_API_MIGRATE_ON_START": "false"]) { $1 }
        try variables.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n")
            .write(toFile: replicaEnvironment, atomically: true, encoding: .utf8)

        let metrics = try ServiceProcess(
            "wedsync-metrics",
            port: ports.metrics,
            environment: [
                "WEDSYNC_METRICS_DATABASE": TestEnvironment.temporaryPath("metrics-autoscale", suffix: ".sqlite3"),
                "WEDSYNC_METRICS_SYSTEM_SAMPLE_MS": "0", "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        let api = try ServiceProcess("wedsync-api", port: ports.api, environment: replica)
        let routes = TestEnvironment.temporaryPath("gateway-autoscale", suffix: ".yaml")
        try """
        upstreams:
          api:
            health-path: /health
            health-interval-ms: 500
            healthy-threshold: 1
            drain-timeout-ms: 30000
        routes:
          - name: api
            match: /api/**
            upstream: api
            cache: false
            retries: 0
            timeout-ms: 60000
        """.write(toFile: routes, atomically: true, encoding: .utf8)
        let gateway = try ServiceProcess(
            "wedsync-gateway",
            port: ports.gateway,
            environment: [
                "WEDSYNC_API_URL": url(ports.api), "WEDSYNC_METRICS_URL": url(ports.metrics),
                "WEDSYNC_REDIS_URL": try TestEnvironment.stackRedisURL(),
                "WEDSYNC_CACHE_ENCRYPTION_KEY": GatewayProcess.encryptionKey, "WEDSYNC_GATEWAY_ROUTES_FILE": routes,
                "WEDSYNC_OUTBOUND_ALLOWED_ORIGINS": "http://127.0.0.1:*", "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        let file = TestEnvironment.temporaryPath("autoscaling", suffix: ".yaml")
        try """
        interval-seconds: 1
        targets:
          api:
            pool: api
            min-replicas: 1
            max-replicas: 3
            metrics:
              - type: requests-per-replica
                target: \(Self.targetPerReplica)
              - type: p95-latency-ms
                target: \(Self.targetP95Ms)
            behavior:
              # A surge must hold 10 s before replicas are added (as HPA's scale-up window does): the seconds
              # before are the saturated replica's, measured.
              scale-up:
                stabilization-seconds: 10
                select-policy: Max
                policies:
                  - {type: Percent, value: 100, period-seconds: 15}
                  - {type: Pods, value: 4, period-seconds: 15}
              scale-down:
                stabilization-seconds: 5
                select-policy: Max
                policies:
                  - {type: Pods, value: 1, period-seconds: 3}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let autoscaler = try ServiceProcess(
            "wedsync-autoscaler",
            port: ports.autoscaler,
            environment: [
                "WEDSYNC_AUTOSCALER_FILE": file, "WEDSYNC_AUTOSCALER_ACTUATOR": "local",
                "WEDSYNC_AUTOSCALER_LOCAL_API_COMMAND": bin + "/wedsync-api",
                "WEDSYNC_AUTOSCALER_LOCAL_API_ENV_FILE": replicaEnvironment,
                "WEDSYNC_GATEWAY_URL": url(ports.gateway), "WEDSYNC_METRICS_URL": url(ports.metrics),
                "WEDSYNC_API_URL": url(ports.api), "WEDSYNC_LOG_LEVEL": "info",
            ]
        )
        // The autoscaler stops first: it drains and stops the replicas it started while the gateway still runs.
        let services = [autoscaler, gateway, api, metrics]
        do {
            for service in services.reversed() { try await service.waitUntil("/ready") }
            try await loadAndWatch(
                ports: ports,
                token: token,
                autoscaler: autoscaler
            )
        } catch {
            for service in services { _ = try? await service.terminate() }
            throw error
        }
        for service in services { _ = try? await service.terminate() }
    }

    /// Runs the load and watches the gateway's pool; then checks what the load tester and the pool said.
    func loadAndWatch(
        ports: (api: Int, metrics: Int, gateway: Int, autoscaler: Int),
        token: String,
        autoscaler: ServiceProcess
    ) async throws {
        let bin = try TestEnvironment.binDirectory()
        let url = { (port: Int) in "http://127.0.0.1:\(port)" }

        // The load: a 5 s ramp to the peak, held 75 s; then down to the low rate for 75 s.
        let scenario = TestEnvironment.temporaryPath("autoscale-load", suffix: ".yaml")
        try """
        name: autoscaling-ramp
        description: the dashboard ramped past one replica's capacity, held, then low
        headers: {Authorization: "Bearer ${WEDSYNC_TOKEN}"}
        model:
          open:
            stages:
              - {duration: 5s, target: \(Self.peakRate)}
              - {duration: 75s, target: \(Self.peakRate)}
              - {duration: 1s, target: \(Self.lowRate)}
              - {duration: 75s, target: \(Self.lowRate)}
        requests:
          - name: dashboard
            path: /api/dashboard
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let points = TestEnvironment.temporaryPath("autoscale-points", suffix: ".ndjson")
        let output = TestEnvironment.temporaryPath("autoscale-summary", suffix: ".json")
        let started = ContinuousClock.now
        let finished = Flag()
        let gatewayURL = url(ports.gateway)
        let load = Task {
            defer { finished.raise() }
            return try await runToFile(
                bin + "/wedsync-load",
                ["--url", gatewayURL, "--scenario", scenario, "--json", "--ndjson", points, "--timeout", "60s"],
                output: output,
                environment: ["WEDSYNC_TOKEN": token]
            )
        }

        // Watch the gateway's pool while the load runs: when a started replica first serves, and when the pool is
        // back to the stack's one replica.
        let base = "127.0.0.1:\(ports.api)"
        let admin = [("Authorization", "Bearer \(TestCredentials.admin)")]
        var observed = Observed()
        while !finished.isRaised {
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            if let answer = try? await HTTP.get(url(ports.gateway) + "/admin/upstreams", headers: admin),
                let pools = try? JSONDecoder().decode(Pools.self, from: answer.data),
                let pool = pools.pools.first(where: { $0.name == "api" })
            {
                let others = pool.replicas.filter { $0.address != base }
                observed.added.formUnion(others.map(\.address))
                let serving = pool.replicas.filter { $0.state != "draining" }
                observed.mostReplicas = max(observed.mostReplicas, serving.count)
                if observed.scaledUpAt == nil, others.contains(where: { $0.requests > 0 }) {
                    observed.scaledUpAt = seconds
                }
                if observed.scaledUpAt != nil, observed.scaledDownAt == nil, pool.replicas.map(\.address) == [base] {
                    observed.scaledDownAt = seconds
                }
            }
            if observed.scaledDownAt != nil { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let status = try await load.value
        let summaryText = try String(contentsOfFile: output, encoding: .utf8)
        #expect(status == 0, "wedsync-load: \(summaryText.suffix(2_000))")
        let summary = try JSONDecoder().decode(Summary.self, from: Data(summaryText.utf8))
        let seconds = try String(contentsOfFile: points, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Point.self, from: Data($0.utf8))
        }

        // Scaled out while the peak held, and a started replica served.
        let up = try #require(observed.scaledUpAt, "no replica was started and served: \(autoscaler.log.suffix(3_000))")
        #expect(up < 60, "scaled up during the peak, at \(up) s")
        #expect(observed.mostReplicas >= 2, "replicas at most: \(observed.mostReplicas)")
        // p95 recovers: the seconds of the peak before the first new replica served against those from 10 s after it.
        let before = seconds.filter { $0.t >= 5 && Double($0.t) < up }.map(\.p95)
        let after = seconds.filter { Double($0.t) >= up + 10 && $0.t < 80 }.map(\.p95)
        try #require(before.count >= 3 && after.count >= 5, "peak seconds before \(before.count), after \(after.count)")
        let (worst, settled) = (median(before.suffix(5)), median(after))
        #expect(settled * 2 < worst, "p95 before scaling \(worst) ms, after \(settled) ms")

        let figures = String(
            format:
                "autoscaler e2e: scaled up at %.0f s to %d replicas; p95 %.0f ms before, %.0f ms after; back to one at %@ s; %d requests, %d failed",
            up,
            observed.mostReplicas,
            worst,
            settled,
            observed.scaledDownAt.map { String(format: "%.0f", $0) } ?? "-",
            summary.overall.requests,
            summary.overall.failures
        )
        print(figures)
        for line in autoscaler.log.split(separator: "\n") where line.contains("replica started") { print(line) }
        // Scaled in while the low rate still ran, and every started replica's process is gone.
        let down = try #require(
            observed.scaledDownAt,
            "the pool never came back to one replica: \(autoscaler.log.suffix(3_000))"
        )
        #expect(down > 80 && down < 155, "scaled down while the low rate ran, at \(down) s")
        for address in observed.added {
            let port = Int(address.split(separator: ":").last ?? "") ?? 0
            #expect(!acceptsConnections(port: port), "\(address) still runs")
        }
        // Not one request failed, from the ramp to the last: each was answered 200, and each is counted.
        #expect(summary.overall.failures == 0, "\(summary.overall.statuses)")
        #expect(summary.overall.statuses == ["200": summary.overall.requests], "\(summary.overall.statuses)")
        #expect(summary.overall.requests == summary.scheduled - summary.dropped)
        #expect(seconds.reduce(0) { $0 + $1.failures } == 0)
    }

    func median(_ values: some Collection<Double>) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

}

/// Runs a command with its standard output to `output` (its standard error to the test's); returns its exit status.
func runToFile(_ executable: String, _ arguments: [String], output: String, environment: [String: String]) async throws
    -> Int32
{
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.standardOutput = FileHandle(forWritingAtPath: output)
    process.standardError = FileHandle.nullDevice
    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}
