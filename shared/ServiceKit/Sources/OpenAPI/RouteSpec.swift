import HTTPTypes
import WedSyncModels

/// What the OpenAPI document says about a route, and who may call it.
public struct RouteSpec: Sendable {
    public var summary: String
    public var description: String?
    public var tags: [String]
    /// Who may call the route: every route says so.
    public var access: RouteAccess
    public var queryParameters: [QueryParameter]
    /// The schemas of the path's parameters, by name (a plain string when not given).
    public var pathParameters: [String: JSONSchema]
    /// The body's schema, for routes that read one.
    public var requestBody: NamedSchema?
    /// The success body's schema.
    public var response: NamedSchema?
    public var responseContentType: String
    /// Other content types the success answer comes in (chosen by `Accept` or a `format` parameter).
    public var otherResponses: [ResponseContent]
    public var successStatus: Int
    /// Other success statuses the route answers with the same body (200 when asked to wait, 202 otherwise, say).
    public var otherSuccessStatuses: [Int]

    public init(
        summary: String,
        description: String? = nil,
        tags: [String] = [],
        access: RouteAccess,
        queryParameters: [QueryParameter] = [],
        pathParameters: [String: JSONSchema] = [:],
        requestBody: NamedSchema? = nil,
        response: NamedSchema? = nil,
        responseContentType: String = "application/json",
        otherResponses: [ResponseContent] = [],
        successStatus: Int = 200,
        otherSuccessStatuses: [Int] = []
    ) {
        self.summary = summary
        self.description = description
        self.tags = tags
        self.access = access
        self.queryParameters = queryParameters
        self.pathParameters = pathParameters
        self.requestBody = requestBody
        self.response = response
        self.responseContentType = responseContentType
        self.otherResponses = otherResponses
        self.successStatus = successStatus
        self.otherSuccessStatuses = otherSuccessStatuses
    }
}

/// One more content type of a route's success answer.
public struct ResponseContent: Sendable {
    public var contentType: String
    /// Its schema; `nil` for text described by the route's prose.
    public var schema: NamedSchema?

    public init(_ contentType: String, schema: NamedSchema? = nil) {
        self.contentType = contentType
        self.schema = schema
    }
}

/// A query parameter of a route.
public struct QueryParameter: Sendable {
    public var name: String
    public var schema: JSONSchema
    public var required: Bool
    public var description: String

    public init(_ name: String, schema: JSONSchema = .string(), required: Bool = false, description: String) {
        self.name = name
        self.schema = schema
        self.required = required
        self.description = description
    }
}

/// A body schema: inline, or a named component and the components it refers to.
public struct NamedSchema: Sendable {
    public var schema: JSONSchema
    /// Components to add to `components/schemas` (name → schema).
    public var components: [String: JSONSchema]

    public init(schema: JSONSchema, components: [String: JSONSchema] = [:]) {
        self.schema = schema
        self.components = components
    }

    /// A reference to `type`'s component, with the components it needs.
    public static func of(_ type: any OpenAPISchemaProviding.Type) -> NamedSchema {
        var components: [String: JSONSchema] = [:]
        collect(type, into: &components)
        return NamedSchema(schema: .reference(type.openAPIName), components: components)
    }

    /// A stream of Server-Sent Events, each named by its `event` field and carrying in `data` the JSON of its type
    /// (OpenAPI 3.1 has a text/event-stream schema describe each event, as `{event, data, id, retry}`).
    public static func serverSentEvents(_ events: [String: any OpenAPISchemaProviding.Type]) -> NamedSchema {
        var components: [String: JSONSchema] = [:]
        for type in events.values { collect(type, into: &components) }
        let payload = JSONSchema.oneOf(events.values.map { .reference($0.openAPIName) }.sorted { "\($0)" < "\($1)" })
        let data = JSONSchema.constrained(
            .string(),
            ["contentMediaType": "application/json", "contentSchema": payload.json]
        )
        let event = JSONSchema.object(
            [
                "event": .string(enumeration: events.keys.sorted()), "data": data, "id": .string(),
                "retry": .integer(minimum: 0),
            ],
            required: ["event", "data"]
        )
        return NamedSchema(schema: event, components: components)
    }

    /// A stream of Server-Sent Events named `events`, each carrying a JSON value in `data`.
    public static func serverSentEvents(named events: [String]) -> NamedSchema {
        let data = JSONSchema.constrained(.string(), ["contentMediaType": "application/json"])
        return NamedSchema(
            schema: .object(
                [
                    "event": .string(enumeration: events.sorted()), "data": data, "id": .string(),
                    "retry": .integer(minimum: 0),
                ],
                required: ["event", "data"]
            )
        )
    }

    /// An array of `type`.
    public static func arrayOf(_ type: any OpenAPISchemaProviding.Type) -> NamedSchema {
        let element = of(type)
        return NamedSchema(schema: .array(element.schema), components: element.components)
    }

    private static func collect(_ type: any OpenAPISchemaProviding.Type, into components: inout [String: JSONSchema]) {
        guard components[type.openAPIName] == nil else { return }
        components[type.openAPIName] = type.openAPISchema
        for dependency in type.openAPIDependencies { collect(dependency, into: &components) }
    }
}
