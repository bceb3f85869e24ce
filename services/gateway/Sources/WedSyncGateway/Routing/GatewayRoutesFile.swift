import Foundation
import HTTPTypes
import WedSyncServiceKit
import Yams

/// The routes file (`gateway.routes-file`, e.g. `infrastructure/gateway.yaml`): upstream pools and the routes that
/// send requests to them, first match wins.
///
/// ```yaml
/// upstreams:
///   api:
///     replicas: [http://127.0.0.1:3000]     # optional for `api`: defaults to api.url
///     health-path: /health
/// routes:
///   - name: timeline
///     match: /api/weddings/{id}/timeline
///     upstream: api
///     critical: true
///     rate-limit: {tenant: {rate: 50, burst: 100}, global: true}
/// ```
public struct GatewayRoutesFile: Sendable {
    public var pools: [UpstreamPoolConfiguration]
    public var routes: [GatewayRoute]

    struct FileUpstream: Decodable {
        var replicas: [String]?
        var healthPath: String?
        var healthIntervalMs: Int?
        var healthTimeoutMs: Int?
        var unhealthyThreshold: Int?
        var healthyThreshold: Int?
        var consecutiveFailures: Int?
        var ejectionMs: Int?
        var maxEjectionMs: Int?
        var retryBudget: Double?
        var minRetries: Int?
        var drainTimeoutMs: Int?

        enum CodingKeys: String, CodingKey {
            case replicas
            case healthPath = "health-path"
            case healthIntervalMs = "health-interval-ms"
            case healthTimeoutMs = "health-timeout-ms"
            case unhealthyThreshold = "unhealthy-threshold"
            case healthyThreshold = "healthy-threshold"
            case consecutiveFailures = "consecutive-failures"
            case ejectionMs = "ejection-ms"
            case maxEjectionMs = "max-ejection-ms"
            case retryBudget = "retry-budget"
            case minRetries = "min-retries"
            case drainTimeoutMs = "drain-timeout-ms"
        }
    }

    struct FileLimit: Decodable {
        var rate: Double
        var burst: Int
    }

    struct FileRateLimit: Decodable {
        var tenant: FileLimit?
        var client: FileLimit?
        var global: Bool?
    }

    struct FileFault: Decodable {
        var delayMs: Int
        var percent: Double?

        enum CodingKeys: String, CodingKey {
            case percent
            case delayMs = "delay-ms"
        }
    }

    struct FileRoute: Decodable {
        var name: String?
        var match: String
        var methods: [String]?
        var upstream: String
        var access: GatewayRoute.Access?
        var cache: Bool?
        var timeoutMs: Int?
        var retries: Int?
        var critical: Bool?
        var rateLimit: FileRateLimit?
        var fault: FileFault?

        enum CodingKeys: String, CodingKey {
            case name, match, methods, upstream, access, cache, retries, critical, fault
            case timeoutMs = "timeout-ms"
            case rateLimit = "rate-limit"
        }
    }

    struct File: Decodable {
        var upstreams: [String: FileUpstream]
        var routes: [FileRoute]
    }

    public init(pools: [UpstreamPoolConfiguration], routes: [GatewayRoute]) {
        self.pools = pools
        self.routes = routes
    }

