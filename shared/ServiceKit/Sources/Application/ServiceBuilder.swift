import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization
import WedSyncModels

/// Assembles a WedSync service: its configuration, its dependencies (each checked by `/ready` and reported on
/// `/metrics`), its routes, and the routes every service has.
///
/// ```swift
/// let service = ServiceBuilder(configuration: configuration, summary: "The cache service")
/// let redis = try service.redis()   // contributed by WedSyncRedisService
/// service.routes.get("/v1/cache/stats", RouteSpec(summary: "Statistics")) { _, _ in ... }
/// try await service.buildApplication().runService()
/// ```
/// Dependencies are registered as services before the HTTP server, so on SIGTERM the server stops accepting and
/// finishes its in-flight requests first, then the pools close.
public final class ServiceBuilder {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    /// Where the service adds its own routes.
    public let routes: ServiceRoutes

    private var services: [any Service] = []
    private var readinessChecks: [any ReadinessCheck] = []
    private var metricsCollectors: [@Sendable () async -> Void] = []
    /// Reports connection pools' statistics on `/metrics` (for the libraries that contribute pooled dependencies).
    package let poolMetrics = PoolMetricsReporter()
    private let startedAt = Date()
    private var dependencies: [String: Any] = [:]
    private var fastResponder: (any HTTPFastResponder)?
    private var handlersOnEventLoop = false
    private let errorMappings = ErrorMappings()

