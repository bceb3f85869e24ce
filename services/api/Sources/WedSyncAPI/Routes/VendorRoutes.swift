import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/vendors`, `GET /api/vendors/{id}`, `PATCH /api/vendors/{id}`, `PATCH /api/vendor-contacts/{id}`: the
/// vendor-management screens. Parameters, status codes and cache headers; the statements are ``VendorStore``'s.
///
/// Cache tags: every vendor response carries `org:N:vendors` and `vendor:ID` for each vendor in it, so a change to
/// a vendor or one of its contacts drops the lists and the vendor's page in every gateway.
struct VendorRoutes {
    let environment: APIEnvironment
    let store: VendorStore

    init(environment: APIEnvironment) {
        self.environment = environment
        self.store = VendorStore(database: environment.database)
    }

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/vendors",
            RouteSpec(
                summary: "The caller's vendors with their contacts: all, one category, or a name search",
                description: "Keyset-paginated in id order; `nextCursor` fetches the next page.",
                tags: ["vendors"],
                access: .tenant,
                queryParameters: [
                    QueryParameter(
                        "category",
                        schema: .string(enumeration: Vendor.categories),
                        description: "Only this category."
                    ),
                    ListParameters.search("the vendor's name"),
                    ListParameters.limit,
                    QueryParameter(
                        "cursor",
                        schema: APIFields.idSchema,
                        description: "The previous page's nextCursor."
                    ),
                ],
                response: .of(VendorPage.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/vendors") { principal in
                try await list(request, principal)
            }
        }

        routes.add(
            .get,
            "/api/vendors/{id}",
            RouteSpec(
                summary: "One of the caller's vendors with its contacts",
                tags: ["vendors"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                response: .of(Vendor.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/vendors/{id}") { principal in
                let id = try Parameters.id(context)
                // Anyone else's vendor gets the same answer as no vendor.
                guard let vendor = try await store.vendor(id: id, organization: principal.organizationId) else {
                    throw ServiceError.notFound("no vendor \(id)")
                }
                return CachePolicy.standard.respond(
                    vendor,
                    tags: Self.tags(of: [vendor], organization: principal.organizationId),
                    request: request
                )
            }
        }

        routes.add(
            .patch,
            "/api/vendors/{id}",
            RouteSpec(
                summary: "Change one of the caller's vendors",
                tags: ["vendors"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                requestBody: .of(VendorPatch.self),
                response: .of(Vendor.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/vendors/{id}") { principal in
                let id = try Parameters.id(context)
                let patch = try Self.validated(try await request.decodeJSON(VendorPatch.self, context: context))
                let organization = principal.organizationId
                guard
                    let vendor = try await store.update(
                        id: id,
                        with: patch,
                        by: principal,
                        requestID: context.requestID,
                        invalidating: ["vendor:\(id)", "org:\(organization):vendors"]
                    )
                else { throw ServiceError.notFound("no vendor \(id)") }
                // A patch naming no field wrote nothing: nothing to invalidate.
                if patch != VendorPatch() { environment.committed() }
                return Self.written(vendor)
            }
        }

        routes.add(
            .patch,
            "/api/vendor-contacts/{id}",
            RouteSpec(
                summary: "Change a contact of one of the caller's vendors",
                tags: ["vendors"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                requestBody: .of(VendorContactPatch.self),
                response: .of(VendorContact.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/vendor-contacts/{id}") { principal in
                let id = try Parameters.id(context)
                let patch = try Self.validated(
                    try await request.decodeJSON(VendorContactPatch.self, context: context)
                )
                let organization = principal.organizationId
                guard
                    let contact = try await store.updateContact(
                        id: id,
                        with: patch,
                        by: principal,
                        requestID: context.requestID,
                        invalidating: { vendorID in ["vendor:\(vendorID)", "org:\(organization):vendors"] }
                    )
                else { throw ServiceError.notFound("no vendor contact \(id)") }
                if patch != VendorContactPatch() { environment.committed() }
                return Self.written(contact)
            }
        }
    }

    private func list(_ request: Request, _ principal: Principal) async throws -> Response {
        let category = try Parameters.choice(request, "category", from: Vendor.categories)
        let limit = try ListParameters.limit(request)
        let search = try ListParameters.search(request)
        let cursor = try request.integerQuery("cursor", in: APIFields.ids)
        // One more than the page: whether there is a next page, without a count.
        var vendors = try await store.vendors(
            organization: principal.organizationId,
            category: category,
            matching: search,
            after: cursor,
            limit: limit + 1
        )
        var next: Int?
        if vendors.count > limit {
            vendors.removeLast()
            next = vendors.last?.id
        }
        return CachePolicy.standard.respond(
            VendorPage(vendors: vendors, nextCursor: next),
            tags: Self.tags(of: vendors, organization: principal.organizationId),
            request: request
        )
    }

    /// The tags of a response holding `vendors`.
    private static func tags(of vendors: [Vendor], organization: Int) -> [String] {
        ["org:\(organization)", "org:\(organization):vendors"] + vendors.map { "vendor:\($0.id)" }
    }

    /// A write's answer: never stored.
    private static func written(_ value: some Encodable & Sendable) -> Response {
        var response = Response.json(value)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// `patch` with every field it names checked (a 400 naming the first that is not valid) and its text as stored.
    private static func validated(_ patch: VendorPatch) throws -> VendorPatch {
        var checked = patch
        checked.name = try Parameters.text(patch.name, "name", APIFields.personName)
        if let category = patch.category, !Vendor.categories.contains(category) {
            throw ServiceError.badRequest(
                "category: expected one of \(Vendor.categories.joined(separator: ", "))",
                code: "invalid_body"
            )
        }
        checked.website = try Parameters.text(patch.website, "website", APIFields.website)
        return checked
    }

    private static func validated(_ patch: VendorContactPatch) throws -> VendorContactPatch {
        var checked = patch
        checked.name = try Parameters.text(patch.name, "name", APIFields.personName)
        checked.email = try Parameters.email(patch.email, "email")
        checked.phone = try Parameters.text(patch.phone, "phone", APIFields.phone)
        checked.role = try Parameters.text(patch.role, "role", APIFields.role)
        return checked
    }
}
