import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// What every API route needs: the database, the token store, and where writes and query timings are reported.
public struct APIEnvironment: Sendable {
    public let database: RecordingDatabase
    public let tokens: TokenStore
    public let invalidations: InvalidationOutbox
    public let queryEvents: QueryEventReporter?
    public let dashboard: DashboardRefresher
    /// Services that may read tenant routes on an organization's behalf (``WarmingCallers``).
    public let warming: WarmingCallers?

    public init(
        database: RecordingDatabase,
        tokens: TokenStore,
        invalidations: InvalidationOutbox,
        queryEvents: QueryEventReporter?,
        dashboard: DashboardRefresher,
        warming: WarmingCallers? = nil
    ) {
        self.database = database
        self.tokens = tokens
        self.invalidations = invalidations
        self.queryEvents = queryEvents
        self.dashboard = dashboard
        self.warming = warming
    }

    static let serverTiming = HTTPField.Name("Server-Timing")!

    /// The caller, from `Authorization: Bearer <token>`: 401 without a token or with one that is unknown or revoked.
    func principal(of request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization] else {
            throw ServiceError.unauthorized("a supplier's bearer token is required")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServiceError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        guard let principal = try await tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces))
        else {
            throw ServiceError.unauthorized("the bearer token is not valid")
        }
        return principal
    }

    /// The caller of a tenant route: a warming service on an organization's behalf (``WarmingCallers``), else the
    /// supplier of the bearer token. A warming service's organization must exist (404 otherwise).
    func caller(of request: Request) async throws -> Principal {
        guard let organization = try warming?.organization(of: request) else { return try await principal(of: request) }
        let exists = try await database.read("SELECT 1 FROM organizations WHERE id = \(organization)").first != nil
        guard exists else { throw ServiceError.notFound("no organization \(organization)") }
        return .warming(organization: organization)
    }

    /// Runs an authenticated route: the caller's principal, a ``QueryLog`` for its statements, a `Server-Timing`
    /// header (`db` and `app` durations) on the answer, and its query events reported.
    func handle(
        _ request: Request,
        _ context: ServiceRequestContext,
        route: String,
        _ body: (Principal) async throws -> Response
    ) async throws -> Response {
        let log = QueryLog()
        let started = ContinuousClock.now
        var response = try await QueryLog.$current.withValue(log) {
            let principal = try await caller(of: request)
            return try await RecordingDatabase.$consistencyKey.withValue(
                RecordingDatabase.key(organization: principal.organizationId)
            ) {
                try await body(principal)
            }
        }
        let total = (ContinuousClock.now - started).milliseconds
        let queries = log.recorded.count
        response.headers[Self.serverTiming] =
            "db;dur=\(Self.format(log.totalMs));desc=\"\(queries) \(queries == 1 ? "query" : "queries")\", app;dur=\(Self.format(total))"
        queryEvents?.report(log, requestID: context.requestID, route: route)
        return response
    }

    static func format(_ milliseconds: Double) -> String {
        String(format: "%.2f", milliseconds)
    }

    /// Reports a committed write whose transaction recorded the cache tags it changed
    /// (``InvalidationOutbox/record(_:tags:reason:)``): they are sent now, and the dashboard's counts are stale.
    func committed() {
        invalidations.wake()
        dashboard.markStale()
    }
}
