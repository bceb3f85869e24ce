import Foundation

/// Where a replica listens: `http://host:port` (or `https://`).
public struct UpstreamAddress: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    /// `host:port`, the replica's name in the admin API.
    public var address: String { "\(host):\(port)" }
    /// `scheme://host:port`, without a trailing slash.
    public var baseURL: String { "\(scheme)://\(host):\(port)" }
    public var description: String { baseURL }

    public init(scheme: String = "http", host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port` (a path is ignored), `https://host[:port]`, or a bare `host:port`.
    public init?(_ text: String) {
        var rest = Substring(text)
        var scheme = "http"
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        guard scheme == "http" || scheme == "https" else { return nil }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host = rest
        var port = scheme == "https" ? 443 : 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(parsed) else { return nil }
            port = parsed
            host = rest[..<colon]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-[]:".contains($0) }) else { return nil }
        self.init(scheme: scheme, host: String(host), port: port)
    }
}

/// How a pool checks, ejects, re-admits and retries its replicas.
public struct UpstreamPoolConfiguration: Sendable {
    public var name: String
    public var replicas: [UpstreamAddress]
    /// Active health checks: `GET healthPath` on every replica each `healthInterval`.
    public var healthPath: String
    public var healthInterval: Duration
    public var healthTimeout: Duration
    /// Failed checks in a row that mark a replica unhealthy, and passed checks that mark it healthy again.
    public var unhealthyThreshold: Int
    public var healthyThreshold: Int
    /// Passive outlier ejection (the circuit breaker): this many failures in a row (connection errors, timeouts,
    /// 5xx) open a replica's circuit for `ejectionTime`, doubled at each ejection in a row up to
    /// `maximumEjectionTime`; then one trial request at a time (half-open) closes it again or reopens it.
    public var consecutiveFailures: Int
    public var ejectionTime: Duration
    public var maximumEjectionTime: Duration
    /// The retry budget: retries may be at most this share of the requests of the last ten seconds, plus
    /// `minimumRetries`, so retries cannot turn one replica's outage into an overload of the others.
    public var retryBudget: Double
    public var minimumRetries: Int
    /// How long a drained replica's in-flight requests may take before it is removed anyway.
    public var drainTimeout: Duration

    public init(
        name: String,
        replicas: [UpstreamAddress],
        healthPath: String = "/health",
        healthInterval: Duration = .seconds(2),
        healthTimeout: Duration = .seconds(1),
        unhealthyThreshold: Int = 2,
        healthyThreshold: Int = 1,
        consecutiveFailures: Int = 3,
        ejectionTime: Duration = .seconds(5),
        maximumEjectionTime: Duration = .seconds(60),
        retryBudget: Double = 0.2,
        minimumRetries: Int = 10,
        drainTimeout: Duration = .seconds(30)
    ) {
        self.name = name
        self.replicas = replicas
        self.healthPath = healthPath
        self.healthInterval = healthInterval
        self.healthTimeout = healthTimeout
        self.unhealthyThreshold = unhealthyThreshold
        self.healthyThreshold = healthyThreshold
        self.consecutiveFailures = consecutiveFailures
        self.ejectionTime = ejectionTime
        self.maximumEjectionTime = maximumEjectionTime
        self.retryBudget = retryBudget
        self.minimumRetries = minimumRetries
        self.drainTimeout = drainTimeout
    }
}
