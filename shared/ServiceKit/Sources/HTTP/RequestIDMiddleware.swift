import HTTPTypes
import Hummingbird
import Logging

/// Adopts the caller's `x-request-id` (or makes one), puts it in the context, the logger metadata
/// (`request.id`), the ``RequestID/current`` task-local and the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    static let header = HTTPField.Name(RequestID.headerName)!

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        let id: String
        if let supplied = request.headers[Self.header], RequestID.isAcceptable(supplied[...]) {
            id = supplied
        } else {
            id = RequestID.generate()
        }
        var context = context
        context.requestID = id
        context.logger[metadataKey: "request.id"] = .string(id)
        var response = try await RequestID.$current.withValue(id) {
            try await next(request, context)
        }
        response.headers[Self.header] = id
        return response
    }
}
