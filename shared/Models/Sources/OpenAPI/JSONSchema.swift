/// A JSON Schema (the 2020-12 dialect OpenAPI 3.1 uses), enough to describe WedSync's request and response bodies.
public indirect enum JSONSchema: Sendable, Hashable {
    case string(format: String? = nil, enumeration: [String]? = nil)
    case integer(minimum: Int? = nil, maximum: Int? = nil)
    case number
    case boolean
    case array(JSONSchema)
    /// An object with named properties; `required` lists those that must be present.
    case object([String: JSONSchema], required: [String])
    /// An object whose every property has the same schema (`[String: V]`).
    case map(JSONSchema)
    /// A named schema in `components/schemas`.
    case reference(String)
    /// The value or `null`.
    case nullable(JSONSchema)
    case oneOf([JSONSchema])
    /// Any JSON value.
    case any
    /// A schema with a description.
    case described(JSONSchema, String)
    /// A schema with more JSON Schema keywords (`minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
    /// `minItems`, `maxItems`...): what the route's validation refuses, said in the document, so that a request the
    /// document allows is one the route takes.
    case constrained(JSONSchema, [String: JSONValue])

    /// The schema as JSON.
    public var json: JSONValue {
        switch self {
        case .string(let format, let enumeration):
            var object: [String: JSONValue] = ["type": "string"]
            if let format { object["format"] = .string(format) }
            if let enumeration { object["enum"] = .array(enumeration.map(JSONValue.string)) }
            return .object(object)
        case .integer(let minimum, let maximum):
            var object: [String: JSONValue] = ["type": "integer"]
            if let minimum { object["minimum"] = .number(Double(minimum)) }
            if let maximum { object["maximum"] = .number(Double(maximum)) }
            return .object(object)
        case .number:
            return ["type": "number"]
        case .boolean:
            return ["type": "boolean"]
        case .array(let items):
            return ["type": "array", "items": items.json]
        case .object(let properties, let required):
            var object: [String: JSONValue] = [
                "type": "object",
                "properties": .object(properties.mapValues(\.json)),
            ]
            if !required.isEmpty { object["required"] = .array(required.sorted().map(JSONValue.string)) }
            return .object(object)
        case .map(let values):
            return ["type": "object", "additionalProperties": values.json]
        case .reference(let name):
            return ["$ref": .string("#/components/schemas/\(name)")]
        case .nullable(let schema):
            return ["oneOf": [schema.json, ["type": "null"]]]
        case .oneOf(let schemas):
            return ["oneOf": .array(schemas.map(\.json))]
        case .any:
            return .object([:])
        case .described(let schema, let description):
            guard case .object(var object) = schema.json else { return schema.json }
            object["description"] = .string(description)
            return .object(object)
        case .constrained(let schema, let keywords):
            guard case .object(var object) = schema.json else { return schema.json }
            object.merge(keywords) { _, new in new }
            return .object(object)
        }
    }

    /// A string of `length` Unicode code points (what JSON Schema counts, and what the routes count), matching
    /// `pattern` when given.
    public static func text(_ length: ClosedRange<Int>, pattern: String? = nil, format: String? = nil) -> JSONSchema {
        var keywords: [String: JSONValue] = [
            "minLength": .number(Double(length.lowerBound)), "maxLength": .number(Double(length.upperBound)),
        ]
        if let pattern { keywords["pattern"] = .string(pattern) }
        return .constrained(.string(format: format), keywords)
    }

    /// A number within `range`.
    public static func number(in range: ClosedRange<Double>) -> JSONSchema {
        .constrained(.number, ["minimum": .number(range.lowerBound), "maximum": .number(range.upperBound)])
    }

    /// An integer within `range` (JSON-safe: at most 2^53 - 1, which every client's number type holds exactly).
    public static func integer(in range: ClosedRange<Int>) -> JSONSchema {
        .integer(minimum: range.lowerBound, maximum: range.upperBound)
    }

    /// An array of `items` with `count` elements.
    public static func array(_ items: JSONSchema, count: ClosedRange<Int>) -> JSONSchema {
        .constrained(
            .array(items),
            ["minItems": .number(Double(count.lowerBound)), "maxItems": .number(Double(count.upperBound))]
        )
    }

    /// An ISO-8601 date-time string.
    public static var dateTime: JSONSchema { .string(format: "date-time") }

    /// An RFC 3339 date-time as requests may send it: `2026-06-13T14:00:00Z`, with fractional seconds or an offset
    /// (what ``ISO8601/parse(_:)`` reads).
    public static var requestDateTime: JSONSchema {
        .constrained(
            .string(format: "date-time"),
            [
                "pattern": .string(
                    #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"#
                )
            ]
        )
    }
}

/// A type whose JSON shape is published in the OpenAPI document, under `components/schemas/<openAPIName>`.
public protocol OpenAPISchemaProviding {
    /// The component's name; the type's name by default.
    static var openAPIName: String { get }
    static var openAPISchema: JSONSchema { get }
    /// Schemas this one refers to by name, so the document can include them.
    static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { get }
}

extension OpenAPISchemaProviding {
    public static var openAPIName: String { String(describing: Self.self) }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [] }
}
