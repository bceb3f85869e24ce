import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Turns every error a route or middleware throws into the WedSync error envelope, so that no 4xx or 5xx leaves a
/// service in any other shape: ``ServiceError``s as they are, Hummingbird's `HTTPError`s (unknown route, body too
/// large) with a code derived from their status, a library's errors as its ``ServiceErrorMapping`` says, and anything
/// else as a logged, generic 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let mappings: ErrorMappings

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
            return try ServiceError.badRequest(error.explanation, code: "invalid_body").response(
                from: request,
                context: context
            )
        } catch is CancellationError {
            return try ServiceError.unavailable("the request was cancelled", code: "cancelled")
                .response(from: request, context: context)
        } catch {
            if let mapped = mappings.serviceError(for: error, logger: context.logger) {
                return try mapped.response(from: request, context: context)
            }
            context.logger.error(
                "unhandled error",
                metadata: ["error.type": "\(type(of: error))", "error": "\(error)"]
            )
            return try ServiceError.internalError().response(from: request, context: context)
        }
    }

    static func serviceError(from error: HTTPError, request: Request) -> ServiceError {
        let (code, fallback): (String, String) =
            switch error.status {
            case .notFound: ("not_found", "no route matches \(request.method.rawValue) \(request.uri.path)")
            case .contentTooLarge: ("payload_too_large", "the request body is too large")
            case .badRequest: ("bad_request", "the request is malformed")
            case .unauthorized: ("unauthorized", "a valid bearer token is required")
            case .methodNotAllowed: ("method_not_allowed", "\(request.method.rawValue) is not allowed here")
            default:
                (
                    error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"),
                    error.status.reasonPhrase
                )
            }
        return ServiceError(error.status, code: code, message: error.body ?? fallback, headers: error.headers)
    }
}

/// Turns one library's errors into the envelope a client gets (a database that cannot be reached: a 503 to retry),
/// registered with ``ServiceBuilder/addErrorMapping(_:)`` by the library that contributes the dependency.
public protocol ServiceErrorMapping: Sendable {
    /// The error to answer with, or `nil` when `error` is not this mapping's kind.
    func serviceError(for error: any Error, logger: Logger) -> ServiceError?
}

/// The mappings a service's libraries registered, consulted in order.
final class ErrorMappings: Sendable {
    private let mappings = Mutex<[any ServiceErrorMapping]>([])

    func add(_ mapping: some ServiceErrorMapping) {
        mappings.withLock { $0.append(mapping) }
    }

    func serviceError(for error: any Error, logger: Logger) -> ServiceError? {
        for mapping in mappings.withLock({ $0 }) {
            if let mapped = mapping.serviceError(for: error, logger: logger) { return mapped }
        }
        return nil
    }
}
