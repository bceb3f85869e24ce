import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import WedSyncCacheKit
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
struct GatewayFastPath: HTTPFastResponder {
    let proxy: GatewayProxy
    let serverLine: String
    /// `false`: every request takes the full path (`gateway.cache.fast-path: false`, to compare).
    let enabled: Bool

    init(proxy: GatewayProxy, serverName: String, enabled: Bool = true) {
        self.proxy = proxy
        self.serverLine = "server: \(serverName)\r\n"
        self.enabled = enabled
    }

    /// Request fields (lowercase) that change how the cache must answer: such requests take the full path.
    static let fullPathFields: Set<String> = [
        "cache-control", "pragma", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range",
        "range",
    ]

    func respond(to head: HTTPRequestHead, remoteAddress: SocketAddress?, allocator: ByteBufferAllocator)
        -> ByteBuffer?
    {
        guard enabled else { return nil }
        let started = ContinuousClock.now
        let method: HTTPRequest.Method
        switch head.method {
        case .GET: method = .get
        case .HEAD: method = .head
        default: return nil
        }
        let target = head.uri
        guard let cache = proxy.cache, target.utf8.first == UInt8(ascii: "/") else { return nil }
        let path = target[..<(target.firstIndex(of: "?") ?? target.endIndex)]
        guard !GatewayProxy.isOwnPath(String(path)),
            let route = proxy.routes.route(method: method, path: path), route.cache, route.fault == nil
        else { return nil }
        var authorization: String?
        var acceptEncoding: [String] = []
        var requestID: String?
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 13 where Self.equals(name, "authorization"):
                guard authorization == nil else { return nil }
                authorization = value
            case 15 where Self.equals(name, "accept-encoding"): acceptEncoding.append(value)
            case 12 where Self.equals(name, "x-request-id"): requestID = value
            case 5, 6, 8, 13, 17, 19:
                if Self.fullPathFields.contains(name.lowercased()) { return nil }
            default: break
            }
        }
        var tenant: String?
        if route.access == .tenant {
            guard let token = TenantAuthenticator.bearerToken(authorization),
                case .tenant(let introspection)? = proxy.authenticator.rememberedVerdict(token: token)
            else { return nil }
            tenant = String(introspection.organizationId)
        } else if authorization != nil {
            // Credentials on a public route key the response by their digest: the full path does that.
            return nil
        }
        guard let pool = proxy.pools[route.upstream] else { return nil }
        let primary = ResponseCache.primaryKey(pool: pool.name, tenant: tenant, target: target)
        guard let rendered = cache.store.peek(primary), rendered.stored.varyNames.isEmpty else { return nil }
        let now = cache.clock.now.timeIntervalSince1970
        guard rendered.isFresh(at: now) else { return nil }
        let lookedUp = ContinuousClock.now
        // Limits last: a request that goes the full way after all must not be counted twice.
        if let limits = route.rateLimit, let rateLimiter = proxy.rateLimiter {
            let client = limits.client == nil ? nil : remoteAddress?.ipAddress
            guard rateLimiter.admitNow(route: route, limits: limits, client: client, tenant: tenant) ?? false else {
                return nil
            }
        }

        var representation = rendered.identity
        if let gzip = rendered.gzip, ProxyHeaders.acceptsGzip(acceptEncoding) { representation = gzip }
        let id = requestID.flatMap { RequestID.isAcceptable($0[...]) ? $0 : nil } ?? RequestID.generate()
        let bodyBytes = method == .head ? 0 : representation.body.readableBytes
        var answer = allocator.buffer(capacity: representation.head.readableBytes + 320 + id.utf8.count + bodyBytes)
        answer.writeImmutableBuffer(representation.head)
        answer.writeString(serverLine)
        answer.writeStaticString("age: ")
        answer.writeString(String(rendered.age(at: now)))
        answer.writeStaticString("\r\nx-cache: HIT\r\nx-cache-tier: L1\r\nx-request-id: ")
        answer.writeString(id)
        let total = ContinuousClock.now - started
        let milliseconds = GatewayProxy.format(milliseconds: total)
        answer.writeStaticString("\r\nx-response-time: ")
        answer.writeString(milliseconds)
        answer.writeStaticString("\r\nserver-timing: cache;dur=")
        answer.writeString(GatewayProxy.format(milliseconds: lookedUp - started))
        answer.writeStaticString(";desc=\"L1\", total;dur=")
        answer.writeString(milliseconds)
        answer.writeStaticString("\r\n\r\n")
        if bodyBytes > 0 { answer.writeImmutableBuffer(representation.body) }
        rendered.hitRecorder(method: method) { label in
            proxy.metrics.recorder(
                route: label ?? proxy.templates.match(path) ?? route.pattern.template,
                method: method,
                status: rendered.stored.status,
                cache: "HIT"
            )
        }.record(total)
        return answer
    }

    /// Whether `name` is `lowercase` in any case (ASCII).
    static func equals(_ name: String, _ lowercase: StaticString) -> Bool {
        var index = 0
        let pointer = lowercase.utf8Start
        for byte in name.utf8 {
            guard index < lowercase.utf8CodeUnitCount, byte | 0x20 == pointer[index] | 0x20 else { return false }
            index += 1
        }
        return index == lowercase.utf8CodeUnitCount
    }
}
