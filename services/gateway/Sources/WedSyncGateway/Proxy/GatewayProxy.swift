import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// The gateway's request path: match a route, authenticate the tenant, apply rate limits, answer from the cache
/// or forward to the route's upstream pool, and stamp the response with `x-cache`, `x-response-time` and
/// `Server-Timing`.
public final class GatewayProxy: Sendable {
    public let routes: RouteTable
    public let pools: UpstreamRegistry
    public let cache: GatewayCache?
    public let authenticator: TenantAuthenticator
    public let rateLimiter: RateLimiter?
    public let metrics: GatewayMetrics
    /// Services that may warm the cache on a tenant's behalf.
    let warming: WarmingIdentity?
    let forwarder: UpstreamForwarder
    /// The upstreams' route templates, for labelling what the gateway answers itself.
    let templates = RouteTemplates()
    let logger: Logger

    public init(
        routes: RouteTable,
        pools: UpstreamRegistry,
        client: UpstreamClient,
        cache: GatewayCache?,
        authenticator: TenantAuthenticator,
        rateLimiter: RateLimiter?,
        metrics: GatewayMetrics,
        warming: WarmingIdentity? = nil,
        logger: Logger
    ) {
        self.routes = routes
        self.pools = pools
        self.forwarder = UpstreamForwarder(client: client)
        self.cache = cache
        self.authenticator = authenticator
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.warming = warming
        self.logger = logger
    }

    /// The paths the gateway answers itself, never forwarded.
    public static func isOwnPath(_ path: String) -> Bool {
        isOwnPath(path[...])
    }

