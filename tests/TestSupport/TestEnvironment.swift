import Foundation
import Synchronization

/// The real servers and binaries `scripts/test` provides. A test that needs one and does not find it fails (it is
/// never skipped), so a run without servers cannot pass by accident.
package enum TestEnvironment {
    package struct Missing: Error, CustomStringConvertible {
        package let variable: String
        package var description: String { "\(variable) is not set: run the integration tests through ./scripts/test" }
    }

    package static func value(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw Missing(variable: variable)
        }
        return value
    }

    /// The shared PostgreSQL 15 (hypopg and pg_stat_statements loaded), database `wedsync`.
    package static func databaseURL() throws -> String { try value("WEDSYNC_TEST_DATABASE_URL") }
    /// A hot-standby streaming replica of ``databaseURL()``.
    package static func replicaURL() throws -> String { try value("WEDSYNC_TEST_REPLICA_URL") }
    /// PgBouncer in transaction mode in front of the primary (`?pgbouncer=true`).
    package static func pgbouncerURL() throws -> String { try value("WEDSYNC_TEST_PGBOUNCER_URL") }
    /// PgBouncer in transaction mode in front of the replica (`?pgbouncer=true`).
    package static func pgbouncerReadURL() throws -> String { try value("WEDSYNC_TEST_PGBOUNCER_READ_URL") }
    /// `databaseURL` (a database on the test server) as the API reaches it in the scaled tier: through PgBouncer in
    /// transaction mode (its `*` entry routes every database to the test server), `?pgbouncer=true`. Unchanged when
    /// the tests run without PgBouncer.
    package static func throughPgBouncer(_ databaseURL: String) -> String {
        guard let bouncer = ProcessInfo.processInfo.environment["WEDSYNC_TEST_PGBOUNCER_URL"],
            let bouncerAddress = URLComponents(string: bouncer), let host = bouncerAddress.host,
            let port = bouncerAddress.port,
            var components = URLComponents(string: databaseURL)
        else { return databaseURL }
        components.host = host
        components.port = port
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "pgbouncer", value: "true")]
        return components.string ?? databaseURL
    }
    /// The shared redis-server.
    package static func redisURL() throws -> String { try value("WEDSYNC_TEST_REDIS_URL") }
    /// The redis-server of the whole-stack deployment (``StackFixture``), which nothing else uses.
    package static func stackRedisURL() throws -> String { try value("WEDSYNC_TEST_STACK_REDIS_URL") }
    /// Where `swift build` put the executables.
    package static func binDirectory() throws -> String { try value("WEDSYNC_TEST_BIN_DIR") }
    /// `scripts/`, whose `lib.sh` starts and stops servers.
    package static func scriptsDirectory() throws -> String { try value("WEDSYNC_TEST_SCRIPTS") }

    /// A name no other test uses (tables, application names, keys).
    /// A path in the temporary directory no other test uses (`<prefix>-<random><suffix>`), for a file a process creates.
    package static func temporaryPath(_ prefix: String, suffix: String = "") -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(prefix)-\(UUID().uuidString.prefix(8))\(suffix)"
        ).path
    }

    package static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// Runs blocking work (a child process, a shell script) on a thread of its own, never on one of the two threads of the
/// Swift concurrency pool: blocking those would stall every other test running meanwhile.
package func offloaded<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Runs a function of `scripts/lib.sh` (the recipes `scripts/stack` and `scripts/test` use) and returns its output.
@discardableResult
package func libsh(_ script: String, _ arguments: String...) async throws -> String {
    try await offloaded { try libshBlocking(script, arguments) }
}

/// ``libsh(_:_:)`` for `deinit`s: runs in the background, nobody waits.
package func libshInBackground(_ script: String, _ arguments: String...) {
    Thread { _ = try? libshBlocking(script, arguments) }.start()
}

private func libshBlocking(_ script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", "set -e; source \"$WEDSYNC_TEST_SCRIPTS/lib.sh\"; \(script)", "libsh"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["WEDSYNC_TEST_SCRIPTS"] = try TestEnvironment.scriptsDirectory()
    process.environment = environment
    // Files rather than pipes: a server the script daemonizes inherits the descriptors, and a pipe would then never
    // report end of file.
    let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("libsh-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outputFile) }
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("libsh-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    process.standardOutput = try FileHandle(forWritingTo: outputFile)
    process.standardError = try FileHandle(forWritingTo: errorFile)
    try process.run()
    process.waitUntilExit()
    let data = (try? Data(contentsOf: outputFile)) ?? Data()
    let errorData = (try? Data(contentsOf: errorFile)) ?? Data()
    guard process.terminationStatus == 0 else {
        throw ShellError(
            script: script,
            status: process.terminationStatus,
            output: String(decoding: errorData, as: UTF8.self)
        )
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

package struct ShellError: Error, CustomStringConvertible {
    package let script: String
    package let status: Int32
    package let output: String
    package var description: String { "`\(script)` exited \(status): \(output)" }

    package init(script: String, status: Int32, output: String) {
        (self.script, self.status, self.output) = (script, status, output)
    }
}

/// Ports already handed out by ``freePort()`` in this process.
private let handedOutPorts = Mutex<Set<Int>>([])

/// A loopback port nothing listens on, for a server a test is about to start. It is taken from 10000–19999, below
/// the kernel's ephemeral range (32768–60999 on Linux) and the Redis Cluster nodes' (`ws_free_cluster_port`,
/// 20000–55000): a port the kernel picked for a bind to port 0, then closed, can be taken by any outgoing connection
/// (the suite opens thousands) before the server binds it. Never the same port twice in one process.
package func freePort() throws -> Int {
    for _ in 0..<500 {
        let port = Int.random(in: 10_000..<20_000)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        if let bound = try? bindLoopback(port: port), bound == port { return port }
    }
    let port = try bindLoopback(port: 0)
    handedOutPorts.withLock { _ = $0.insert(port) }
    return port
}

/// Binds a socket to 127.0.0.1:`port` (0: one the kernel picks), closes it, and returns the port it had.
private func bindLoopback(port: Int) throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard bound else { throw ShellError(script: "bind", status: errno, output: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
package func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A flag one task raises and others poll: a gate that holds work back until the test has seen what it needs.
package final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    package init() {}
    package var isRaised: Bool { raised.load(ordering: .acquiring) }
    package func raise() { raised.store(true, ordering: .releasing) }
}

extension TestEnvironment {
    /// The shared 3-primary Redis Cluster's seed URLs, comma-separated.
    package static func redisClusterURLs() throws -> String { try value("WEDSYNC_TEST_REDIS_CLUSTER_URLS") }
}

/// A namespace no other test uses.
package func uniqueNamespace(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}
