/// Who may call a route. Every route declares one; the OpenAPI document carries it as `x-access`, and
/// ``ServiceRoutes`` enforces it before the handler runs.
///
/// | access | who |
/// |---|---|
/// | ``public`` | anyone who can reach the service: health, readiness, metrics, the OpenAPI document |
/// | ``tenant`` | a supplier's bearer token (checked by the service that owns tenants: the API, or the gateway) |
/// | ``service(_:)`` | the named services, each with its own credential; and the admin |
/// | ``monitor`` | read-only operators (dashboards, summaries, streams, statistics, reports); and the admin |
/// | ``admin`` | operators' writes |
public struct RouteAccess: Sendable, Hashable, CustomStringConvertible {
    /// The kind of caller a route is for.
    public enum Level: String, Sendable, Hashable {
        case `public`, tenant, service, monitor, admin
    }

    public let level: Level
    /// The services that may call the route besides the levels' own callers: for ``Level/service`` the services
    /// allowed (`["*"]`: any service), for ``Level/monitor`` services that may read it too (the autoscaler reads
    /// the capacity forecast).
    public let services: [String]

    private init(_ level: Level, services: [String] = []) {
        self.level = level
        self.services = services.sorted()
    }

    /// Anyone.
    public static let `public` = RouteAccess(.public)
    /// A supplier, by its bearer token; the route's handler resolves the tenant.
    public static let tenant = RouteAccess(.tenant)
    /// Read-only operators and the admin.
    public static let monitor = RouteAccess(.monitor)
    /// The admin only.
    public static let admin = RouteAccess(.admin)
    /// Any service with a credential, and the admin.
    public static let anyService = RouteAccess(.service, services: ["*"])

    /// The named services (`wedsync-api`), and the admin.
    public static func service(_ names: String...) -> RouteAccess {
        RouteAccess(.service, services: names)
    }

    /// The services named in configuration (`api.warming-services`), and the admin; only the admin when none is.
    public static func service(_ names: [String]) -> RouteAccess {
        RouteAccess(.service, services: names)
    }

    /// Read-only operators, the admin, and the named services.
    public static func monitor(orService names: String...) -> RouteAccess {
        RouteAccess(.monitor, services: names)
    }

    /// Whether the route checks a credential of this service's own (``CallerIdentity``) before its handler runs.
    public var needsIdentity: Bool {
        level != .public && level != .tenant
    }

    /// Whether `identity` may call the route. Public and tenant routes are not decided here.
    public func allows(_ identity: CallerIdentity) -> Bool {
        switch (level, identity) {
        case (.public, _), (.tenant, _): true
        case (_, .admin): true
        case (.monitor, .monitor): true
        case (.service, .service(let name)), (.monitor, .service(let name)):
            services.contains("*") || services.contains(name)
        default: false
        }
    }

    /// `public`, `tenant`, `service:wedsync-api,wedsync-gateway`, `service:*`, `monitor`,
    /// `monitor,service:wedsync-autoscaler` or `admin`: the spelling of the docs and of `x-access`.
    public var description: String {
        switch level {
        case .service: "service:" + services.joined(separator: ",")
        case .monitor where !services.isEmpty: "monitor,service:" + services.joined(separator: ",")
        default: level.rawValue
        }
    }
}

/// Who a request comes from, once its credential is checked (``ServiceCredentials/identify(_:)``).
public enum CallerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// An operator with the admin token.
    case admin
    /// An operator with the read-only monitor token.
    case monitor
    /// Another WedSync service, by its name (`wedsync-api`).
    case service(String)

    /// Whether the caller may read monitoring data (the monitor, the admin).
    public var isOperator: Bool {
        self == .admin || self == .monitor
    }

    public var description: String {
        switch self {
        case .admin: "admin"
        case .monitor: "monitor"
        case .service(let name): "service:\(name)"
        }
    }
}
