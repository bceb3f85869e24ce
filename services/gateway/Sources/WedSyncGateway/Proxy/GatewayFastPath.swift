import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import WedSyncCacheKit
import WedSyncCompression
import WedSyncModels
import WedSyncServiceKit

/// The gateway's cache hits answered on the connection's event loop (``HTTPFastResponder``): a `GET` or `HEAD` of a
/// cacheable route whose response L1 holds fresh, made ready once (``RenderedResponse``), for a caller whose token
/// the gateway already knows and whose rate limits are counted in this process. Everything the full path does to
/// such a request is done here too: the tenant scope of the key, the rate limits, the gzip or identity
/// representation, `Age`, `x-cache`, `x-cache-tier`, `x-request-id`, `x-response-time`, `Server-Timing`, and the
/// route's metrics and aggregates.
///
/// Anything else goes the full way (``GatewayProxy``): a miss, a stale or `Vary`-keyed response, a request with
/// cache directives, conditionals or a range, an unknown or refused token, limits counted in Redis, an injected
/// fault.
final class GatewayFastPath: HTTPFastResponder {
    let proxy: GatewayProxy
    let serverLine: String
    /// `false`: every request takes the full path (`gateway.cache.fast-path: false`, to compare).
    let enabled: Bool
    /// The proxy's routes in their order, each with what a hit needs of it resolved once.
    private let routes: [PreparedRoute]

    /// A route as a hit uses it.
    private final class PreparedRoute: Sendable {
        let route: GatewayRoute
        /// The name of its upstream pool (part of every cache key); `nil` when its hits take the full path: it does
        /// not cache, it injects a fault, or its pool is unknown.
        let pool: String?
        let isTenant: Bool
        let rateLimit: RateLimitPolicy?
        /// ``RateLimiter/bucket(_:)``.
        let bucket: String

        init(_ route: GatewayRoute, pools: UpstreamRegistry) {
            self.route = route
            pool = route.cache && route.fault == nil ? pools[route.upstream]?.name : nil
            isTenant = route.access == .tenant
            rateLimit = route.rateLimit
            bucket = RateLimiter.bucket(route)
        }
    }

    init(proxy: GatewayProxy, serverName: String, enabled: Bool = true) {
        self.proxy = proxy
        self.serverLine = "server: \(serverName)\r\n"
        self.enabled = enabled && proxy.cache != nil
        self.routes = proxy.routes.routes.map { PreparedRoute($0, pools: proxy.pools) }
    }

    func respond(to head: FastRequestHead, clientAddress: () -> String?, allocator: ByteBufferAllocator)
        -> ByteBuffer?
    {
        guard enabled else { return nil }
        let started = NIODeadline.now().uptimeNanoseconds
        let method: HTTPRequest.Method = head.method == .get ? .get : .head
        let target = head.target
        let path = target[..<(target.utf8.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex)]
        guard !GatewayProxy.isOwnPath(path) else { return nil }
        guard let prepared = routes.first(where: { $0.route.matches(method: method, path: path) }) else { return nil }
        return respond(
            to: head,
            route: prepared,
            method: method,
            path: path,
            started: started,
            clientAddress: clientAddress,
            allocator: allocator
        )
    }

