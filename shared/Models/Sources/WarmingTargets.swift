import Foundation

/// What to warm for one day (`GET /api/warming/targets?date=`): every organization with a booked wedding that day,
/// its time zone, and the pages its suppliers open on the day. A warming service fetches each page through the
/// gateway on the organization's behalf (``WarmingHeaders``), so the gateway's tenant-scoped cache holds them before
/// the first phone asks.
public struct WarmingTargets: Codable, Sendable, Equatable {
    public struct Organization: Codable, Sendable, Equatable {
        public var organizationId: Int
        /// The organization's IANA time zone (`Europe/London`).
        public var timezone: String
        /// Paths with their queries (`/api/supplier-schedules?date=2026-06-13`), relative to the API's origin.
        public var paths: [String]

        public init(organizationId: Int, timezone: String, paths: [String]) {
            self.organizationId = organizationId
            self.timezone = timezone
            self.paths = paths
        }
    }

    public var date: CalendarDay
    public var organizations: [Organization]

    public init(date: CalendarDay, organizations: [Organization]) {
        self.date = date
        self.organizations = organizations
    }
}

extension WarmingTargets: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "date": .string(format: "date"),
                "organizations": .array(
                    .object(
                        [
                            "organizationId": .integer(minimum: 1), "timezone": .string(),
                            "paths": .array(.string()),
                        ],
                        required: ["organizationId", "timezone", "paths"]
                    )
                ),
            ],
            required: ["date", "organizations"]
        )
    }
}

/// The request fields of warming on a tenant's behalf. Only a service the receiver names as a warming service
/// (`api.warming-services`, `gateway.warming-services`) may send them, with its own credential and on `GET` or
/// `HEAD`; from anyone else the gateway refuses them, and the API never reads them.
public enum WarmingHeaders {
    /// The organization the request is on behalf of: the gateway sets it from a supplier's token, and takes it from
    /// a warming service (which has no token of the tenant's).
    public static let tenant = "x-tenant-id"
    /// Seconds the gateway keeps the warmed response fresh at least (capped by `gateway.cache.max-ttl-seconds`; only
    /// a response the origin lets be reused for some time):
    /// a page warmed on Friday evening still answers on Saturday morning. Writes purge it by tag as usual.
    public static let ttl = "x-wedsync-warm-ttl"
}

extension APIPath.API {
    /// The pages to warm for a day (``WarmingTargets``), for warming services.
    public static let warmingTargets = "\(APIPath.v1)/warming/targets"
}
