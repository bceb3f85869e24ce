import Foundation
import HTTPTypes
import Hummingbird
import WedSyncModels

/// An error a route answers with: an HTTP status, a stable snake_case `code` and a message for people, sent as the
/// WedSync error envelope `{"error":{"code":"...","message":"..."}}`.
///
/// Throw it from any handler; ``ErrorMiddleware`` turns it, and every other error, into the envelope. Messages must
/// never carry secrets, tokens, emails or names.
public struct ServiceError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The envelope for this error.
    public var envelope: ErrorEnvelope { ErrorEnvelope(code: code, message: message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(envelope, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    // MARK: The usual ones

    /// 400: the request is malformed (`code` names what: `invalid_body`, `invalid_parameter`...).
    public static func badRequest(_ message: String, code: String = "bad_request") -> ServiceError {
        ServiceError(.badRequest, code: code, message: message)
    }

    /// 401: no valid credentials.
    public static func unauthorized(_ message: String = "a valid bearer token is required") -> ServiceError {
        ServiceError(.unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }

    /// 403: credentials are valid but do not allow this.
    public static func forbidden(_ message: String) -> ServiceError {
        ServiceError(.forbidden, code: "forbidden", message: message)
    }

    /// 404: nothing here (or nothing the caller may see).
    public static func notFound(_ message: String = "no such resource") -> ServiceError {
        ServiceError(.notFound, code: "not_found", message: message)
    }

    /// 409: the request conflicts with the current state.
    public static func conflict(_ message: String) -> ServiceError {
        ServiceError(.conflict, code: "conflict", message: message)
    }

    /// 413: the body is larger than the service accepts.
    public static func payloadTooLarge(limit: Int) -> ServiceError {
        ServiceError(.contentTooLarge, code: "payload_too_large", message: "the request body exceeds \(limit) bytes")
    }

    /// 429: slow down; retry after the given seconds.
    public static func tooManyRequests(_ message: String, retryAfterSeconds: Int) -> ServiceError {
        ServiceError(
            .tooManyRequests,
            code: "rate_limited",
            message: message,
            headers: [.retryAfter: String(retryAfterSeconds)]
        )
    }

    /// 503: a dependency is down or the service is overloaded.
    public static func unavailable(_ message: String, code: String = "unavailable", retryAfterSeconds: Int? = nil)
        -> ServiceError
    {
        var headers: HTTPFields = [:]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return ServiceError(.serviceUnavailable, code: code, message: message, headers: headers)
    }

    /// 500: something the service did not expect. The message is generic on purpose; details go to the log.
    public static func internalError() -> ServiceError {
        ServiceError(.internalServerError, code: "internal_error", message: "the service failed to handle the request")
    }
}
