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
/// | `monitor.token` | none | bearer token for read-only operator routes (dashboards, summaries, statistics) |
/// | `service.token` | none | this service's own credential, sent on its calls to other services |
/// | `service.callers` | none | services that may call this one: `name=sha256:<hex digest of its token>`, comma-separated |
/// | `outbound.allowed-origins` | the services' URLs | origins a caller may name as an address to fetch (warming, replicas) |
/// | `database.url` | `postgres://postgres@127.0.0.1:5432/wedsync` | the PostgreSQL primary |
/// | `database.replica-urls` | none | read replicas (a list, or comma-separated) |
/// | `database.analytics-urls` | none | standbys for exports and reports (else the replicas, else the primary) |
/// | `database.replica-max-lag-ms` / `.analytics-max-lag-ms` | 2000 / 30000 | lag beyond which reads leave a standby |
/// | `database.replica-check-interval-ms` | 1000 | how often each standby's health and lag are checked |
/// | `database.analytics-pool.max` | 4 | connections per analytics standby |
/// | `database.pool.min` / `.max` | 1 / 10 | connections per PostgreSQL pool |
/// | `database.pool.acquire-timeout-ms` | 5000 | wait for a free connection before failing |
/// | `database.statement-timeout-ms` | 30000 | server-side statement timeout (0: none) |
/// | `redis.url` | `redis://127.0.0.1:6379` | Redis, or several comma-separated cluster seed nodes |
/// | `redis.pool.max` | 16 | connections to Redis |
/// | `api.url`, `cache.url`, `metrics.url` | `http://127.0.0.1:8090`, `:8081`, `:8083` | the other services |
/// | `gateway.url` | `http://127.0.0.1:8080` | the gateway (the cache service warms it) |
/// | `http.max-body-bytes` | 1048576, unless the service says otherwise (the gateway: 67108864) | largest request body (413 above) |
/// | `http.slow-request-ms` | 1000 | requests slower than this are logged at `notice` |
/// | `http.idle-timeout-ms`, `http.header-timeout-ms` | 60000, 10000 | idle keep-alive connections; reading a request's head |
/// | `http.max-header-bytes`, `http.max-connections` | 32768, 4096 | request head size (431 above); open connections |
/// | `http.max-streams-per-client` | 4 | long-lived streams (Server-Sent Events) one client address may hold |
/// | `http.h2c` | true | the plain port also speaks HTTP/2 to a client that starts with its preface (prior knowledge) |
/// | `http.h2-max-age-ms`, `http.h2-graceful-close-ms` | 3600000, 5000 | an HTTP/2 connection's lifetime (0: none) before a GOAWAY; how long its streams may finish after one |
/// | `tls.certificate-file`, `tls.key-file` | none | PEM chain and key: a TLS 1.3 listener with HTTP/2 and HTTP/1.1 by ALPN |
/// | `tls.port` | 8443 | the TLS listener's port |
/// | `log.level` | `info` | `trace`...`critical` |
/// | `log.format` | `text` | `text` or `json` (JSON lines) |
public struct ServiceConfiguration: Sendable {
    /// The executable's name (`wedsync-gateway`).
    public var service: String
    public var host: String
    public var port: Int
    /// Never logged.
    public var adminToken: String?
    /// The read-only operators' token; never logged.
    public var monitorToken: String?
    /// This service's own credential for its calls to other services; never logged.
    public var serviceToken: String?
    /// The services that may call this one, by the SHA-256 digest of their tokens.
    public var serviceCallers: [String: [UInt8]]
    /// Origins (`http://host:port`) a caller may name as an address this service then connects to.
    public var allowedOrigins: [String]
    /// May hold a password: never logged.
    public var databaseURL: String
    public var databaseReplicaURLs: [String]
    public var databaseAnalyticsURLs: [String]
    public var databaseReplicaMaximumLag: Duration
    public var databaseAnalyticsMaximumLag: Duration
    public var databaseReplicaCheckInterval: Duration
    public var databaseAnalyticsPool: ConnectionPoolConfiguration
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
    /// The gateway, whose response cache the cache service warms.
    public var gatewayURL: String
    public var maxBodyBytes: Int
    public var slowRequestThreshold: Duration
    /// Timeouts and bounds of the HTTP server.
    public var http: HTTPServerLimits
    /// The TLS listener, when a certificate is configured.
    public var tls: TLSSettings?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// Every source, for the service's own keys.
    public var settings: Settings

