import Foundation

/// What a bearer token stands for (`GET /api/auth/introspect`): the gateway's view of the caller.
public struct TokenIntrospection: Codable, Sendable, Equatable {
    public var active: Bool
    public var supplierId: Int
    public var organizationId: Int
    public var role: String

    public init(active: Bool, supplierId: Int, organizationId: Int, role: String) {
        self.active = active
        self.supplierId = supplierId
        self.organizationId = organizationId
        self.role = role
    }
}

extension TokenIntrospection: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "active": .boolean, "supplierId": .integer(minimum: 1), "organizationId": .integer(minimum: 1),
                "role": .string(enumeration: ["owner", "admin", "member"]),
            ],
            required: ["active", "supplierId", "organizationId", "role"]
        )
    }
}
