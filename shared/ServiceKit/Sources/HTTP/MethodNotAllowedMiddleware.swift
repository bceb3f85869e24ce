import HTTPTypes
import Hummingbird
import Synchronization

/// Every path template a service registered, with its methods: what a 405 answer's `Allow` lists.
final class RouteMethods: Sendable {
    private struct Template {
        var segments: [Substring]
        var methods: Set<HTTPRequest.Method>
    }

    private let templates = Mutex<[String: Template]>([:])

    func add(_ method: HTTPRequest.Method, _ path: String) {
        templates.withLock { templates in
            templates[path, default: Template(segments: path.split(separator: "/"), methods: [])].methods.insert(method)
        }
    }

    /// The methods of the templates `path` matches (`HEAD` wherever `GET` is), or an empty set.
    func allowed(for path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/")
        var methods = templates.withLock { templates in
            templates.values.filter { Self.matches($0.segments, segments) }.reduce(into: Set<HTTPRequest.Method>()) {
                $0.formUnion($1.methods)
            }
        }
        if methods.contains(.get) { methods.insert(.head) }
        return methods
    }

    /// Whether a template's segments (`{id}`, `:id` and `*` match one segment, a last `**` the rest) match a path's.
    static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        var index = 0
        for segment in template {
            if segment == "**" { return index < path.count }
            guard index < path.count else { return false }
            let isCapture =
                segment == "*" || segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}"))
            guard isCapture || segment == path[index] else { return false }
            index += 1
        }
        return index == path.count
    }
}

/// Answers 405 with `Allow` when a request's path is one the service serves but its method is not (RFC 9110
/// §15.5.6), rather than the router's 404.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let methods: RouteMethods

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods.allowed(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            throw ServiceError(
                .methodNotAllowed,
                code: "method_not_allowed",
                message: "\(request.method.rawValue) is not allowed here; allowed: \(allow)",
                headers: [.allow: allow]
            )
        }
    }
}
