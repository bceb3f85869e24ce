import HTTPTypes

/// One route of the gateway: which requests it takes, the upstream pool it sends them to, and how it treats them.
public struct GatewayRoute: Sendable {
    /// Who may call the route.
    public enum Access: String, Sendable, Codable {
        /// A supplier's bearer token, checked through the API's introspection; the tenant is set from it.
        case tenant
        /// Anyone; no tenant is set (the client's `X-Tenant-Id` is still removed).
        case `public`
    }

    /// The route's name in logs and the admin API.
    public var name: String
    public var pattern: RoutePattern
    /// The methods it takes; `nil` for every method.
    public var methods: Set<HTTPRequest.Method>?
    /// The upstream pool's name.
    public var upstream: String
    public var access: Access
    /// Whether `GET`/`HEAD` responses go through the RFC 9111 cache.
    public var cache: Bool
    /// From sending the request to the upstream's response head; 504 past it.
    public var timeout: Duration
    /// Extra attempts of an idempotent request on other replicas (within the pool's retry budget).
    public var retries: Int
    /// Per-tenant and per-client limits; `nil` for none.
    public var rateLimit: RateLimitPolicy?
    /// Wedding-day critical: its rate limits are counted apart from every other route's.
    public var critical: Bool
    /// An injected delay (as Envoy's fault filter injects one): the load gate proves with it that a slower route
    /// fails CI. `nil` in every shipped configuration.
    public var fault: FaultDelay?

    /// A delay added to a share of a route's requests before they are handled.
    public struct FaultDelay: Sendable, Equatable {
        public var delay: Duration
        /// The share of requests delayed, in percent.
        public var percent: Double

        public init(delay: Duration, percent: Double = 100) {
            self.delay = delay
            self.percent = percent
        }

        /// Whether this request is one of the delayed share.
        func applies() -> Bool {
            percent >= 100 || Double.random(in: 0..<100) < percent
        }
    }

    public init(
        name: String,
        pattern: RoutePattern,
        methods: Set<HTTPRequest.Method>? = nil,
        upstream: String,
        access: Access = .tenant,
        cache: Bool = true,
        timeout: Duration = .seconds(30),
        retries: Int = 2,
        rateLimit: RateLimitPolicy? = nil,
        critical: Bool = false
    ) {
        self.name = name
        self.pattern = pattern
        self.methods = methods
        self.upstream = upstream
        self.access = access
        self.cache = cache
        self.timeout = timeout
        self.retries = retries
        self.rateLimit = rateLimit
        self.critical = critical
    }

    /// Whether the route takes `method` on `path`.
    public func matches(method: HTTPRequest.Method, path: Substring) -> Bool {
        if let methods, !methods.contains(method) { return false }
        return pattern.matches(path)
    }
}

/// The routes in order: the first that matches takes the request.
public struct RouteTable: Sendable {
    public var routes: [GatewayRoute]

    public init(_ routes: [GatewayRoute]) {
        self.routes = routes
    }

    public func route(method: HTTPRequest.Method, path: Substring) -> GatewayRoute? {
        routes.first { $0.matches(method: method, path: path) }
    }
}

/// How many requests a route lets one tenant and one client address make: a rate per second and a burst, counted
/// with GCRA, in this process (`local`) or across every gateway sharing the Redis (`global`).
public struct RateLimitPolicy: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        /// Requests per second, sustained.
        public var rate: Double
        /// Requests that may come at once beyond the rate.
        public var burst: Int

        public init(rate: Double, burst: Int) {
            self.rate = rate
            self.burst = burst
        }
    }

    public var tenant: Limit?
    public var client: Limit?
    /// Counted in Redis (shared by every gateway replica) rather than in this process.
    public var global: Bool

    public init(tenant: Limit? = nil, client: Limit? = nil, global: Bool = false) {
        self.tenant = tenant
        self.client = client
        self.global = global
    }
}
