import HTTPTypes
import WedSyncModels

/// The checks the gateway and the API both make of a warming service's request (``WarmingHeaders``), so the two
/// refuse the same things the same way.
public enum WarmingRequest {
    /// The organization of an `X-Tenant-Id` value sent by a warming service with `method`: 405 for anything but
    /// `GET` and `HEAD`, 400 for anything but an organization id (1 to 18 digits, above 0).
    public static func organization(_ value: String, method: HTTPRequest.Method) throws(ServiceError) -> Int {
        guard method == .get || method == .head else {
            throw ServiceError(
                .methodNotAllowed,
                code: "warming_read_only",
                message: "a warming service reads pages only (GET, HEAD)"
            )
        }
        guard (1...18).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let organization = Int(value), organization > 0
        else {
            throw ServiceError.badRequest("X-Tenant-Id: expected an organization id", code: "invalid_tenant")
        }
        return organization
    }
}
