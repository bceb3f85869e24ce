import Foundation
import Logging
import NIOHTTP1
import WedSyncServiceKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scales a target by running its replicas as processes on this machine, the local stack's scaling: a new replica
/// is started on a free loopback port, waited for until its `/ready` answers 200, then registered in the gateway's
/// pool; a replica to remove is drained by the gateway first (no new request reaches it, those under way finish),
/// then stopped (SIGTERM, SIGKILL 10 s later). Only replicas it started are ever stopped; the stack's own stay.
/// When the autoscaler stops, the replicas it started are drained and stopped with it.
///
/// | key | meaning |
/// |---|---|
/// | `autoscaler.local.<target>.command` | the executable of a replica (`.build/release/wedsync-api`) |
/// | `autoscaler.local.<target>.env-file` | the replica's environment, `KEY=VALUE` lines (its own `service.token`, the database...); `WEDSYNC_HOST`, `WEDSYNC_PORT` and `WEDSYNC_REPLICA_OWNER` (the log directory) are set here |
/// | `autoscaler.local.log-dir` | where each replica's output goes (default: the temporary directory) |
/// | `autoscaler.local.startup-timeout-ms` | how long a new replica may take to be ready (default 60000) |
/// | `gateway.url` | the gateway whose pools the replicas join (default `http://127.0.0.1:8080`); its admin routes take this service's token |
///
/// A target without a command (the cache, whose replicas nothing on one machine balances) is decided on as dry-run
/// decides: its replicas are remembered, never started.
public actor LocalProcessActuator: ReplicaActuator {
    /// How one target's replicas are started.
    public struct Launch: Sendable, Equatable {
        public var command: String
        public var environment: [String: String]

        public init(command: String, environment: [String: String]) {
            self.command = command
            self.environment = environment
        }
    }

    /// A replica this actuator started.
    struct Replica {
        let pool: String
        let port: Int
        let process: Process
        var address: String { "127.0.0.1:\(port)" }
    }

    /// The part of the gateway's `UpstreamsStatus` read here.
    struct Upstreams: Decodable {
        struct Pool: Decodable {
            struct Replica: Decodable {
                var address: String
                var state: String
            }
            var name: String
            var replicas: [Replica]
        }
        var pools: [Pool]
    }

    /// The environment variable naming the replica's owner.
    public static let ownerVariable = "WEDSYNC_REPLICA_OWNER"

    let launches: [String: Launch]
    let gateway: ServiceClient
    let logDirectory: String
    let startupTimeout: Duration
    let logger: Logger
    /// Per target, the replicas started here, oldest first.
    private var started: [String: [Replica]] = [:]
    /// The targets without a command.
    let dryRun: DryRunActuator

    public init(
        launches: [String: Launch],
        gateway: ServiceClient,
        logDirectory: String = NSTemporaryDirectory(),
        startupTimeout: Duration = .seconds(60),
        logger: Logger
    ) {
        self.launches = launches
        self.gateway = gateway
        self.logDirectory = logDirectory
        self.startupTimeout = startupTimeout
        self.logger = logger
        self.dryRun = DryRunActuator(logger: logger)
    }

    /// The actuator the service's settings describe (the keys above), for `targets`.
    public init(configuration: ServiceConfiguration, targets: [ScalingTarget], logger: Logger)
        throws(ConfigurationError)
    {
        let settings = configuration.settings
        var launches: [String: Launch] = [:]
        for target in targets {
            let commandKey = "autoscaler.local.\(target.name).command"
            guard let command = settings.string(commandKey) else { continue }
            guard FileManager.default.isExecutableFile(atPath: command) else {
                throw ConfigurationError(key: commandKey, message: "\(command) is not an executable file")
            }
            let envKey = "autoscaler.local.\(target.name).env-file"
            var environment: [String: String] = [:]
            if let path = settings.string(envKey) {
                environment = try Self.environment(file: path, key: envKey)
            }
            launches[target.name] = Launch(command: command, environment: environment)
        }
        let gatewayURL = try settings.httpURL("gateway.url", default: "http://127.0.0.1:8080")
        self.init(
            launches: launches,
            gateway: ServiceClient(
                name: "gateway",
                baseURL: gatewayURL,
                token: configuration.serviceToken,
                timeout: .seconds(5)
            ),
            logDirectory: settings.string("autoscaler.local.log-dir") ?? NSTemporaryDirectory(),
            startupTimeout: try settings.milliseconds(
                "autoscaler.local.startup-timeout-ms",
                default: .seconds(60),
                in: 1_000...600_000
            ),
            logger: logger
        )
    }

    /// `KEY=VALUE` lines; blank lines and `#` comments skipped.
    static func environment(file path: String, key: String) throws(ConfigurationError) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(key: key, message: "cannot read \(path)")
        }
        var environment: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                throw ConfigurationError(key: key, message: "line \(number + 1) of \(path) is not KEY=VALUE")
            }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return environment
    }

    public func replicas(of target: ScalingTarget) async throws(ActuatorError) -> ReplicaCount {
        guard launches[target.name] != nil else { return try await dryRun.replicas(of: target) }
        let pool = try await pool(of: target)
        let serving = pool.replicas.filter { $0.state != "draining" }
        return ReplicaCount(current: serving.count, ready: serving.filter { $0.state == "healthy" }.count)
    }

    func pool(of target: ScalingTarget) async throws(ActuatorError) -> Upstreams.Pool {
        let upstreams: Upstreams
        do {
            upstreams = try await gateway.get("/admin/upstreams", as: Upstreams.self)
        } catch {
            throw ActuatorError(target: target.name, message: "the gateway's pools are unreadable: \(error)")
        }
        guard let pool = upstreams.pools.first(where: { $0.name == target.pool }) else {
            throw ActuatorError(target: target.name, message: "the gateway has no pool \(target.pool)")
        }
        return pool
    }

    public func scale(_ target: ScalingTarget, to replicas: Int) async throws(ActuatorError) {
        guard let launch = launches[target.name] else { return try await dryRun.scale(target, to: replicas) }
        let current = try await self.replicas(of: target).current
        if replicas > current {
            try await start(replicas - current, of: target, launch: launch)
        } else if replicas < current {
            await stop(current - replicas, of: target.name)
        }
    }

    /// Starts `count` replicas at once, waits for each to be ready and registers it. One that fails is stopped, and
    /// the first failure is thrown once the others are in.
    func start(_ count: Int, of target: ScalingTarget, launch: Launch) async throws(ActuatorError) {
        var launched: [Replica] = []
        let spawned = ContinuousClock.now
        for _ in 0..<count {
            do {
                launched.append(try spawn(target, launch: launch))
            } catch {
                // None is left running that is neither registered nor its own.
                for replica in launched { await terminate(replica) }
                throw error
            }
        }
        let ports = launched.map { ($0.port, $0.process.processIdentifier) }
        let timeout = startupTimeout
        let failures = await withTaskGroup(of: (Int, String?).self) { group in
            for (port, pid) in ports {
                group.addTask { (port, await Self.waitUntilReady(port: port, pid: pid, timeout: timeout)) }
            }
            var failures: [Int: String] = [:]
            for await (port, failure) in group { if let failure { failures[port] = failure } }
            return failures
        }
        var firstFailure: String?
        for replica in launched {
            if let failure = failures[replica.port] {
                firstFailure = firstFailure ?? failure
                await terminate(replica)
                continue
            }
            do {
                _ = try await gateway.send(.PUT, "/admin/upstreams/\(target.pool)/replicas/\(replica.address)")
            } catch {
                firstFailure = firstFailure ?? "the gateway refused \(replica.address): \(error)"
                await terminate(replica)
                continue
            }
            started[target.name, default: []].append(replica)
            let startup = ContinuousClock.now - spawned
            logger.notice(
                "replica started",
                metadata: [
                    "target": "\(target.name)", "address": "\(replica.address)",
                    "startup_ms": "\(Int(startup.seconds * 1000))",
                ]
            )
        }
        if let firstFailure { throw ActuatorError(target: target.name, message: firstFailure) }
    }

    /// Drains and stops up to `count` of the replicas started here, newest first.
    func stop(_ count: Int, of target: String) async {
        let own = started[target] ?? []
        let leaving = Array(own.suffix(count).reversed())
        if leaving.count < count {
            logger.debug(
                "fewer replicas of its own than to remove: the stack's own stay",
                metadata: ["target": "\(target)", "remove": "\(count)", "own": "\(own.count)"]
            )
        }
        started[target] = Array(own.dropLast(leaving.count))
        await withTaskGroup(of: Void.self) { group in
            for replica in leaving {
                let (address, pool) = (replica.address, replica.pool)
                let gateway = self.gateway
                let logger = self.logger
                group.addTask {
                    do {
                        try await Self.drain(address, pool: pool, gateway: gateway)
                    } catch {
                        logger.warning(
                            "drain failed: stopping anyway",
                            metadata: ["address": "\(address)", "error": "\(error)"]
                        )
                    }
                }
            }
        }
        for replica in leaving {
            await terminate(replica)
            logger.notice("replica stopped", metadata: ["target": "\(target)", "address": "\(replica.address)"])
        }
    }

    /// Asks the gateway to drain `address` (202 at once), then waits until it has left the pool: its requests under
    /// way are done (or the pool's drain timeout passed).
    static func drain(_ address: String, pool: String, gateway: ServiceClient) async throws {
        _ = try await gateway.send(.DELETE, "/admin/upstreams/\(pool)/replicas/\(address)")
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            let upstreams = try await gateway.get("/admin/upstreams", as: Upstreams.self)
            let members = upstreams.pools.first { $0.name == pool }?.replicas.map(\.address) ?? []
            if !members.contains(address) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    public func shutdown() async {
        for (name, replicas) in started where !replicas.isEmpty {
            await stop(replicas.count, of: name)
        }
    }

    /// Starts one replica of `target` on a free loopback port, its output to a file of its own.
    func spawn(_ target: ScalingTarget, launch: Launch) throws(ActuatorError) -> Replica {
        guard let port = Self.freePort() else {
            throw ActuatorError(target: target.name, message: "no free port")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launch.command)
        var environment = launch.environment
        let inherited = ProcessInfo.processInfo.environment
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] where environment[key] == nil {
            environment[key] = inherited[key]
        }
        environment["WEDSYNC_HOST"] = "127.0.0.1"
        environment["WEDSYNC_PORT"] = String(port)
        // Marks it as this autoscaler's (by its log directory), so `scripts/stack down` can find it should the
        // autoscaler have been killed before it could stop it.
        environment[Self.ownerVariable] = logDirectory
        process.environment = environment
        let logPath = (logDirectory as NSString).appendingPathComponent("\(target.name)-\(port).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        if let output = FileHandle(forWritingAtPath: logPath) {
            process.standardOutput = output
            process.standardError = output
        }
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ActuatorError(target: target.name, message: "cannot start \(launch.command): \(error)")
        }
        logger.info("replica starting", metadata: ["target": "\(target.name)", "port": "\(port)", "log": "\(logPath)"])
        return Replica(pool: target.pool, port: port, process: process)
    }

    /// Waits until `http://127.0.0.1:port/ready` answers 200; the failure, or `nil`.
    static func waitUntilReady(port: Int, pid: Int32, timeout: Duration) async -> String? {
        let client = ServiceClient(name: "replica", baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(2))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if kill(pid, 0) != 0 { return "the replica on port \(port) exited while starting" }
            if (try? await client.send(.GET, "/ready")) != nil { return nil }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                return "cancelled"
            }
        }
        return "the replica on port \(port) was not ready within \(timeout)"
    }

    /// SIGTERM, and SIGKILL if it has not exited 10 s later.
    func terminate(_ replica: Replica) async {
        let process = replica.process
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                break
            }
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A port no one listens on now, from the kernel's ephemeral range.
    static func freePort() -> Int? {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
