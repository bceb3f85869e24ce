import HTTPTypes

/// What the OpenAPI document says about a route, and who may call it.
public struct RouteSpec: Sendable {
    public var summary: String
    public var description: String?
    public var tags: [String]
    /// Who may call the route: every route says so.
    public var access: RouteAccess
    public var queryParameters: [QueryParameter]
    /// The body's schema, for routes that read one.
    public var requestBody: NamedSchema?
    /// The success body's schema.
    public var response: NamedSchema?
    public var responseContentType: String
    public var successStatus: Int

    public init(
        summary: String,
        description: String? = nil,
        tags: [String] = [],
        access: RouteAccess,
        queryParameters: [QueryParameter] = [],
        requestBody: NamedSchema? = nil,
        response: NamedSchema? = nil,
        responseContentType: String = "application/json",
        successStatus: Int = 200
    ) {
        self.summary = summary
        self.description = description
        self.tags = tags
        self.access = access
        self.queryParameters = queryParameters
        self.requestBody = requestBody
        self.response = response
        self.responseContentType = responseContentType
        self.successStatus = successStatus
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
