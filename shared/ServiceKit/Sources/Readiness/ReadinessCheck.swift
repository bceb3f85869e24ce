import WedSyncModels

/// One dependency `GET /ready` checks.
///
/// A seam with real variety: a PostgreSQL pool, Redis, another WedSync service over HTTP, and whatever a service
/// adds (an SQLite file, a CDN).
public protocol ReadinessCheck: Sendable {
    /// The dependency's name in the report (`database`, `redis`, `api`).
    var name: String { get }
    /// Whether the service cannot serve without it: a critical dependency that is down makes `/ready` answer 503;
    /// another one only makes it `degraded`.
    var isCritical: Bool { get }
    /// Returns how the dependency is (`up`, or `degraded` with a reason); throws when it is down.
    func check() async throws -> ReadinessOutcome
}

/// What a check found, short of failure.
public struct ReadinessOutcome: Sendable, Equatable {
    public var state: DependencyStatus.State
    public var detail: String?

    public init(state: DependencyStatus.State, detail: String? = nil) {
        self.state = state
        self.detail = detail
    }

    public static let up = ReadinessOutcome(state: .up)
}

/// A check given as a closure, for one-off dependencies.
public struct ClosureReadinessCheck: ReadinessCheck {
    public let name: String
    public let isCritical: Bool
    private let body: @Sendable () async throws -> ReadinessOutcome

    public init(name: String, critical: Bool, _ body: @escaping @Sendable () async throws -> ReadinessOutcome) {
        self.name = name
        self.isCritical = critical
        self.body = body
    }

    public func check() async throws -> ReadinessOutcome { try await body() }
}
