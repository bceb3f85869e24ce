import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WedSyncGateway
import WedSyncModels
import WedSyncTestSupport

/// Load balancing across three real replicas: a replica that dies under load costs no idempotent request (they are
/// retried on the others within the budget), is ejected, and is re-admitted when it comes back; a drained replica
/// finishes what it has and gets nothing new.
@Suite("Gateway: load balancing, ejection, retries, draining", .serialized)
struct GatewayBalancingTests {
    static func routes(_ replicas: [ScriptedOrigin]) -> String {
        """
        upstreams:
          app:
            replicas: [\(replicas.map { "\"\($0.base)\"" }.joined(separator: ", "))]
            health-interval-ms: 200
            health-timeout-ms: 2000
            unhealthy-threshold: 2
            consecutive-failures: 2
            ejection-ms: 1000
            max-ejection-ms: 2000
            drain-timeout-ms: 10000
        routes:
          - name: app
            match: /**
            upstream: app
            access: public
            cache: false
            retries: 2
        """
    }

    static func status(_ gateway: ServiceProcess) async throws -> UpstreamPoolStatus {
        let answer = try await HTTP.get(gateway.baseURL + "/admin/upstreams", headers: GatewayProcess.admin)
        return try WedSyncJSON.makeDecoder().decode(UpstreamsStatus.self, from: answer.data).pools[0]
    }

