import HTTPTypes
import WedSyncModels

/// Builds the OpenAPI 3.1 document of a service from the routes it registered, so the document cannot drift from
/// what the service serves.
struct OpenAPIDocument {
    struct Route {
        var method: HTTPRequest.Method
        var path: String
        var spec: RouteSpec
    }

    var title: String
    var version: String
    var summary: String
    var routes: [Route] = []

    func json() -> JSONValue {
        var components: [String: JSONSchema] = [:]
        for (name, schema) in NamedSchema.of(ErrorEnvelope.self).components { components[name] = schema }
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes {
            let (path, pathParameters) = Self.openAPIPath(route.path)
            paths[path, default: [:]][route.method.rawValue.lowercased()] = operation(
                route,
                pathParameters: pathParameters,
                components: &components
            )
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": .string(title), "version": .string(version), "summary": .string(summary)],
            "paths": .object(paths.mapValues { JSONValue.object($0) }),
            "components": [
                "schemas": .object(components.mapValues(\.json)),
                "securitySchemes": [
                    "adminToken": [
                        "type": "http", "scheme": "bearer",
                        "description": "Operators' writes: the admin token (admin.token / WEDSYNC_ADMIN_TOKEN).",
                    ],
                    "monitorToken": [
                        "type": "http", "scheme": "bearer",
                        "description":
                            "Read-only operators: the monitor token (monitor.token / WEDSYNC_MONITOR_TOKEN).",
                    ],
                    "serviceToken": [
                        "type": "http", "scheme": "bearer",
                        "description":
                            "Another WedSync service: its own token (service.token), known here by its digest (service.callers).",
                    ],
                    "tenantToken": [
                        "type": "http", "scheme": "bearer",
                        "description": "A supplier's token, issued by the API (`wedsync-api token --org N`).",
                    ],
                ],
            ],
        ]
    }

    private func operation(_ route: Route, pathParameters: [String], components: inout [String: JSONSchema])
        -> JSONValue
    {
        let spec = route.spec
        var operation: [String: JSONValue] = [
            "summary": .string(spec.summary),
            "operationId": .string(Self.operationID(method: route.method, path: route.path)),
        ]
        if let description = spec.description { operation["description"] = .string(description) }
        if !spec.tags.isEmpty { operation["tags"] = .array(spec.tags.map(JSONValue.string)) }

        var parameters: [JSONValue] = pathParameters.map { name in
            [
                "name": .string(name), "in": "path", "required": true,
                "schema": (spec.pathParameters[name] ?? .string()).json,
            ]
        }
        for query in spec.queryParameters {
            parameters.append([
                "name": .string(query.name),
                "in": "query",
                "required": .bool(query.required),
                "description": .string(query.description),
                "schema": query.schema.json,
            ])
        }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }

        if let body = spec.requestBody {
            components.merge(body.components) { first, _ in first }
            operation["requestBody"] = [
                "required": true,
                "content": ["application/json": ["schema": body.schema.json]],
            ]
        }

        var responses: [String: JSONValue] = [:]
        var success: [String: JSONValue] = ["description": "Success."]
        var content: [String: JSONValue] = [:]
        for answer in [ResponseContent(spec.responseContentType, schema: spec.response)] + spec.otherResponses {
            if let schema = answer.schema {
                components.merge(schema.components) { first, _ in first }
                content[answer.contentType] = ["schema": schema.schema.json]
            } else if answer.contentType != "application/json" {
                content[answer.contentType] = ["schema": ["type": "string"]]
            }
        }
        if !content.isEmpty { success["content"] = .object(content) }
        for status in [spec.successStatus] + spec.otherSuccessStatuses { responses[String(status)] = .object(success) }
        let error: JSONValue = ["application/json": ["schema": ["$ref": "#/components/schemas/ErrorEnvelope"]]]
        if spec.requestBody != nil || !spec.queryParameters.isEmpty || !pathParameters.isEmpty {
            responses["400"] = ["description": "The request is malformed.", "content": error]
        }
        if spec.requestBody != nil {
            responses["413"] = ["description": "The body is too large.", "content": error]
        }
        operation["x-access"] = .string(spec.access.description)
        let schemes: [String]
        switch spec.access.level {
        case .public: schemes = []
        case .tenant: schemes = ["tenantToken"]
        case .service: schemes = ["serviceToken", "adminToken"]
        case .monitor:
            schemes =
                spec.access.services.isEmpty
                ? ["monitorToken", "adminToken"] : ["monitorToken", "serviceToken", "adminToken"]
        case .admin: schemes = ["adminToken"]
        }
        if !schemes.isEmpty {
            operation["security"] = .array(schemes.map { [$0: []] })
            responses["401"] = ["description": "The bearer token is missing or not valid.", "content": error]
        }
        if spec.access.needsIdentity {
            responses["403"] = [
                "description": .string("The caller's identity may not call this route (\(spec.access))."),
                "content": error,
            ]
        }
        responses["default"] = ["description": "An error, in the WedSync error envelope.", "content": error]
        operation["responses"] = .object(responses)
        return .object(operation)
    }

    /// `/v1/entries/{key}` → the same, with its parameter names; Hummingbird's `**` catch-all becomes `{path}`.
    static func openAPIPath(_ path: String) -> (String, [String]) {
        var parameters: [String] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            if segment == "**" || segment == "*" {
                parameters.append("path")
                return "{path}"
            }
            if segment.hasPrefix("{"), segment.hasSuffix("}") {
                parameters.append(String(segment.dropFirst().dropLast()))
            } else if segment.hasPrefix(":") {
                parameters.append(String(segment.dropFirst()))
                return "{\(segment.dropFirst())}"
            }
            return String(segment)
        }
        return (segments.joined(separator: "/"), parameters)
    }

    /// `GET /v1/cache/entries/{key}` → `getV1CacheEntriesKey`.
    static func operationID(method: HTTPRequest.Method, path: String) -> String {
        let words = path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { word in
            word.prefix(1).uppercased() + word.dropFirst()
        }
        return method.rawValue.lowercased() + words.joined()
    }
}
