import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// The cache service's HTTP API.
///
/// | route | access | |
/// |---|---|---|
/// | `GET /v1/entries/{namespace}/{key}` | service:* | the stored body with its content type, `x-cache-tier: L1\|L2`; 404 on a miss |
/// | `PUT /v1/entries/{namespace}/{key}?ttl=&tags=` | service:* | stores the raw body with its content type |
/// | `DELETE /v1/entries/{namespace}/{key}` | service:* | invalidates the key everywhere |
/// | `POST /v1/invalidations` | service:wedsync-api | `{"tags":[...]}`, `{"keys":["ns/key"]}`, `{"prefix":"ns/..."}` |
/// | `GET /v1/stats` | monitor | hit ratio, per tier hits, misses and latency, per namespace counters |
/// | `GET /v1/recommendations` | monitor | TTLs to raise or lower, L1 to grow (with the estimated gain), keys to warm |
/// | `POST /v1/warm` | admin | starts a warming job (``WarmRequest``); 202 with the job |
/// | `GET /v1/jobs`, `GET /v1/jobs/{id}` | monitor | warming jobs and their progress |
/// | `DELETE /v1/jobs/{id}` | admin | cancels a job and forgets it |
///
/// Entries live only in the served namespaces (``ServedNamespaces``): any other is a 404, and never the gateway's.
struct CacheRoutes: Sendable {
    let cache: MultiTierCache
    let namespaces: ServedNamespaces
    let warmer: Warmer
    let cdn: CDNPurger?
    /// Entry reads counted for the metrics service, per tier and namespace; `nil` when not reported.
    var summaries: APICallAggregator? = nil