    /// ``isOwnPath(_:)`` of a path cut from a target, compared byte for byte.
    static func isOwnPath(_ path: Substring) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            for own in ownPaths where own.count == bytes.count && own.elementsEqual(bytes) { return true }
            for prefix in ownPrefixes
            where bytes.count >= prefix.count && prefix.elementsEqual(bytes.prefix(prefix.count)) {
                return true
            }
            return false
        }
    }

    /// The gateway's own paths, and the starts of its own path families (``isOwnPath(_:)``).
    private static let ownPaths = [
        APIPath.Common.health, APIPath.Common.ready, APIPath.Common.metrics,
        APIPath.Common.openAPI,
    ].map { Array($0.utf8) }
    private static let ownPrefixes = ["/admin/", "/v1/admin/", "/api/performance/"].map { Array($0.utf8) }

    /// Handles one request the router did not take.
    public func handle(_ request: Request, context: ServiceRequestContext) async -> Response {
        var exchange = ProxyExchange()
        let path = request.uri.path
        let target = request.head.path ?? path
        let method = request.method
        guard let route = routes.route(method: method, path: path[...]) else {
            return finish(
                Self.error(.notFound, "no_route", "no gateway route takes \(method.rawValue) \(path)"),
                route: nil,
                path: path,
                method: method,
                exchange: exchange,
                eventLoop: context.eventLoop
            )
        }
        var response: Response
        do {
            response = try await forward(request, target: target, route: route, context: context, exchange: &exchange)
        } catch {
            var headers = HTTPFields()
            headers.append(contentsOf: error.headers)
            response = Self.error(error.status, error.code, error.message, headers: headers)
        }
        return finish(
            response,
            route: route,
            path: path,
            method: method,
            exchange: exchange,
            eventLoop: context.eventLoop
        )
    }

    private func forward(
        _ request: Request,
        target: String,
        route: GatewayRoute,
        context: ServiceRequestContext,
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> Response {
        let clientAddress = context.remoteAddress?.ipAddress
        // A warming service on a tenant's behalf (its own credential, checked here and again by the API): that
        // tenant's key, no rate limits (the job bounds its own concurrency).
        let warmed = route.access == .tenant ? try warming?.warming(of: request) : nil
        // Per-address limits come first: a flood of made-up tokens must not turn into a flood of introspections.
        if let rateLimiter, let limits = route.rateLimit, warmed == nil {
            try await rateLimiter.admit(route: route, limits: limits, client: clientAddress)
        }
        var tenant: String?
        if let warmed {
            tenant = warmed.tenant
            exchange.tenant = tenant
            exchange.warming = true
        } else if route.access == .tenant {
            guard let token = TenantAuthenticator.bearerToken(request.headers[.authorization]) else {
                throw ServiceError(
                    .unauthorized,
                    code: "unauthorized",
                    message: "a supplier's bearer token is required",
                    headers: [.wwwAuthenticate: "Bearer"]
                )
            }
            switch try await authenticator.verify(token: token) {
            case .refused:
                throw ServiceError(
                    .unauthorized,
                    code: "invalid_token",
                    message: "the bearer token is not valid",
                    headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]
                )
            case .tenant(let introspection):
                tenant = String(introspection.organizationId)
                exchange.tenant = tenant
            }
            if let rateLimiter, let limits = route.rateLimit, let tenant {
                try await rateLimiter.admit(route: route, limits: limits, tenant: tenant)
            }
        }
        if let fault = route.fault, fault.applies() {
            try? await Task.sleep(for: fault.delay)
        }
        guard let pool = pools[route.upstream] else {
            throw ServiceError(
                .serviceUnavailable,
                code: "no_upstream",
                message: "the route's upstream pool \(route.upstream) is not configured"
            )
        }
        // On a public route a request with credentials is stored (when the response allows it, §3.5) for those
        // credentials only: an upstream that answers per caller must not have one caller's answer reach another.
        let scope = tenant ?? request.headers[.authorization].map { "auth:" + ResponseCache.digest($0) }
        let incoming = IncomingRequest(
            request: request,
            target: target,
            tenant: tenant,
            cacheScope: scope,
            clientAddress: clientAddress,
            requestID: context.requestID,
            eventLoop: context.eventLoop,
            warmLifetime: warmed?.lifetime,
            isWarming: warmed != nil
        )
        if route.cache, let cache, method(request.method, isOneOf: [.get, .head]) {
            return try await cache.respond(incoming, route: route, pool: pool, exchange: &exchange)
        }
        let upstream = try await forwarder.forward(incoming, to: pool, route: route, exchange: &exchange)
        if let cache, !method(request.method, isOneOf: [.get, .head, .options, .trace]),
            (200..<400).contains(upstream.status)
        {
            // §4.4: a successful unsafe request invalidates the target and the URIs its Location fields name.
            // Done before answering, so the writer's next read cannot see the old response.
            let targets =
                [target]
                + [HTTPField.Name.location, .contentLocation].compactMap {
                    Self.sameOriginTarget(upstream.headers[$0])
                }
            await cache.invalidate(targets: targets)
        }
        return await upstream.passedThrough(to: request)
    }

    private func method(_ method: HTTPRequest.Method, isOneOf methods: [HTTPRequest.Method]) -> Bool {
        methods.contains(method)
    }

    /// The path and query of a `Location`/`Content-Location` value on this origin (relative, or absolute with
    /// any host: the gateway fronts one origin per route), for §4.4 invalidation.
    static func sameOriginTarget(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        if value.hasPrefix("/") { return value.hasPrefix("//") ? nil : value }
        guard let range = value.range(of: "://") else { return nil }
        let rest = value[range.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        return String(rest[slash...])
    }

    /// The route label of a request's metrics and event: the upstream's own route template (its ``APIPath/routeHeader``,
    /// taken off the response, or one learned from earlier answers), else the routes file's pattern, else
    /// ``MetricEventBounds/unmatchedRoute``.
    private func label(route: GatewayRoute?, path: String, response: inout Response) -> String {
        if let template = response.headers[GatewayHeaders.route] {
            response.headers[GatewayHeaders.route] = nil
            if MetricEventBounds.isValidRoute(template) {
                templates.learn(template)
                return template
            }
        }
        guard let route else { return MetricEventBounds.unmatchedRoute }
        return templates.match(path[...]) ?? route.pattern.template
    }

    /// Adds the timing headers, records the metrics, returns the response.
    private func finish(
        _ response: Response,
        route: GatewayRoute?,
        path: String,
        method: HTTPRequest.Method,
        exchange: ProxyExchange,
        eventLoop: any EventLoop
    ) -> Response {
        var response = response
        let total = ContinuousClock.now - exchange.started
        response.headers[GatewayHeaders.responseTime] = Self.format(milliseconds: total)
        var timing = ""
        if let cache = exchange.cache {
            timing += "cache;dur=" + Self.format(milliseconds: cache)
            if let tier = exchange.tier {
                timing += tier == .l1 ? ";desc=\"L1\"" : ";desc=\"\(tier.rawValue.uppercased())\""
            }
            timing += ", "
        }
        if let upstream = exchange.upstream { timing += "upstream;dur=" + Self.format(milliseconds: upstream) + ", " }
        timing += "total;dur=" + Self.format(milliseconds: total)
        response.headers[GatewayHeaders.serverTiming] = timing
        if route != nil, response.headers[GatewayHeaders.cache] == nil {
            response.headers[GatewayHeaders.cache] = exchange.result
        }
        let label = label(route: route, path: path, response: &response)
        let status = Int(response.status.code)
        let cache = route == nil ? "NONE" : (response.headers[GatewayHeaders.cache] ?? exchange.result)
        let tier = GatewayMetrics.tier(cache: cache, stored: exchange.tier)
        guard response.body.contentLength == nil else {
            metrics.record(
                route: label,
                method: method,
                status: status,
                cache: cache,
                tier: tier,
                shipped: !exchange.warming,
                duration: total
            )
            return response
        }
        // A streamed body (a pass-through, an export): the request lasts until its last byte is written, as Envoy's
        // %DURATION% counts it, so a route's percentiles and budgets hold whole answers. The writer hands each part
        // to the connection's event loop and returns: the request ends with a task queued there after the end, which
        // runs once the end has gone to the socket (under load the loop may be milliseconds behind the writer).
        // `x-response-time` and `Server-Timing`, sent before the body, still say when the head left. A body never
        // written (the client left before the head went) is recorded when it is let go.
        let (metrics, started, body, shipped) = (metrics, exchange.started, response.body, !exchange.warming)
        let recording = RecordOnce {
            metrics.record(
                route: label,
                method: method,
                status: status,
                cache: cache,
                tier: tier,
                shipped: shipped,
                duration: ContinuousClock.now - started
            )
        }
        response.body = ResponseBody { writer in
            do {
                try await body.write(writer)
            } catch {
                recording.record()
                throw error
            }
            eventLoop.execute { recording.record() }
        }
        return response
    }

    /// `duration` in milliseconds with three decimals (`12.345`), without Foundation's formatter (it is on every
    /// response).
    static func format(milliseconds duration: Duration) -> String {
        let micros = max(0, Int64(duration / .microseconds(1)))
        let fraction = micros % 1000
        let padding = fraction < 10 ? "00" : (fraction < 100 ? "0" : "")
        return "\(micros / 1000).\(padding)\(fraction)"
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:])
        -> Response
    {
        var response = Response.json(ErrorEnvelope(code: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
