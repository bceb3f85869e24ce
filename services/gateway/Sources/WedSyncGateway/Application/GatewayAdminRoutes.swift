import Foundation
import Hummingbird
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// The gateway's admin API: its upstream pools, which the autoscaler changes at run time (with its own token; the
/// admin's works too), and purges of the response cache (admin bearer token). A replica added at run time must be at an allowed origin (`outbound.allowed-origins`,
/// by default the stack's services and the routes file's replicas), so no token can point the gateway elsewhere.
struct GatewayAdminRoutes {
    let pools: UpstreamRegistry
    let cache: ResponseCache?
    /// Runs the drains a `DELETE` does not wait for.
    let background: BackgroundWork
    let origins: AllowedOrigins

    static let replicaPath = "/admin/upstreams/{pool}/replicas/{address}"

    func register(_ routes: ServiceRoutes) {
        let pools = self.pools
        let cache = self.cache
        let background = self.background
        let origins = self.origins
        let poolSchema = JSONSchema.string(enumeration: pools.all.map(\.name))
        // The replicas that may be registered: host:port of the allowed plain-HTTP origins.
        let allowedAddressSchema = JSONSchema.text(3...262, pattern: "^" + origins.plainAddressPattern() + "$")
        routes.get(
            "/admin/upstreams",
            RouteSpec(
                summary: "Every upstream pool and the state of its replicas",
                tags: ["upstreams"],
                access: .monitor(orService: "wedsync-autoscaler"),
                response: .of(UpstreamsStatus.self)
            )
        ) { _, _ in
            UpstreamsStatus(pools: pools.all.map { $0.status() })
        }

        routes.put(
            Self.replicaPath,
            RouteSpec(
                summary: "Register a replica (`host:port`) in a pool",
                description:
                    "It takes requests at once and is health-checked with the rest. Registering a draining replica "
                    + "stops the drain. Answers the pool. Only an allowed origin (outbound.allowed-origins) may be registered.",
                tags: ["upstreams"],
                access: .service("wedsync-autoscaler"),
                pathParameters: ["pool": poolSchema, "address": allowedAddressSchema],
                response: .of(UpstreamPoolStatus.self)
            )
        ) { _, context in
            let (pool, address) = try Self.replica(context, pools: pools)
            try origins.check("http://\(address.address)", field: "address")
            pool.add(address)
            return pool.status()
        }

        routes.add(
            .delete,
            Self.replicaPath,
            RouteSpec(
                summary: "Drain a replica and remove it from its pool",
                description:
                    "No new request goes to it; in-flight ones finish (up to the pool's drain timeout), then it is "
                    + "removed. 202 at once, or with `?wait=true` 200 once it is gone. Answers the pool.",
                tags: ["upstreams"],
                access: .service("wedsync-autoscaler"),
                queryParameters: [
                    QueryParameter("wait", schema: .boolean, description: "Answer only once the replica is removed.")
                ],
                pathParameters: ["pool": poolSchema, "address": allowedAddressSchema],
                response: .of(UpstreamPoolStatus.self),
                successStatus: 202,
                otherSuccessStatuses: [200]
            )
        ) { request, context in
            let wait = try request.booleanQuery("wait", default: false)
            let (pool, address) = try Self.replica(context, pools: pools)
            guard pool.status().replicas.contains(where: { $0.address == address.address }) else {
                throw ServiceError.notFound("the \(pool.name) pool has no replica \(address.address)")
            }
            if wait {
                _ = await pool.drain(address.address)
                return Response.json(pool.status(), status: .ok)
            }
            // One drain per replica, however often it is asked for.
            background.submit(key: "drain \(pool.name) \(address.address)") { _ = await pool.drain(address.address) }
            return Response.json(pool.status(), status: .accepted)
        }

        routes.post(
            "/admin/purge",
            RouteSpec(
                summary: "Purge stored responses by Cache-Tag tags or by URL",
                description:
                    "Every gateway sharing the Redis drops them (over the cache backplane). A URL purges every "
                    + "variant of it for every tenant.",
                tags: ["cache"],
                access: .admin,
                requestBody: .of(PurgeRequest.self),
                response: .of(PurgeResult.self)
            )
        ) { request, context in
            let purge = try await request.decodeJSON(PurgeRequest.self, context: context)
            guard !purge.tags.isEmpty || !purge.urls.isEmpty else {
                throw ServiceError.badRequest("give tags or urls to purge", code: "invalid_body")
            }
            guard purge.tags.count <= PurgeRequest.maximumItems, purge.urls.count <= PurgeRequest.maximumItems else {
                throw ServiceError.badRequest(
                    "at most \(PurgeRequest.maximumItems) tags and as many urls in one purge",
                    code: "invalid_body"
                )
            }
            if let bad = purge.tags.first(where: {
                $0.isEmpty || $0.utf8.count > 128 || !$0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
            }) {
                throw ServiceError.badRequest(
                    "tag \(bad.prefix(40)) is not 1 to 128 printable characters without spaces",
                    code: "invalid_body"
                )
            }
            let targets = try purge.urls.map { url -> String in
                guard url.unicodeScalars.count <= 2_048,
                    !url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
                    Self.hasPlainScheme(url), let target = GatewayProxy.sameOriginTarget(url)
                else {
                    throw ServiceError.badRequest(
                        "url \(url.prefix(60)) is neither a path nor an http(s) URL",
                        code: "invalid_body"
                    )
                }
                return target
            }
            guard let cache else { return PurgeResult(tags: purge.tags, urls: targets, propagated: false) }
            let propagated = await cache.invalidate(targets: targets, tags: purge.tags)
            return PurgeResult(tags: purge.tags, urls: targets, propagated: propagated)
        }

        if let cache {
            routes.get(
                "/admin/cache/stats",
                RouteSpec(
                    summary: "The response cache's statistics per tier",
                    tags: ["cache"],
                    access: .monitor,
                    response: .of(CacheStats.self)
                )
            ) { _, _ in
                cache.statistics()
            }
        }
    }

    /// A path, or a URL whose scheme is letters, digits, `+`, `.` and `-` starting with a letter.
    static func hasPlainScheme(_ url: String) -> Bool {
        guard let separator = url.range(of: "://"), !url.hasPrefix("/") else { return true }
        let scheme = url[..<separator.lowerBound].unicodeScalars
        guard let first = scheme.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return scheme.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+.-".unicodeScalars.contains($0))
        }
    }

    static func replica(_ context: ServiceRequestContext, pools: UpstreamRegistry) throws(ServiceError) -> (
        UpstreamPool, UpstreamAddress
    ) {
        let name = context.parameters.get("pool") ?? ""
        guard let pool = pools[name] else { throw ServiceError.notFound("no upstream pool \(name.prefix(60))") }
        let raw = context.parameters.get("address") ?? ""
        let text = raw.removingPercentEncoding ?? raw
        guard let address = UpstreamAddress("http://" + text),
            address.address == text || "\(address.host):\(address.port)" == text
        else {
            throw ServiceError.badRequest("a replica is host:port, got \(text.prefix(60))", code: "invalid_parameter")
        }
        return (pool, address)
    }
}
