import Foundation

/// Runs `start` with a free port, up to three times with another port when it fails: a port free when picked may be
/// bound by another test before the server binds it.
package func onFreePort<Server>(_ start: (Int) async throws -> Server) async throws -> Server {
    var lastError: (any Error)?
    for _ in 0..<3 {
        do {
            return try await start(try freePort())
        } catch {
            lastError = error
        }
    }
    throw lastError!
}

/// A PostgreSQL 15 cluster of a test's own, for tests that restart or stop the server.
package final class PrivatePostgres: Sendable {
    package let directory: String
    package let port: Int

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Starts one on a free port; another port is tried when the one picked was taken meanwhile (a port is free
    /// when picked, and another test may bind it before the server does).
    package static func start() async throws -> PrivatePostgres {
        try await onFreePort { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "wedsync-pg-\(UUID().uuidString.prefix(8))"
            ).path
            do {
                try await libsh(#"ws_start_postgres "$1" "$2" fast"#, directory, String(port))
            } catch {
                libshInBackground(#"ws_stop_postgres "$1"; rm -rf "$1""#, directory)
                throw error
            }
            return PrivatePostgres(directory: directory, port: port)
        }
    }

    package var url: String { "postgres://postgres@127.0.0.1:\(port)/wedsync" }

    /// `pg_ctl restart -m fast`: every session is ended, the server comes back on the same port.
    package func restart() async throws {
        try await libsh(
            #"ws_pg "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 60 restart -l "$1/postgres.log" >/dev/null"#,
            directory
        )
    }

    package func stop() async throws {
        try await libsh(#"ws_stop_postgres "$1""#, directory)
    }

    package func start() async throws {
        try await libsh(
            #"ws_pg "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/postgres.log" -o "-p $2" -w -t 60 start >/dev/null"#,
            directory,
            String(port)
        )
    }

    deinit {
        libshInBackground(#"ws_stop_postgres "$1"; rm -rf "$1""#, directory)
    }
}

/// A redis-server of a test's own, for tests that restart it or change its settings.
package final class PrivateRedis: Sendable {
    package let directory: String
    package let port: Int

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    package static func start() async throws -> PrivateRedis {
        try await onFreePort { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "wedsync-redis-\(UUID().uuidString.prefix(8))"
            ).path
            do {
                try await libsh(#"ws_start_redis "$1" "$2""#, directory, String(port))
            } catch {
                libshInBackground(#"ws_stop_redis "$1" "$2"; rm -rf "$1""#, directory, String(port))
                throw error
            }
            return PrivateRedis(directory: directory, port: port)
        }
    }

    package var url: String { "redis://127.0.0.1:\(port)" }

    package func stop() async throws {
        try await libsh(#"ws_stop_redis "$1" "$2""#, directory, String(port))
    }

    package func start() async throws {
        try await libsh(#"ws_start_redis "$1" "$2""#, directory, String(port))
    }

    package func restart() async throws {
        try await stop()
        try await start()
    }

    deinit {
        libshInBackground(#"ws_stop_redis "$1" "$2"; rm -rf "$1""#, directory, String(port))
    }
}

/// A 3-primary Redis Cluster of a test's own, for tests that move slots between nodes.
package final class PrivateRedisCluster: Sendable {
    package let directory: String
    package let ports: [Int]

    private init(directory: String, ports: [Int]) {
        self.directory = directory
        self.ports = ports
    }

    package static func start() async throws -> PrivateRedisCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "wedsync-cluster-\(UUID().uuidString.prefix(8))"
        ).path
        let output = try await libsh(#"ws_start_redis_cluster "$1""#, directory)
        let ports = output.split(separator: " ").compactMap { Int($0) }
        guard ports.count == 3 else { throw ShellError(script: "ws_start_redis_cluster", status: 1, output: output) }
        return PrivateRedisCluster(directory: directory, ports: ports)
    }

    package var urls: String { ports.map { "redis://127.0.0.1:\($0)" }.joined(separator: ",") }

    /// Runs `redis-cli -p port ARGS` and returns its output.
    @discardableResult
    package func cli(_ port: Int, _ arguments: String...) async throws -> String {
        let result = try await run("/usr/bin/redis-cli", ["-p", String(port)] + arguments)
        guard result.status == 0 else {
            throw ShellError(
                script: "redis-cli \(arguments.joined(separator: " "))",
                status: result.status,
                output: result.output
            )
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package func nodeID(_ port: Int) async throws -> String { try await cli(port, "CLUSTER", "MYID") }

    /// The port of the primary serving `slot`.
    package func owner(of slot: Int) async throws -> Int {
        for port in ports {
            let nodes = try await cli(port, "CLUSTER", "NODES")
            for line in nodes.split(separator: "\n") where line.contains("myself") {
                for range in line.split(separator: " ").dropFirst(8) {
                    let bounds = range.split(separator: "-").compactMap { Int($0) }
                    if bounds.count == 2, (bounds[0]...bounds[1]).contains(slot) { return port }
                    if bounds.count == 1, bounds[0] == slot { return port }
                }
            }
        }
        throw ShellError(script: "owner", status: 1, output: "no node serves slot \(slot)")
    }

    deinit {
        libshInBackground(#"ws_stop_redis_cluster "$1"; rm -rf "$1""#, directory)
    }
}

/// Starts `tests/TestSupport/Peers/SCRIPT 0 LOG --fail-first N` with an empty log: the peer binds a port of its own
/// (no port chosen here can be taken by another socket before the peer binds it) and writes it to `LOG.port` once it
/// listens. Waits for that file; returns the port and the log's path.
private func startPeer(_ process: Process, script: String, failFirst: Int, what: String) async throws -> (
    port: Int, logPath: String
) {
    let logPath = FileManager.default.temporaryDirectory.appendingPathComponent(
        "peer-\(UUID().uuidString.prefix(8)).jsonl"
    ).path
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    let path = URL(fileURLWithPath: try TestEnvironment.scriptsDirectory()).deletingLastPathComponent()
        .appendingPathComponent("tests/TestSupport/Peers/\(script)").path
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", path, "0", logPath, "--fail-first", String(failFirst)]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    ChildProcesses.register(process.processIdentifier)
    var port: Int?
    // Until the peer listens, or exits (it cannot start: no point waiting).
    _ = await eventually(timeout: .seconds(60)) {
        port = (try? String(contentsOfFile: logPath + ".port", encoding: .utf8)).flatMap { Int($0) }
        return port != nil || !process.isRunning
    }
    guard let port, acceptsConnections(port: port) else {
        throw ServiceProcessError(message: "\(what) did not start")
    }
    return (port, logPath)
}

/// `tests/TestSupport/Peers/http-receiver.py` on a port of its own: an origin to warm from and a webhook receiver that logs
/// every request it gets (and can fail the first POSTs, to exercise retries).
package final class HTTPReceiver: @unchecked Sendable {
    package let port: Int
    package let logPath: String
    private let process = Process()

    package init(failFirstPosts: Int = 0) async throws {
        (port, logPath) = try await startPeer(
            process,
            script: "http-receiver.py",
            failFirst: failFirstPosts,
            what: "the HTTP receiver"
        )
    }

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request logged so far.
    package var requests: [[String: String]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return object.compactMapValues { value in (value as? String) ?? (value as? NSNumber).map { "\($0)" } }
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        ChildProcesses.unregister(process.processIdentifier)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// `tests/TestSupport/Peers/smtp-receiver.py` (aiosmtpd) on a port of its own: keeps every message it accepts, and can refuse
/// the first ones with a temporary failure (451), to exercise retries.
package final class SMTPReceiver: @unchecked Sendable {
    package let port: Int
    package let logPath: String
    private let process = Process()

    package init(failFirst: Int = 0) async throws {
        (port, logPath) = try await startPeer(
            process,
            script: "smtp-receiver.py",
            failFirst: failFirst,
            what: "the SMTP receiver (is the aiosmtpd Python package installed?)"
        )
    }

    package var url: String { "smtp://127.0.0.1:\(port)" }

    /// Every message accepted so far: envelope sender, recipients, and the message as sent.
    package var messages: [(from: String, to: [String], data: String)] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let from = object["from"] as? String, let to = object["to"] as? [String],
                let data = object["data"] as? String
            else { return nil }
            return (from, to, data)
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        ChildProcesses.unregister(process.processIdentifier)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}
