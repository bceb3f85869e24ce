import Configuration
import Foundation
import Logging
import SystemPackage
import WedSyncConnectionPool

/// The configuration every WedSync service shares, built once at start and passed down.
///
/// Each key `a.b` can be set, in order of precedence, by the flag `--a-b VALUE`, the environment variable
/// `WEDSYNC_A_B`, or `a: {b: VALUE}` in the YAML file named by `--config` / `WEDSYNC_CONFIG`.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `host` | `127.0.0.1` | address to listen on (`0.0.0.0` in containers) |
/// | `port` | the service's own | port to listen on (0 picks a free one) |
/// | `admin.token` | none | bearer token for admin and mutating routes (≥ 16 chars); without it they answer 401 |
/// | `database.url` | `postgres://postgres@127.0.0.1:5432/wedsync` | the PostgreSQL primary |
/// | `database.replica-urls` | none | read replicas (a list, or comma-separated) |
/// | `database.pool.min` / `.max` | 1 / 10 | connections per PostgreSQL pool |
/// | `database.pool.acquire-timeout-ms` | 5000 | wait for a free connection before failing |
/// | `database.statement-timeout-ms` | 30000 | server-side statement timeout (0: none) |
/// | `redis.url` | `redis://127.0.0.1:6379` | Redis, or several comma-separated cluster seed nodes |
/// | `redis.pool.max` | 16 | connections to Redis |
/// | `api.url`, `cache.url`, `metrics.url` | `http://127.0.0.1:8090`, `:8081`, `:8083` | the other services |
/// | `http.max-body-bytes` | 1048576 (gateway: 67108864) | largest request body (413 above); the gateway streams bodies through |
/// | `http.slow-request-ms` | 1000 | requests slower than this are logged at `notice` |
/// | `log.level` | `info` | `trace`...`critical` |
/// | `log.format` | `text` | `text` or `json` (JSON lines) |
public struct ServiceConfiguration: Sendable {
    /// The executable's name (`wedsync-gateway`).
    public var service: String
    public var host: String
    public var port: Int
    /// Never logged.
    public var adminToken: String?
    /// May hold a password: never logged.
    public var databaseURL: String
    public var databaseReplicaURLs: [String]
    public var databasePool: ConnectionPoolConfiguration
    public var databaseStatementTimeout: Duration?
    /// May hold a password: never logged.
    public var redisURL: String
    public var redisPool: ConnectionPoolConfiguration
    public var apiURL: String
    public var cacheURL: String
    public var metricsURL: String
    /// The query optimizer, which takes the API's query events for N+1 detection.
    public var optimizerURL: String
    public var maxBodyBytes: Int
    public var slowRequestThreshold: Duration
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// Every source, for the service's own keys.
    public var settings: Settings

    /// Reads and validates the common keys.
    public init(service: String, defaultPort: Int, settings: Settings) throws(ConfigurationError) {
        self.service = service
        self.settings = settings
        self.host = settings.string("host") ?? "127.0.0.1"
        self.port = try settings.int("port", default: defaultPort, in: 0...65535)
        self.adminToken = try settings.secret("admin.token")
        self.databaseURL = try settings.postgresURL("database.url", default: "postgres://postgres@127.0.0.1:5432/wedsync")
        self.databaseReplicaURLs = try settings.postgresURLs("database.replica-urls")
        let databaseMaximum = try settings.int("database.pool.max", default: 10, in: 1...1000)
        self.databasePool = ConnectionPoolConfiguration(
            minimumConnections: try settings.int("database.pool.min", default: 1, in: 0...databaseMaximum),
            maximumConnections: databaseMaximum,
            acquireTimeout: try settings.milliseconds("database.pool.acquire-timeout-ms", default: .seconds(5), in: 1...600_000)
        )
        let statementTimeout = try settings.int("database.statement-timeout-ms", default: 30_000, in: 0...86_400_000)
        self.databaseStatementTimeout = statementTimeout == 0 ? nil : .milliseconds(statementTimeout)
        self.redisURL = try settings.redisURL("redis.url", default: "redis://127.0.0.1:6379")
        self.redisPool = ConnectionPoolConfiguration(
            minimumConnections: 1,
            maximumConnections: try settings.int("redis.pool.max", default: 16, in: 1...1000),
            acquireTimeout: .seconds(2)
        )
        self.apiURL = try settings.httpURL("api.url", default: "http://127.0.0.1:8090")
        self.cacheURL = try settings.httpURL("cache.url", default: "http://127.0.0.1:8081")
        self.metricsURL = try settings.httpURL("metrics.url", default: "http://127.0.0.1:8083")
        self.optimizerURL = try settings.httpURL("optimizer.url", default: "http://127.0.0.1:8082")
        // The gateway streams request bodies through to its upstream rather than reading them: a larger default.
        self.maxBodyBytes = try settings.int("http.max-body-bytes", default: service == "wedsync-gateway" ? 64 << 20 : 1 << 20, in: 1024...(1 << 30))
        self.slowRequestThreshold = try settings.milliseconds("http.slow-request-ms", default: .seconds(1))
        let level = try settings.choice(
            "log.level",
            from: Logger.Level.allCases.map(\.rawValue),
            default: Logger.Level.info.rawValue
        )
        self.logLevel = Logger.Level(rawValue: level) ?? .info
        self.logFormat = LogFormat(rawValue: try settings.choice("log.format", from: ["text", "json"], default: "text")) ?? .text
    }

    /// Reads the configuration of `service` from the command line, the environment and the YAML file, in that
    /// order of precedence.
    public static func load(
        service: String,
        defaultPort: Int,
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(ConfigurationError) -> ServiceConfiguration {
        let flags = CommandLineArgumentsProvider(arguments: arguments)
        let variables = EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "wedsync")
        var providers: [any ConfigProvider] = [flags, variables]
        if let path = Settings(reader: ConfigReader(providers: providers)).string("config"), !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError(key: "config", message: "cannot read the YAML file \(path): no such readable file")
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
            } catch {
                // The parser's own description quotes the offending line, which may hold a secret: only say where.
                throw ConfigurationError(key: "config", message: "\(path) is not valid YAML\(Self.location(of: error))")
            }
        }
        return try ServiceConfiguration(
            service: service,
            defaultPort: defaultPort,
            settings: Settings(reader: ConfigReader(providers: providers))
        )
    }
}

extension ServiceConfiguration {
    /// ` at line L, column C` when the YAML parser's error says where, without any of the file's text.
    static func location(of error: any Error) -> String {
        let text = "\(error)"
        guard let match = text.firstMatch(of: /(\d+):(\d+)/) else { return "" }
        return " at line \(match.1), column \(match.2)"
    }
}

/// How log lines are written.
public enum LogFormat: String, Sendable {
    /// One human-readable line per event.
    case text
    /// One JSON object per line, for log shippers.
    case json
}
