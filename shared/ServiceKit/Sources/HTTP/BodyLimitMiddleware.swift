import HTTPTypes
import Hummingbird

/// Sets the body size limit on the context and refuses, before reading a byte, a request whose `Content-Length`
/// exceeds it (413). Bodies without a length are cut off at the limit when a route reads them.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let limit: Int

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServiceError.payloadTooLarge(limit: limit)
        }
        var context = context
        context.maxUploadSize = limit
        return try await next(request, context)
    }
}
