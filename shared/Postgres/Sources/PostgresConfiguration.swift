import Foundation

/// Where and how to connect to one PostgreSQL server, parsed from a `postgres://` URL.
///
/// `postgres://user:password@host:5432/database?sslmode=disable&application_name=wedsync-api` — the same URLs
/// libpq and every PostgreSQL tool accept. The password never appears in ``description`` or logs.
public struct PostgresConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Query parameters passed through to libpq (`sslmode`, `application_name`, `connect_timeout`...).
    public var options: [String: String]
    /// The server-side statement timeout set on every connection (`statement_timeout`); `nil` for none.
    public var statementTimeout: Duration?
    /// Whether the URL names PgBouncer in transaction mode (`?pgbouncer=true`, Prisma's switch): consecutive
    /// statements may then run on different server connections, so the client prepares nothing by name and sends
    /// no startup `options`; it sets `TimeZone` and `DateStyle` with `SET` (PgBouncer tracks and re-applies both),
    /// and the statement timeout is PgBouncer's side (`connect_query`, or the role's setting).
    public var pgbouncer: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        user: String = "postgres",
        password: String? = nil,
        database: String = "postgres",
        options: [String: String] = [:],
        statementTimeout: Duration? = nil,
        pgbouncer: Bool = false
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.options = options
        self.statementTimeout = statementTimeout
        self.pgbouncer = pgbouncer
    }

    /// Parses a `postgres://` or `postgresql://` URL; the error says what is wrong without repeating the URL
    /// (which may hold a password).
    public init(url: String) throws(PostgresError) {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw PostgresError(.invalidConfiguration, "expected a URL like postgres://user@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresError(.invalidConfiguration, "the PostgreSQL URL has no host")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        var options: [String: String] = [:]
        var pgbouncer = false
        for item in components.queryItems ?? [] {
            guard item.name != "pgbouncer" else {
                switch item.value?.lowercased() {
                case "true", "1", "yes", "": pgbouncer = true
                case "false", "0", "no": pgbouncer = false
                default: throw PostgresError(.invalidConfiguration, "pgbouncer is true or false")
                }
                continue
            }
            options[item.name] = item.value ?? ""
        }
        self.options = options
        self.statementTimeout = nil
        self.pgbouncer = pgbouncer
    }

    /// The keyword/value pairs handed to `PQconnectdbParams`.
    var connectionParameters: [(String, String)] {
        var parameters: [(String, String)] = [
            ("host", host),
            ("port", String(port)),
            ("user", user),
            ("dbname", database),
            ("connect_timeout", options["connect_timeout"] ?? "5"),
            ("application_name", options["application_name"] ?? "wedsync"),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
        ]
        if let password { parameters.append(("password", password)) }
        for (key, value) in options where !["connect_timeout", "application_name"].contains(key) {
            parameters.append((key, value))
        }
        // Dates travel as ISO text in UTC, whatever the server's defaults (through PgBouncer: ``sessionSettings``).
        guard !pgbouncer else { return parameters }
        var serverOptions = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601"
        if let statementTimeout {
            serverOptions += " -c statement_timeout=\(max(1, Int(statementTimeout / .milliseconds(1))))"
        }
        parameters.append(("options", serverOptions))
        return parameters
    }

    /// What a connection through PgBouncer sets once connected, in place of the startup `options` PgBouncer refuses:
    /// parameters PgBouncer tracks per client and sets again on whichever server connection serves it.
    var sessionSettings: String? {
        pgbouncer ? "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'" : nil
    }

    /// `user@host:port/database`, without the password.
    public var description: String { "\(user)@\(host):\(port)/\(database)" }
}
