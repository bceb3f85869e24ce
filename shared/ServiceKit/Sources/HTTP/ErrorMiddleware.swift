import Foundation
import HTTPTypes
import Hummingbird
import WedSyncPostgres
import Logging

/// Turns every error a route or middleware throws into the WedSync error envelope, so that no 4xx or 5xx leaves a
/// service in any other shape: ``ServiceError``s as they are, Hummingbird's `HTTPError`s (unknown route, body too
/// large) with a code derived from their status, and anything else as a logged, generic 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServiceError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.serviceError(from: error, request: request).response(from: request, context: context)
        } catch let error as DecodingError {
            return try ServiceError.badRequest(error.explanation, code: "invalid_body").response(from: request, context: context)
        } catch let error as PostgresError {
            return try Self.serviceError(from: error, context: context).response(from: request, context: context)
        } catch is CancellationError {
            return try ServiceError.unavailable("the request was cancelled", code: "cancelled")
                .response(from: request, context: context)
        } catch {
            context.logger.error(
                "unhandled error",
                metadata: ["error.type": "\(type(of: error))", "error": "\(error)"]
            )
            return try ServiceError.internalError().response(from: request, context: context)
        }
    }

    /// A database that cannot be reached, or a pool with no free connection, is a 503 the client may retry; a
    /// statement that ran out of time is a 503 too; anything else is a 500 whose details go to the log only.
    static func serviceError(from error: PostgresError, context: ServiceRequestContext) -> ServiceError {
        if error.isConnectionFailure || error.code == .poolTimeout || error.code == .shutdown {
            context.logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return .unavailable("the database is unavailable; retry shortly", code: "database_unavailable", retryAfterSeconds: 1)
        }
        if error.sqlState == "57014" {
            context.logger.warning("statement timed out or was cancelled", metadata: ["error": "\(error)"])
            return .unavailable("the query took too long; retry shortly", code: "query_timeout", retryAfterSeconds: 1)
        }
        context.logger.error("database error", metadata: ["error": "\(error)"])
        return .internalError()
    }

    static func serviceError(from error: HTTPError, request: Request) -> ServiceError {
        let (code, fallback): (String, String) =
            switch error.status {
            case .notFound: ("not_found", "no route matches \(request.method.rawValue) \(request.uri.path)")
            case .contentTooLarge: ("payload_too_large", "the request body is too large")
            case .badRequest: ("bad_request", "the request is malformed")
            case .unauthorized: ("unauthorized", "a valid bearer token is required")
            case .methodNotAllowed: ("method_not_allowed", "\(request.method.rawValue) is not allowed here")
            default: (error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"), error.status.reasonPhrase)
            }
        return ServiceError(error.status, code: code, message: error.body ?? fallback, headers: error.headers)
    }
}