    /// Reads and validates the common keys. `defaultMaxBodyBytes` is the service's own default for
    /// `http.max-body-bytes` (the gateway streams bodies through to its upstream, and takes larger ones).
    public init(service: String, defaultPort: Int, defaultMaxBodyBytes: Int = 1 << 20, settings: Settings)
        throws(ConfigurationError)
    {
        self.service = service
        self.settings = settings
        self.host = settings.string("host") ?? "127.0.0.1"
        self.port = try settings.int("port", default: defaultPort, in: 0...65535)
        self.adminToken = try settings.secret("admin.token")
        self.monitorToken = try settings.secret("monitor.token")
        self.serviceToken = try settings.secret("service.token")
        switch ServiceCredentials.parseCallers(
            (settings.string("service.callers") ?? "").split(separator: ",").map(String.init)
        ) {
        case .success(let callers): self.serviceCallers = callers
        case .failure(let error): throw ConfigurationError(key: "service.callers", message: error.message)
        }
        // Checked by the library that connects to it (WedSyncPostgresService, WedSyncRedisService), in the services
        // that use it: the others neither need nor link a database or Redis client.
        self.databaseURL = settings.string("database.url", secret: true) ?? "postgres://postgres@127.0.0.1:5432/wedsync"
        self.databaseReplicaURLs = (settings.string("database.replica-urls", secret: true) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.databaseAnalyticsURLs = (settings.string("database.analytics-urls", secret: true) ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.databaseReplicaMaximumLag = try settings.milliseconds(
            "database.replica-max-lag-ms",
            default: .seconds(2),
            in: 0...3_600_000
        )
        self.databaseAnalyticsMaximumLag = try settings.milliseconds(
            "database.analytics-max-lag-ms",
            default: .seconds(30),
            in: 0...86_400_000
        )
        self.databaseReplicaCheckInterval = try settings.milliseconds(
            "database.replica-check-interval-ms",
            default: .seconds(1),
            in: 50...600_000
        )
        let databaseMaximum = try settings.int("database.pool.max", default: 10, in: 1...1000)
        self.databasePool = ConnectionPoolConfiguration(
            minimumConnections: try settings.int("database.pool.min", default: 1, in: 0...databaseMaximum),
            maximumConnections: databaseMaximum,
            acquireTimeout: try settings.milliseconds(
                "database.pool.acquire-timeout-ms",
                default: .seconds(5),
                in: 1...600_000
            )
        )
        let analyticsMaximum = try settings.int("database.analytics-pool.max", default: 4, in: 1...1000)
        self.databaseAnalyticsPool = ConnectionPoolConfiguration(
            minimumConnections: 0,
            maximumConnections: analyticsMaximum,
            acquireTimeout: databasePool.acquireTimeout
        )
        let statementTimeout = try settings.int("database.statement-timeout-ms", default: 30_000, in: 0...86_400_000)
        self.databaseStatementTimeout = statementTimeout == 0 ? nil : .milliseconds(statementTimeout)
        self.redisURL = settings.string("redis.url", secret: true) ?? "redis://127.0.0.1:6379"
        self.redisPool = ConnectionPoolConfiguration(
            minimumConnections: 1,
            maximumConnections: try settings.int("redis.pool.max", default: 16, in: 1...1000),
            acquireTimeout: .seconds(2)
        )
        self.apiURL = try settings.httpURL("api.url", default: "http://127.0.0.1:8090")
        self.cacheURL = try settings.httpURL("cache.url", default: "http://127.0.0.1:8081")
        self.metricsURL = try settings.httpURL("metrics.url", default: "http://127.0.0.1:8083")
        self.optimizerURL = try settings.httpURL("optimizer.url", default: "http://127.0.0.1:8082")
        self.gatewayURL = try settings.httpURL("gateway.url", default: "http://127.0.0.1:8080")
        self.maxBodyBytes = try settings.int("http.max-body-bytes", default: defaultMaxBodyBytes, in: 1024...(1 << 30))
        self.slowRequestThreshold = try settings.milliseconds("http.slow-request-ms", default: .seconds(1))
        self.http = HTTPServerLimits(
            idleTimeout: try settings.milliseconds("http.idle-timeout-ms", default: .seconds(60), in: 100...86_400_000),
            headerReadTimeout: try settings.milliseconds(
                "http.header-timeout-ms",
                default: .seconds(10),
                in: 100...3_600_000
            ),
            maximumHeaderBytes: try settings.int("http.max-header-bytes", default: 32 << 10, in: 1024...(1 << 20)),
            maximumConnections: try settings.int("http.max-connections", default: 4096, in: 1...1_000_000),
            maximumStreamsPerClient: try settings.int("http.max-streams-per-client", default: 4, in: 1...10_000),
            http2PriorKnowledge: try settings.bool("http.h2c", default: true),
            http2MaximumAge: try settings.milliseconds(
                "http.h2-max-age-ms",
                default: .seconds(3600),
                in: 0...604_800_000
            ),
            http2GracefulClose: try settings.milliseconds(
                "http.h2-graceful-close-ms",
                default: .seconds(5),
                in: 0...3_600_000
            )
        )
        self.tls = try TLSSettings.read(settings)
        let ownServices = [apiURL, cacheURL, metricsURL, optimizerURL, gatewayURL]
        self.allowedOrigins = try settings.origins("outbound.allowed-origins", default: ownServices)
        let level = try settings.choice(
            "log.level",
            from: Logger.Level.allCases.map(\.rawValue),
            default: Logger.Level.info.rawValue
        )
        self.logLevel = Logger.Level(rawValue: level) ?? .info
        self.logFormat =
            LogFormat(rawValue: try settings.choice("log.format", from: ["text", "json"], default: "text")) ?? .text
    }

    /// What the service checks callers against, and presents to other services.
    public var credentials: ServiceCredentials {
        ServiceCredentials(
            adminToken: adminToken,
            monitorToken: monitorToken,
            serviceToken: serviceToken,
            callers: serviceCallers
        )
    }

    /// Reads the configuration of `service` from the command line, the environment and the YAML file, in that
    /// order of precedence.
    public static func load(
        service: String,
        defaultPort: Int,
        defaultMaxBodyBytes: Int = 1 << 20,
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(ConfigurationError) -> ServiceConfiguration {
        let flags = CommandLineArgumentsProvider(arguments: arguments)
        let variables = EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "wedsync")
        var providers: [any ConfigProvider] = [flags, variables]
        if let path = Settings(reader: ConfigReader(providers: providers)).string("config"), !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError(
                    key: "config",
                    message: "cannot read the YAML file \(path): no such readable file"
                )
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
            defaultMaxBodyBytes: defaultMaxBodyBytes,
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

/// The HTTP server's timeouts and bounds, against slow and greedy clients (`http.*`).
public struct HTTPServerLimits: Sendable {
    /// A keep-alive connection with no request in progress for this long is closed; so is one whose request
    /// body stops arriving for this long.
    public var idleTimeout: Duration
    /// A request's head must arrive in full within this long of its first byte (slowloris).
    public var headerReadTimeout: Duration
    /// The largest request head (request line and headers); larger ones are refused with 431.
    public var maximumHeaderBytes: Int
    /// Open connections at most; beyond it new ones wait in the listen backlog.
    public var maximumConnections: Int
    /// Long-lived streams (Server-Sent Events) one client address may hold at once.
    public var maximumStreamsPerClient: Int
    /// The plain port takes HTTP/2 from a client that opens with its preface (h2c with prior knowledge, for hops
    /// inside a deployment); HTTP/1.1 clients never notice.
    public var http2PriorKnowledge: Bool
    /// An HTTP/2 connection is told to go away (GOAWAY) after this long open, busy or not; `.zero`: never. An idle
    /// one (no open stream) goes after ``idleTimeout``.
    public var http2MaximumAge: Duration
    /// After a GOAWAY, how long open streams may finish before the connection closes.
    public var http2GracefulClose: Duration

    public init(
        idleTimeout: Duration = .seconds(60),
        headerReadTimeout: Duration = .seconds(10),
        maximumHeaderBytes: Int = 32 << 10,
        maximumConnections: Int = 4096,
        maximumStreamsPerClient: Int = 4,
        http2PriorKnowledge: Bool = true,
        http2MaximumAge: Duration = .seconds(3600),
        http2GracefulClose: Duration = .seconds(5)
    ) {
        self.idleTimeout = idleTimeout
        self.headerReadTimeout = headerReadTimeout
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumConnections = maximumConnections
        self.maximumStreamsPerClient = maximumStreamsPerClient
        self.http2PriorKnowledge = http2PriorKnowledge
        self.http2MaximumAge = http2MaximumAge
        self.http2GracefulClose = http2GracefulClose
    }
}

/// How log lines are written.
public enum LogFormat: String, Sendable {
    /// One human-readable line per event.
    case text
    /// One JSON object per line, for log shippers.
    case json
}
