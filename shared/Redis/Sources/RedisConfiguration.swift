import Foundation

/// Where and how to connect to a Redis server, parsed from a `redis://` URL.
///
/// `redis://[[user]:password@]host[:port][/db]`. The password never appears in ``description`` or logs.
public struct RedisConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// How long one command may take before the connection is dropped as dead.
    public var commandTimeout: Duration

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses one `redis://` URL; the error never repeats the URL (it may hold a password).
    public init(url: String) throws(RedisError) {
        guard let components = URLComponents(string: url), components.scheme == "redis" else {
            throw RedisError(.invalidConfiguration, "expected a URL like redis://host:6379")
        }
        guard let host = components.host, !host.isEmpty else {
            throw RedisError(.invalidConfiguration, "the Redis URL has no host")
        }
        self.init(host: host, port: components.port ?? 6379)
        let user = components.user.flatMap { $0.removingPercentEncoding }
        self.username = (user?.isEmpty ?? true) ? nil : user
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else {
                throw RedisError(.invalidConfiguration, "the Redis URL's path must be a database number")
            }
            self.database = database
        }
    }

    /// Parses `redis.url` as WedSync configures it: one URL, or several comma-separated seed nodes of a cluster.
    public static func seeds(from text: String) throws(RedisError) -> [RedisConfiguration] {
        var seeds: [RedisConfiguration] = []
        for part in text.split(separator: ",") {
            let url = part.trimmingCharacters(in: .whitespaces)
            if !url.isEmpty { seeds.append(try RedisConfiguration(url: url)) }
        }
        guard !seeds.isEmpty else { throw RedisError(.invalidConfiguration, "no Redis URL given") }
        return seeds
    }

    /// `host:port/db`, without credentials.
    public var description: String { "\(host):\(port)/\(database)" }
}
