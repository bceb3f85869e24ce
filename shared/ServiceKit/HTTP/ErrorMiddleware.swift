import Foundation
import HTTPTypes
import Hummingbird
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

    static func serviceError(from error: HTTPError, request: Request) -> ServiceError {
        let code: String
        let message: String
        switch error.status {
        case .notFound:
            code = "not_found"
            message = error.body ?? "no route matches \(request.method.rawValue) \(request.uri.path)"
        case .contentTooLarge:
            code = "payload_too_large"
            message = error.body ?? "the request body is too large"
        case .badRequest:
            code = "bad_request"
            message = error.body ?? "the request is malformed"
        case .unauthorized:
            code = "unauthorized"
            message = error.body ?? "a valid bearer token is required"
        case .methodNotAllowed:
            code = "method_not_allowed"
            message = error.body ?? "\(request.method.rawValue) is not allowed here"
        default:
            code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            message = error.body ?? error.status.reasonPhrase
        }
        return ServiceError(error.status, code: code, message: message, headers: error.headers)
    }
}