    static let entryPath = "\(APIPath.v1)/entries/{namespace}/{key}"
    static let entryParameters = ["namespace": CacheFields.namespaceSchema, "key": CacheFields.key.schema]
    static let tierHeader = HTTPField.Name("x-cache-tier")!
    static let stateHeader = HTTPField.Name("x-cache-state")!
    static let versionHeader = HTTPField.Name("x-cache-version")!

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            Self.entryPath,
            RouteSpec(
                summary: "Read an entry: L1, then L2",
                description: "Answers the stored body with its content type, `x-cache-tier` (`L1` or `L2`), `age` and "
                    + "`x-cache-version`; 404 when no tier holds a fresh value.",
                tags: ["entries"],
                access: .anyService,
                pathParameters: Self.entryParameters,
                responseContentType: "*/*"
            )
        ) { _, context in
            let address = try address(context)
            let started = ContinuousClock.now
            let found = try await Self.mapped({ () async throws(CacheKitError) in try await cache.get(address) })
            // Per tier and namespace (served namespaces only: a bounded set): a miss is the caller's trip to origin.
            let answered: APICallSummaryEvent.Tier? =
                switch found?.isNegative == false ? found?.tier : nil {
                case .l1?: .l1
                case .l2?: .l2
                default: .origin
                }
            summaries?.record(
                route: Self.entryPath,
                method: "GET",
                status: answered == .origin ? 404 : 200,
                cache: answered == .origin ? .miss : .hit,
                tier: answered,
                namespace: address.namespace,
                durationMs: Double((ContinuousClock.now - started) / .nanoseconds(1)) / 1e6
            )
            guard let lookup = found, !lookup.isNegative else {
                throw ServiceError.notFound("no entry under this key")
            }
            let entry = lookup.entry
            var headers: HTTPFields = [
                .contentType: entry.contentType.isEmpty ? "application/octet-stream" : entry.contentType,
                .contentLength: String(entry.body.readableBytes),
                Self.tierHeader: lookup.tier.rawValue,
                Self.stateHeader: lookup.state.rawValue,
                Self.versionHeader: String(entry.version),
            ]
            headers[.age] = String(max(0, Int(Date().timeIntervalSince1970 - entry.createdAt)))
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: entry.body))
        }

        routes.add(
            .put,
            Self.entryPath,
            RouteSpec(
                summary: "Store an entry in L1 and L2",
                description: "Stores the raw body with its `Content-Type`. Other processes drop their L1 copies.",
                tags: ["entries"],
                access: .anyService,
                queryParameters: [
                    QueryParameter(
                        "ttl",
                        schema: CacheFields.ttlSchema,
                        description: "Seconds the entry is fresh (default: the namespace's TTL)."
                    ),
                    QueryParameter(
                        "tags",
                        schema: CacheFields.tagsSchema,
                        description: "Comma-separated tags to invalidate the entry by (at most 64)."
                    ),
                ],
                pathParameters: Self.entryParameters,
                response: .of(CacheWriteResult.self)
            )
        ) { request, context in
            let address = try address(context)
            let query = request.uri.queryParameters
            var ttl: Double?
            if let text = query["ttl"] {
                guard let value = Double(String(text)), value.isFinite, value > 0 else {
                    throw ServiceError.badRequest(
                        "ttl: expected a positive number of seconds",
                        code: "invalid_parameter"
                    )
                }
                ttl = value
            }
            let tags = try CacheFields.tags(query: query["tags"].map(String.init))
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: context.maxUploadSize)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw ServiceError.payloadTooLarge(limit: context.maxUploadSize)
            }
            let contentType = request.headers[.contentType] ?? "application/octet-stream"
            let tiers = try await Self.mapped { () async throws(CacheKitError) in
                try await cache.set(address, body: body, contentType: contentType, tags: tags, ttl: ttl)
            }
            return Response.json(
                CacheWriteResult(address: address.string, tiers: tiers.map(\.rawValue), bytes: body.readableBytes)
            )
        }

        routes.delete(
            Self.entryPath,
            RouteSpec(
                summary: "Invalidate an entry in every tier and process",
                tags: ["entries"],
                access: .anyService,
                pathParameters: Self.entryParameters,
                response: .of(InvalidationResult.self)
            )
        ) { _, context in
            let address = try address(context)
            return await cache.invalidate(InvalidationRequest(keys: [address.string]))
        }

        routes.add(
            .post,
            "\(APIPath.v1)/warm",
            RouteSpec(
                summary: "Start a warming job: fetch URLs in the background and store the answers",
                description:
                    "Entries come from `requests` (key and URL), `urls` (key = path and query), or `keys`/`pattern` "
                    + "with a `loaderURL` containing `{key}`. Each answer is stored with its `Cache-Tag` tags and the TTL of "
                    + "its `CDN-Cache-Control`/`Cache-Control`. 202 with the job; follow it at `/v1/jobs/{id}`.",
                tags: ["warming"],
                access: .admin,
                requestBody: CacheFields.warmSchema(origins: warmer.origins, namespaces: namespaces),
                response: .of(WarmJob.self),
                successStatus: 202
            )
        ) { request, context in
            let warm = try await request.decodeJSON(WarmRequest.self, context: context)
            return Response.json(try await warmer.submit(warm), status: .accepted)
        }

        routes.get(
            "\(APIPath.v1)/jobs",
            RouteSpec(
                summary: "Recent warming jobs, oldest first",
                tags: ["warming"],
                access: .monitor,
                response: .arrayOf(WarmJob.self)
            )
        ) { _, _ in
            warmer.all
        }

        routes.get(
            "\(APIPath.v1)/jobs/{id}",
            RouteSpec(
                summary: "A warming job's progress",
                tags: ["warming"],
                access: .monitor,
                response: .of(WarmJob.self)
            )
        ) { _, context in
            guard let job = warmer.job(context.parameters.get("id") ?? "") else {
                throw ServiceError.notFound("no such job")
            }
            return job
        }

        routes.delete(
            "\(APIPath.v1)/jobs/{id}",
            RouteSpec(
                summary: "Cancel a warming job and forget it: no new fetch starts, fetches in flight finish",
                tags: ["warming"],
                access: .admin,
                response: .of(WarmJob.self)
            )
        ) { _, context in
            guard let job = warmer.cancel(context.parameters.get("id") ?? "") else {
                throw ServiceError.notFound("no such job")
            }
            return job
        }

        routes.post(
            APIPath.Cache.invalidations,
            RouteSpec(
                summary: "Invalidate by tags, keys (`namespace/key`) or key prefix",
                description: "When it answers, no read through this process sees an invalidated entry; other processes "
                    + "drop theirs as the backplane message arrives. `propagated` is false while Redis is down (the "
                    + "invalidation is replayed when it returns).",
                tags: ["invalidation"],
                access: .service("wedsync-api"),
                requestBody: CacheFields.invalidationSchema,
                response: .of(InvalidationResult.self)
            )
        ) { request, context in
            let invalidation = try await request.decodeJSON(InvalidationRequest.self, context: context)
            guard !invalidation.isEmpty else {
                throw ServiceError.badRequest("name at least one tag, key or prefix", code: "invalid_body")
            }
            // (`prefixes` holds the single `prefix` too: up to the documented number, and one.)
            guard invalidation.keys.count <= CacheFields.maximumInvalidationTags,
                invalidation.prefixes.count <= CacheFields.maximumInvalidationPrefixes + 1
            else {
                throw ServiceError.badRequest("keys, prefixes: too many in one request", code: "invalid_body")
            }
            for key in invalidation.keys {
                try namespaces.check(try CacheFields.address(key, field: "keys").namespace)
            }
            for prefix in invalidation.prefixes { try CacheFields.prefix.check(prefix, "prefix") }
            if let reason = invalidation.reason { try CacheFields.reason.check(reason, "reason") }
            _ = try CacheFields.validated(
                tags: invalidation.tags,
                limit: CacheFields.maximumInvalidationTags,
                code: "invalid_body"
            )
            let result = await cache.invalidate(invalidation)
            cdn?.purge(tags: invalidation.tags)
            return result
        }

        routes.get(
            APIPath.Cache.stats,
            RouteSpec(
                summary: "Hit ratio, per tier and per namespace counters, per tier read latency",
                tags: ["analytics"],
                access: .monitor,
                response: .of(CacheStats.self)
            )
        ) { _, _ in
            cache.statistics()
        }

        routes.get(
            "\(APIPath.v1)/recommendations",
            RouteSpec(
                summary:
                    "What the statistics argue for: TTLs to raise or lower, L1 to grow, keys to warm, namespaces never hit",
                tags: ["analytics"],
                access: .monitor,
                response: .of(CacheRecommendations.self)
            )
        ) { _, _ in
            cache.recommendations()
        }
    }

    /// The entry the route names, in a served namespace (404 otherwise).
    func address(_ context: ServiceRequestContext) throws -> CacheAddress {
        let namespace = context.parameters.get("namespace") ?? ""
        let key = context.parameters.get("key").map { $0.removingPercentEncoding ?? $0 } ?? ""
        let address = try CacheFields.address(namespace: namespace, key: key)
        try namespaces.check(address.namespace)
        return address
    }

    /// Runs a cache call, answering its errors as the service's 4xx/5xx envelopes.
    static func mapped<Result: Sendable>(_ body: () async throws(CacheKitError) -> Result) async throws(ServiceError)
        -> Result
    {
        do {
            return try await body()
        } catch  where error.code == .invalidKey {
            throw ServiceError.badRequest(error.message, code: "invalid_key")
        } catch {
            throw ServiceError.unavailable(error.message, code: "cache_unavailable", retryAfterSeconds: 1)
        }
    }
}

/// What a `PUT` stored.
struct CacheWriteResult: Codable, Sendable, OpenAPISchemaProviding {
    var address: String
    /// The tiers that hold the value (`L1`, `L2`).
    var tiers: [String]
    var bytes: Int

    static var openAPISchema: JSONSchema {
        .object(
            ["address": .string(), "tiers": .array(.string(enumeration: ["L1", "L2"])), "bytes": .integer()],
            required: ["address", "tiers", "bytes"]
        )
    }
}