    /// Reads and checks the file; `defaultReplicas` fills a pool that lists none (the `api` pool takes `api.url`).
    public static func load(path: String, defaultReplicas: [String: [UpstreamAddress]]) throws(ConfigurationError)
        -> GatewayRoutesFile
    {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(key: "gateway.routes-file", message: "cannot read \(path)")
        }
        return try parse(text, defaultReplicas: defaultReplicas)
    }

    public static func parse(_ text: String, defaultReplicas: [String: [UpstreamAddress]]) throws(ConfigurationError)
        -> GatewayRoutesFile
    {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw ConfigurationError(key: "gateway.routes-file", message: "not a routes file: \(Self.describe(error))")
        }
        var pools: [UpstreamPoolConfiguration] = []
        for (name, upstream) in file.upstreams.sorted(by: { $0.key < $1.key }) {
            var replicas: [UpstreamAddress] = []
            for text in upstream.replicas ?? [] {
                guard let address = UpstreamAddress(text) else {
                    throw ConfigurationError(
                        key: "gateway.routes-file",
                        message: "upstream \(name): \(text) is not an http(s)://host:port URL"
                    )
                }
                replicas.append(address)
            }
            if upstream.replicas == nil { replicas = defaultReplicas[name] ?? [] }
            var pool = UpstreamPoolConfiguration(name: name, replicas: replicas)
            if let path = upstream.healthPath {
                guard path.hasPrefix("/") else {
                    throw ConfigurationError(
                        key: "gateway.routes-file",
                        message: "upstream \(name): health-path must start with /"
                    )
                }
                pool.healthPath = path
            }
            func milliseconds(_ value: Int?, _ field: String, _ range: ClosedRange<Int>) throws(ConfigurationError)
                -> Duration?
            {
                guard let value else { return nil }
                guard range.contains(value) else {
                    throw ConfigurationError(
                        key: "gateway.routes-file",
                        message: "upstream \(name): \(field) must be in \(range.lowerBound)...\(range.upperBound)"
                    )
                }
                return .milliseconds(value)
            }
            pool.healthInterval =
                try milliseconds(upstream.healthIntervalMs, "health-interval-ms", 50...600_000) ?? pool.healthInterval
            pool.healthTimeout =
                try milliseconds(upstream.healthTimeoutMs, "health-timeout-ms", 10...60_000) ?? pool.healthTimeout
            pool.ejectionTime =
                try milliseconds(upstream.ejectionMs, "ejection-ms", 10...3_600_000) ?? pool.ejectionTime
            pool.maximumEjectionTime =
                try milliseconds(upstream.maxEjectionMs, "max-ejection-ms", 10...86_400_000) ?? pool.maximumEjectionTime
            pool.drainTimeout =
                try milliseconds(upstream.drainTimeoutMs, "drain-timeout-ms", 0...3_600_000) ?? pool.drainTimeout
            pool.unhealthyThreshold = max(1, upstream.unhealthyThreshold ?? pool.unhealthyThreshold)
            pool.healthyThreshold = max(1, upstream.healthyThreshold ?? pool.healthyThreshold)
            pool.consecutiveFailures = max(1, upstream.consecutiveFailures ?? pool.consecutiveFailures)
            pool.retryBudget = min(1, max(0, upstream.retryBudget ?? pool.retryBudget))
            pool.minimumRetries = max(0, upstream.minRetries ?? pool.minimumRetries)
            pools.append(pool)
        }
        var routes: [GatewayRoute] = []
        for (index, entry) in file.routes.enumerated() {
            let name = entry.name ?? "route-\(index + 1)"
            guard let pattern = RoutePattern(entry.match) else {
                throw ConfigurationError(
                    key: "gateway.routes-file",
                    message: "route \(name): \(entry.match) is not a path pattern (/a/{id}/*, ending in ** at most)"
                )
            }
            guard pools.contains(where: { $0.name == entry.upstream }) else {
                throw ConfigurationError(
                    key: "gateway.routes-file",
                    message: "route \(name): no upstream named \(entry.upstream)"
                )
            }
            var route = GatewayRoute(name: name, pattern: pattern, upstream: entry.upstream)
            if let methods = entry.methods {
                route.methods = Set(methods.compactMap { HTTPRequest.Method($0.uppercased()) })
            }
            route.access = entry.access ?? .tenant
            route.cache = entry.cache ?? true
            if let timeout = entry.timeoutMs {
                guard (1...600_000).contains(timeout) else {
                    throw ConfigurationError(
                        key: "gateway.routes-file",
                        message: "route \(name): timeout-ms must be in 1...600000"
                    )
                }
                route.timeout = .milliseconds(timeout)
            }
            if let fault = entry.fault {
                guard (1...60_000).contains(fault.delayMs), (0...100).contains(fault.percent ?? 100) else {
                    throw ConfigurationError(
                        key: "gateway.routes-file",
                        message: "route \(name): fault needs delay-ms in 1...60000 and percent in 0...100"
                    )
                }
                route.fault = .init(delay: .milliseconds(fault.delayMs), percent: fault.percent ?? 100)
            }
            route.retries = min(5, max(0, entry.retries ?? route.retries))
            route.critical = entry.critical ?? false
            if let limit = entry.rateLimit {
                func convert(_ limit: FileLimit?) throws(ConfigurationError) -> RateLimitPolicy.Limit? {
                    guard let limit else { return nil }
                    guard limit.rate > 0, limit.burst >= 1 else {
                        throw ConfigurationError(
                            key: "gateway.routes-file",
                            message: "route \(name): a rate limit needs rate > 0 and burst >= 1"
                        )
                    }
                    return .init(rate: limit.rate, burst: limit.burst)
                }
                route.rateLimit = RateLimitPolicy(
                    tenant: try convert(limit.tenant),
                    client: try convert(limit.client),
                    global: limit.global ?? false
                )
            }
            routes.append(route)
        }
        return GatewayRoutesFile(pools: pools, routes: routes)
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.keyNotFound(let key, let context) = error {
            return "missing \(key.stringValue) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        if case DecodingError.typeMismatch(_, let context) = error {
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        if case DecodingError.dataCorrupted(let context) = error {
            return "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        return "the YAML does not parse"
    }
}