    public init(configuration: ServiceConfiguration, summary: String, logger: Logger? = nil) {
        PrometheusMetrics.bootstrap()
        self.configuration = configuration
        self.logger = logger ?? Logger(label: configuration.service)
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestMetricsMiddleware(slowRequestThreshold: configuration.slowRequestThreshold))
        router.add(middleware: ErrorMiddleware(mappings: errorMappings))
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
        let methods = RouteMethods()
        router.add(middleware: MethodNotAllowedMiddleware(methods: methods))
        self.routes = ServiceRoutes(
            router: router,
            document: OpenAPIDocument(title: configuration.service, version: WedSyncVersion.current, summary: summary),
            credentials: configuration.credentials,
            methods: methods
        )
        Gauge(label: "process_start_time_seconds").record(startedAt.timeIntervalSince1970)
        if configuration.adminToken == nil {
            self.logger.warning("no admin.token configured: admin and mutating routes will answer 401")
        }
        if configuration.serviceToken == nil {
            self.logger.notice("no service.token configured: calls to other services carry no credential")
        }
    }

    // MARK: Dependencies

    /// The dependency kept under `key`, made by `make` the first time it is asked for: how a library contributes
    /// a dependency a service creates once (its database, its Redis client), registering it as it likes.
    package func dependency<Value>(_ key: String, make: () throws -> Value) rethrows -> Value {
        if let value = dependencies[key] as? Value { return value }
        let value = try make()
        dependencies[key] = value
        return value
    }

    /// Maps a library's errors (a database's, say) to the envelope a client gets, before they would become a
    /// generic 500.
    public func addErrorMapping(_ mapping: some ServiceErrorMapping) {
        errorMappings.add(mapping)
    }

    /// A client for another WedSync service that presents this service's own credential (`service.token`), checked
    /// by `/ready` through its `/health` unless `checked` is false (a best-effort destination such as the metrics
    /// service's events).
    public func serviceClient(
        _ name: String,
        baseURL: String,
        critical: Bool,
        checked: Bool = true,
        timeout: Duration = .seconds(5)
    ) -> ServiceClient {
        let client = ServiceClient(name: name, baseURL: baseURL, token: configuration.serviceToken, timeout: timeout)
        if checked { addReadinessCheck(ServiceReadinessCheck(client: client, critical: critical)) }
        return client
    }

    /// Runs `service` alongside the HTTP server: started before it, shut down after it.
    public func addService(_ service: any Service) {
        services.append(service)
    }

    /// Adds a dependency to `/ready`.
    public func addReadinessCheck(_ check: any ReadinessCheck) {
        readinessChecks.append(check)
    }

    /// Adds a middleware inside the common ones (request id, metrics, errors, body limit): it sees every request,
    /// matched by a route or not, and may answer it without calling the router (the gateway's proxy does).
    public func addMiddleware(_ middleware: some RouterMiddleware<ServiceRequestContext>) {
        routes.router.add(middleware: middleware)
    }

    /// Lets `responder` answer requests without a body on the connection's event loop before the router sees them
    /// (``HTTPFastResponder``): what it answers skips the middleware and the router.
    public func setFastResponder(_ responder: some HTTPFastResponder) {
        fastResponder = responder
    }

    /// Runs every connection's handlers on the connection's own event loop instead of the concurrency pool
    /// (``EventLoopTaskExecutor``): a request that awaits other connections of that loop (an upstream, Redis) is
    /// resumed without a thread waking another. Only for a service whose handlers never block a thread (the
    /// gateway, the cache service): a blocking call would stall every connection of the loop.
    public func runHandlersOnEventLoops() {
        handlersOnEventLoop = true
    }

    /// Runs `collector` before each `/metrics` scrape, to publish state kept elsewhere as gauges. One that blocks
    /// (a file or database read) awaits its work on threads of its own, never on the concurrency pool.
    public func addMetricsCollector(_ collector: @escaping @Sendable () async -> Void) {
        metricsCollectors.append(collector)
    }

    // MARK: Application

    /// Adds the common routes and builds the Hummingbird application, ready to `runService()` (which handles
    /// SIGTERM and SIGINT gracefully) or to test.
    public func buildApplication() -> some ApplicationProtocol {
        addCommonRoutes()
        let logger = self.logger
        let limits = configuration.http
        let (fastResponder, handlersOnEventLoop) = (self.fastResponder, self.handlersOnEventLoop)
        // The TLS listener: the same routes, its own port, run beside the plain one (the plain application runs it
        // as one of its services, so both start and stop together).
        var services = self.services
        if let tls = configuration.tls {
            services.append(
                Application(
                    router: routes.router,
                    server: .negotiated(
                        limits,
                        tlsContext: tls.context,
                        fastResponder: fastResponder,
                        handlersOnEventLoop: handlersOnEventLoop
                    ),
                    configuration: .init(
                        address: .hostname(configuration.host, port: tls.port),
                        serverName: configuration.service,
                        availableConnectionsDelegate: MaximumAvailableConnections(
                            limits.maximumConnections,
                            logger: logger
                        )
                    ),
                    onServerRunning: { channel in
                        logger.info(
                            "listening",
                            metadata: [
                                "http.address": "\(channel.localAddress?.description ?? "?")", "http.tls": "true",
                            ]
                        )
                    },
                    logger: logger
                )
            )
        }
        return Application(
            router: routes.router,
            server: limits.http2PriorKnowledge
                ? .negotiated(
                    limits,
                    tlsContext: nil,
                    fastResponder: fastResponder,
                    handlersOnEventLoop: handlersOnEventLoop
                )
                : .limitedHTTP1(limits, fastResponder: fastResponder, handlersOnEventLoop: handlersOnEventLoop),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: configuration.service,
                availableConnectionsDelegate: MaximumAvailableConnections(
                    limits.maximumConnections,
                    logger: logger
                )
            ),
            services: services,
            onServerRunning: { channel in
                logger.info(
                    "listening",
                    metadata: ["http.address": "\(channel.localAddress?.description ?? "?")"]
                )
            },
            logger: logger
        )
    }

    private func addCommonRoutes() {
        let service = configuration.service
        let startedAt = self.startedAt
        routes.get(
            APIPath.Common.health,
            RouteSpec(
                summary: "Liveness: the process serves HTTP",
                tags: ["operations"],
                access: .public,
                response: .of(HealthReport.self)
            )
        ) { _, _ in
            HealthReport(
                service: service,
                version: WedSyncVersion.current,
                uptimeSeconds: Date().timeIntervalSince(startedAt)
            )
        }

        let probe = ReadinessProbe(checks: readinessChecks, timeout: .seconds(2))
        let credentials = routes.credentials
        routes.add(
            .get,
            APIPath.Common.ready,
            RouteSpec(
                summary: "Readiness: every critical dependency answers",
                description: "200 with a per-dependency report when every critical dependency is up (status "
                    + "`degraded` when a non-critical one is down); 503 with the error envelope naming what is down. "
                    + "Each dependency's detail (why it is down) is only for the monitor and admin tokens: others see "
                    + "names and states.",
                tags: ["operations"],
                access: .public,
                response: .of(ReadinessReport.self)
            )
        ) { request, _ in
            var dependencies = await probe.run()
            if credentials.identify(request.headers[.authorization]).isOperator == false {
                // Raw dependency errors name hosts and users: not for anyone who can reach the port.
                for index in dependencies.indices { dependencies[index].detail = nil }
            }
            let down = dependencies.filter { $0.critical && $0.state == .down }
            guard down.isEmpty else {
                let names = down.map(\.name).joined(separator: ", ")
                return Response.json(
                    NotReadyResponse(
                        error: .init(code: "not_ready", message: "not ready: \(names) down"),
                        dependencies: dependencies
                    ),
                    status: .serviceUnavailable
                )
            }
            let degraded = dependencies.contains { $0.state != .up }
            return Response.json(
                ReadinessReport(status: degraded ? "degraded" : "ready", service: service, dependencies: dependencies)
            )
        }

        let collectors = metricsCollectors
        routes.add(
            .get,
            APIPath.Common.metrics,
            RouteSpec(
                summary: "Prometheus metrics (text exposition format 0.0.4)",
                tags: ["operations"],
                access: .public,
                responseContentType: "text/plain"
            )
        ) { _, _ in
            for collector in collectors { await collector() }
            let body = PrometheusMetrics.render()
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: String(body.count),
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }

        routes.get(
            APIPath.Common.logLevel,
            RouteSpec(
                summary: "The process's log level",
                tags: ["operations"],
                access: .admin,
                response: .of(LogLevelSetting.self)
            )
        ) { _, _ in
            LogLevelSetting(level: LogLevelControl.level.rawValue)
        }
        routes.put(
            APIPath.Common.logLevel,
            RouteSpec(
                summary: "Change the process's log level without a restart",
                tags: ["operations"],
                access: .admin,
                requestBody: .of(LogLevelSetting.self),
                response: .of(LogLevelSetting.self)
            )
        ) { request, context in
            let setting = try await request.decodeJSON(LogLevelSetting.self, context: context)
            guard let level = Logger.Level(rawValue: setting.level.lowercased()) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ServiceError.badRequest("level: expected one of \(levels)", code: "invalid_parameter")
            }
            LogLevelControl.level = level
            context.logger.notice("log level changed", metadata: ["log.level": .string(level.rawValue)])
            return LogLevelSetting(level: level.rawValue)
        }

        // The document describes itself too, so it is complete before it is rendered once.
        let openAPISpec = RouteSpec(
            summary: "This document: every route of the service (OpenAPI 3.1)",
            tags: ["operations"],
            access: .public
        )
        routes.document.routes.append(.init(method: .get, path: APIPath.Common.openAPI, spec: openAPISpec))
        let document = routes.document.json()
        routes.register(.get, APIPath.Common.openAPI, openAPISpec) { _, _ in
            Response.json(document)
        }
    }
}

/// The platform's version, reported by `/health` and the OpenAPI documents.
public enum WedSyncVersion {
    public static let current = "0.1.0"
}