    @Test("Killing one of three replicas under load loses no request; it is ejected, then re-admitted when it returns")
    func replicaDies() async throws {
        let replicas = [
            try await ScriptedOrigin.start(name: "r1"), try await ScriptedOrigin.start(name: "r2"),
            try await ScriptedOrigin.start(name: "r3"),
        ]
        for replica in replicas {
            replica.set("/work", headers: [("Cache-Control", "no-store")], body: "{\"origin\":\"{origin}\"}")
        }
        let gateway = try await GatewayProcess.routed(Self.routes(replicas))
        defer { Task { try? await gateway.terminate() } }
        let victim = replicas[1]
        let tally = LoadTally()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        while !tally.stop.withLock({ $0 }) {
                            do {
                                let answer = try await HTTP.get(gateway.baseURL + "/work")
                                if answer.status == 200, let name = answer.text.firstMatch(of: /"origin":"(\w+)"/)?.1 {
                                    tally.served.withLock { $0[String(name), default: 0] += 1 }
                                } else {
                                    tally.failures.withLock { $0.append("\(answer.status) \(answer.text.prefix(120))") }
                                }
                            } catch {
                                tally.failures.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
        let victimServed = await eventually(timeout: .seconds(30)) { tally.served.withLock { $0["r2"] ?? 0 } > 0 }
        #expect(victimServed, "the victim took traffic before it died")
        await victim.stop()
        let ejected = await eventually(timeout: .seconds(15)) {
            let state = (try? await Self.status(gateway))?.replicas.first { $0.address == "127.0.0.1:\(victim.port)" }?
                .state
            return state == "ejected" || state == "unhealthy"
        }
        #expect(ejected)
        // Requests that reached the dead replica failed there and were retried on the others; on a busy machine its
        // health check may take it out before any does. Read now, while those retries are in the budget's 10 s window.
        let atEjection = try await Self.status(gateway)
        let victimFailures = atEjection.replicas.first { $0.address == "127.0.0.1:\(victim.port)" }?.failures ?? 0
        #expect(
            victimFailures == 0 || atEjection.retries > 0,
            "\(victimFailures) failed on the dead replica, none retried"
        )
        try await Task.sleep(for: .seconds(1))
        let beforeReturn = tally.served.withLock { $0["r2"] ?? 0 }
        try await victim.start()
        // Each ejection in a row while it was down doubled the next (capped at 2 s here): a busy machine may need a
        // few of them before a trial request finds it back.
        let readmitted = await eventually(timeout: .seconds(30)) {
            (try? await Self.status(gateway))?.replicas.first { $0.address == "127.0.0.1:\(victim.port)" }?.state
                == "healthy"
                && tally.served.withLock { $0["r2"] ?? 0 } > beforeReturn
        }
        #expect(readmitted, "the replica came back but got no traffic")
        tally.stop.withLock { $0 = true }
        await load.value
        let status = try await Self.status(gateway)
        #expect(tally.failures.withLock { $0 }.isEmpty, "\(tally.failures.withLock { $0.prefix(5) })")
        #expect(status.retriesRefused == 0)
        for replica in replicas { await replica.stop() }
    }

    @Test(
        "Draining lets in-flight requests finish, sends nothing new, and removes the replica; registering adds it back"
    )
    func drain() async throws {
        let replicas = [try await ScriptedOrigin.start(name: "d1"), try await ScriptedOrigin.start(name: "d2")]
        for replica in replicas {
            replica.set(
                "/slow",
                .init(
                    headers: [("Cache-Control", "no-store")],
                    body: "{\"origin\":\"{origin}\"}",
                    delay: .milliseconds(800)
                )
            )
            replica.set("/fast", headers: [("Cache-Control", "no-store")], body: "{\"origin\":\"{origin}\"}")
        }
        let gateway = try await GatewayProcess.routed(Self.routes(replicas))
        defer { Task { try? await gateway.terminate() } }
        let address = "127.0.0.1:\(replicas[0].port)"
        let slow = (0..<6).map { _ in Task { try await HTTP.get(gateway.baseURL + "/slow") } }
        #expect(await eventually { replicas[0].count("/slow") > 0 }, "the first replica took some slow requests")
        let drain = try await HTTP.send(
            .DELETE,
            gateway.baseURL + "/admin/upstreams/app/replicas/\(address)?wait=true",
            headers: GatewayProcess.admin
        )
        #expect(drain.status == 200)
        for request in slow { #expect(try await request.value.status == 200) }
        #expect(try await Self.status(gateway).replicas.map(\.address) == ["127.0.0.1:\(replicas[1].port)"])
        let before = replicas[0].count("/fast")
        for _ in 0..<10 { #expect(try await HTTP.get(gateway.baseURL + "/fast").status == 200) }
        #expect(replicas[0].count("/fast") == before)
        let add = try await HTTP.send(
            .PUT,
            gateway.baseURL + "/admin/upstreams/app/replicas/\(address)",
            headers: GatewayProcess.admin
        )
        #expect(add.status == 200)
        for _ in 0..<20 { _ = try await HTTP.get(gateway.baseURL + "/fast") }
        #expect(replicas[0].count("/fast") > before)
        #expect(try await HTTP.send(.PUT, gateway.baseURL + "/admin/upstreams/app/replicas/\(address)").status == 401)
        #expect(
            try await HTTP.send(
                .PUT,
                gateway.baseURL + "/admin/upstreams/nope/replicas/\(address)",
                headers: GatewayProcess.admin
            ).status == 404
        )
        #expect(
            try await HTTP.send(
                .PUT,
                gateway.baseURL + "/admin/upstreams/app/replicas/not%20a%20host",
                headers: GatewayProcess.admin
            ).status == 400
        )
        for replica in replicas { await replica.stop() }
    }

    @Test(
        "An upstream slower than the route's timeout is a 504 envelope; a refused connection with no replica left a 502"
    )
    func timeouts() async throws {
        let origin = try await ScriptedOrigin.start(name: "t1")
        origin.set("/slow", .init(headers: [("Cache-Control", "no-store")], delay: .seconds(20)))
        let routes = """
            upstreams:
              app:
                replicas: ["\(origin.base)"]
            routes:
              - match: /**
                upstream: app
                access: public
                timeout-ms: 300
            """
        let gateway = try await GatewayProcess.routed(routes)
        defer { Task { try? await gateway.terminate() } }
        let started = ContinuousClock.now
        let slow = try await HTTP.get(gateway.baseURL + "/slow")
        #expect(slow.status == 504)
        #expect(slow.text.contains("upstream_timeout"))
        // The gateway gave up long before the origin's answer (20 s): a bound far from both, which a loaded machine
        // cannot miss.
        #expect(ContinuousClock.now - started < .seconds(15))
        await origin.stop()
        let down = try await HTTP.get(gateway.baseURL + "/anything")
        #expect(down.status == 502)
        #expect(down.text.contains("upstream_unavailable"))
    }
}

/// What a load run saw.
final class LoadTally: Sendable {
    let failures = Mutex<[String]>([])
    let served = Mutex<[String: Int]>([:])
    let stop = Mutex(false)
}