    /// ``respond(to:clientAddress:allocator:)`` of a request `route` takes.
    private func respond(
        to head: FastRequestHead,
        route prepared: PreparedRoute,
        method: HTTPRequest.Method,
        path: Substring,
        started: UInt64,
        clientAddress: () -> String?,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer? {
        guard let pool = prepared.pool, let cache = proxy.cache else { return nil }
        let target = head.target
        var authorization: String?
        var acceptEncoding: [String] = []
        var requestID: String?
        var fullPath = false
        head.forEachField { name, value in
            switch name.count {
            case 13 where FastRequestHead.equals(name, "authorization"):
                // Twice: the full path refuses it.
                guard authorization == nil else {
                    fullPath = true
                    return false
                }
                authorization = String(decoding: value, as: UTF8.self)
            case 15 where FastRequestHead.equals(name, "accept-encoding"):
                acceptEncoding.append(String(decoding: value, as: UTF8.self))
            case 12 where FastRequestHead.equals(name, "x-request-id"):
                requestID = String(decoding: value, as: UTF8.self)
            case 5, 6, 8, 13, 17, 19:
                // Fields that change how the cache must answer: cache directives, conditionals, a range.
                fullPath =
                    FastRequestHead.equals(name, "cache-control") || FastRequestHead.equals(name, "pragma")
                    || FastRequestHead.equals(name, "if-none-match")
                    || FastRequestHead.equals(name, "if-modified-since") || FastRequestHead.equals(name, "if-match")
                    || FastRequestHead.equals(name, "if-unmodified-since")
                    || FastRequestHead.equals(name, "if-range") || FastRequestHead.equals(name, "range")
            default:
                break
            }
            return !fullPath
        }
        guard !fullPath else { return nil }
        var tenant: String?
        if prepared.isTenant {
            guard let token = TenantAuthenticator.bearerToken(authorization),
                case .tenant(let introspection)? = proxy.authenticator.rememberedVerdict(token: token)
            else { return nil }
            tenant = String(introspection.organizationId)
        } else if authorization != nil {
            // Credentials on a public route key the response by their digest: the full path does that.
            return nil
        }
        guard let rendered = cache.store.peek(pool: pool, tenant: tenant, target: target), !rendered.varies else {
            return nil
        }
        let now = cache.clock.now.timeIntervalSince1970
        guard rendered.isFresh(at: now) else { return nil }
        let lookedUp = NIODeadline.now().uptimeNanoseconds
        // Limits last: a request that goes the full way after all must not be counted twice.
        if let limits = prepared.rateLimit, let rateLimiter = proxy.rateLimiter {
            let client = limits.client == nil ? nil : clientAddress()
            guard rateLimiter.admitNow(bucket: prepared.bucket, limits: limits, client: client, tenant: tenant) ?? false
            else {
                return nil
            }
        }

        let acceptedID = requestID.flatMap { RequestID.isAcceptable($0[...]) ? $0 : nil }
        let representation = rendered.representation(for: AcceptEncoding(acceptEncoding))
        let bodyBytes = method == .head ? 0 : representation.body.readableBytes
        // The fields after the stored ones: at most the server line, a request id of 128 bytes, and 384 more.
        let tailBytes = serverLine.utf8.count + 512
        var answer = allocator.buffer(capacity: representation.head.readableBytes + tailBytes + bodyBytes)
        answer.writeImmutableBuffer(representation.head)
        let total = NIODeadline.now().uptimeNanoseconds - started
        answer.writeWithUnsafeMutableBytes(minimumWritableBytes: tailBytes) { bytes in
            var fields = FieldWriter(bytes)
            fields.append(serverLine)
            fields.append("age: ")
            fields.appendDecimal(rendered.age(at: now))
            fields.append("\r\nx-cache: HIT\r\nx-cache-tier: L1\r\nx-request-id: ")
            if let acceptedID { fields.append(acceptedID) } else { fields.appendNewRequestID() }
            fields.append("\r\nx-response-time: ")
            fields.appendMilliseconds(nanoseconds: total)
            fields.append("\r\nserver-timing: cache;dur=")
            fields.appendMilliseconds(nanoseconds: lookedUp - started)
            fields.append(";desc=\"L1\", total;dur=")
            fields.appendMilliseconds(nanoseconds: total)
            fields.append("\r\n\r\n")
            return fields.count
        }
        if bodyBytes > 0 { answer.writeImmutableBuffer(representation.body) }
        rendered.recordHit(method: method, nanoseconds: Int64(total)) { label in
            proxy.metrics.recorder(
                route: label ?? proxy.templates.match(path) ?? prepared.route.pattern.template,
                method: method,
                status: rendered.status.code,
                cache: "HIT",
                tier: .l1
            )
        }
        return answer
    }
}
