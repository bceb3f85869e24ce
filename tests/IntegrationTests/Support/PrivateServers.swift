import Foundation

/// A PostgreSQL 15 cluster of a test's own, for tests that restart or stop the server.
final class PrivatePostgres: Sendable {
    let directory: String
    let port: Int

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    static func start() async throws -> PrivatePostgres {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wedsync-pg-\(UUID().uuidString.prefix(8))").path
        let port = try freePort()
        try await libsh(#"ws_start_postgres "$1" "$2" fast"#, directory, String(port))
        return PrivatePostgres(directory: directory, port: port)
    }

    var url: String { "postgres://postgres@127.0.0.1:\(port)/wedsync" }

    /// `pg_ctl restart -m fast`: every session is ended, the server comes back on the same port.
    func restart() async throws {
        try await libsh(#"ws_pg "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 60 restart -l "$1/postgres.log" >/dev/null"#, directory)
    }

    func stop() async throws {
        try await libsh(#"ws_stop_postgres "$1""#, directory)
    }

    func start() async throws {
        try await libsh(#"ws_pg "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/postgres.log" -o "-p $2" -w -t 60 start >/dev/null"#, directory, String(port))
    }

    deinit {
        libshInBackground(#"ws_stop_postgres "$1"; rm -rf "$1""#, directory)
    }
}

/// A redis-server of a test's own, for tests that restart it or change its settings.
final class PrivateRedis: Sendable {
    let directory: String
    let port: Int

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    static func start() async throws -> PrivateRedis {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wedsync-redis-\(UUID().uuidString.prefix(8))").path
        let port = try freePort()
        try await libsh(#"ws_start_redis "$1" "$2""#, directory, String(port))
        return PrivateRedis(directory: directory, port: port)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    func stop() async throws {
        try await libsh(#"ws_stop_redis "$1" "$2""#, directory, String(port))
    }

    func start() async throws {
        try await libsh(#"ws_start_redis "$1" "$2""#, directory, String(port))
    }

    func restart() async throws {
        try await stop()
        try await start()
    }

    deinit {
        libshInBackground(#"ws_stop_redis "$1" "$2"; rm -rf "$1""#, directory, String(port))
    }
}
