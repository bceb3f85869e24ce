import HTTPTypes
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// The services that may read a tenant's pages on its behalf to warm a cache (`api.warming-services`).
///
/// Such a request carries the service's own credential (never a supplier's token) and the organization in
/// `X-Tenant-Id` (``WarmingHeaders/tenant``): the gateway sets that field for every supplier's request it forwards,
/// and a warming service sets it for the organization it warms. The API honours it only from a named service, on
/// `GET` and `HEAD` of tenant routes, for an organization that exists; the principal it gives is read-only
/// (``Principal/isWarming``). A supplier's token with `X-Tenant-Id` is still that supplier's own organization.
public struct WarmingCallers: Sendable {
    let credentials: ServiceCredentials
    public let names: [String]

    public init(credentials: ServiceCredentials, names: [String]) {
        self.credentials = credentials
        self.names = names
    }

    static let tenantField = HTTPField.Name(WarmingHeaders.tenant)!

    /// The organization a warming service's request is for; `nil` when the request is not one (a supplier's
    /// token, another credential, or no `X-Tenant-Id`: such a request is a supplier's, checked as any is). Throws 400
    /// for a malformed organization and 405 for a write (``WarmingRequest``).
    func organization(of request: Request) throws(ServiceError) -> Int? {
        guard !names.isEmpty, let tenant = request.headers[Self.tenantField],
            let authorization = request.headers[.authorization],
            authorization.split(separator: " ", maxSplits: 1).last?.hasPrefix(TokenStore.prefix) == false
        else { return nil }
        guard case .identified(.service(let name)) = credentials.identify(authorization), names.contains(name) else {
            return nil
        }
        return try WarmingRequest.organization(tenant, method: request.method)
    }
}

extension Principal {
    /// The role of a warming service's read-only principal.
    public static let warmingRole = "warming"

    /// A warming service reading `organization`'s pages: no supplier, no token, reads only.
    static func warming(organization: Int) -> Principal {
        Principal(supplierId: 0, organizationId: organization, role: warmingRole, tokenId: 0)
    }

    /// Whether this is a warming service's principal rather than a supplier's.
    public var isWarming: Bool { role == Self.warmingRole }
}
