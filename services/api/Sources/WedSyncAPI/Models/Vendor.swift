import Foundation
import WedSyncModels
import WedSyncServiceKit

/// One of the organization's vendors (a venue, a caterer, a band) with the people to call there.
public struct Vendor: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    /// One of ``categories``.
    public var category: String
    public var website: String?
    public var contacts: [VendorContact]

    public init(id: Int, name: String, category: String, website: String?, contacts: [VendorContact]) {
        self.id = id
        self.name = name
        self.category = category
        self.website = website
        self.contacts = contacts
    }

    /// The kinds of vendor a wedding has.
    public static let categories = [
        "venue", "catering", "florist", "photography", "videography", "music", "cake", "hair-makeup",
        "transport", "stationery", "decor", "officiant",
    ]
}

/// Someone to call at a vendor.
public struct VendorContact: Codable, Sendable, Equatable {
    public var id: Int
    public var vendorId: Int
    public var name: String
    public var email: String?
    public var phone: String?
    public var role: String?

    public init(id: Int, vendorId: Int, name: String, email: String?, phone: String?, role: String?) {
        self.id = id
        self.vendorId = vendorId
        self.name = name
        self.email = email
        self.phone = phone
        self.role = role
    }
}

/// A page of the caller's vendors (`GET /api/vendors`), in id order.
public struct VendorPage: Codable, Sendable, Equatable {
    public var vendors: [Vendor]
    /// The id to pass as `cursor` for the next page; `nil` on the last.
    public var nextCursor: Int?

    public init(vendors: [Vendor], nextCursor: Int?) {
        self.vendors = vendors
        self.nextCursor = nextCursor
    }
}

/// A change to a vendor (`PATCH /api/vendors/{id}`): the fields named change; absent or `null` ones stay.
public struct VendorPatch: Codable, Sendable, Equatable {
    public var name: String?
    public var category: String?
    public var website: String?

    public init(name: String? = nil, category: String? = nil, website: String? = nil) {
        self.name = name
        self.category = category
        self.website = website
    }
}

/// A change to a vendor's contact (`PATCH /api/vendor-contacts/{id}`).
public struct VendorContactPatch: Codable, Sendable, Equatable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var role: String?

    public init(name: String? = nil, email: String? = nil, phone: String? = nil, role: String? = nil) {
        self.name = name
        self.email = email
        self.phone = phone
        self.role = role
    }
}

extension Vendor: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "name": .string(), "category": .string(enumeration: Vendor.categories),
                "website": .optionalString, "contacts": .array(.reference(VendorContact.openAPIName)),
            ],
            required: ["id", "name", "category", "contacts"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [VendorContact.self] }
}

extension VendorContact: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .id, "vendorId": .id, "name": .string(), "email": .optionalString, "phone": .optionalString,
                "role": .optionalString,
            ],
            required: ["id", "vendorId", "name"]
        )
    }
}

extension VendorPage: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["vendors": .array(.reference(Vendor.openAPIName)), "nextCursor": .nullable(.id)],
            required: ["vendors"]
        )
    }
    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [Vendor.self] }
}

extension VendorPatch: OpenAPISchemaProviding {
    /// Every field optional: absent or `null` leaves it as it is.
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .nullable(APIFields.personName.schema),
                "category": .nullable(.string(enumeration: Vendor.categories)),
                "website": .nullable(APIFields.website.schema),
            ],
            required: []
        )
    }
}

extension VendorContactPatch: OpenAPISchemaProviding {
    /// Every field optional: absent or `null` leaves it as it is.
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .nullable(APIFields.personName.schema), "email": .nullable(EmailRule.schema),
                "phone": .nullable(APIFields.phone.schema), "role": .nullable(APIFields.role.schema),
            ],
            required: []
        )
    }
}
