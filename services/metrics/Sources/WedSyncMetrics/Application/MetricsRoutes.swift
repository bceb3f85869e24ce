import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import WedSyncModels
import WedSyncServiceKit

/// `POST /v1/events`, the query routes, the live stream and the dashboard.
struct MetricsRoutes {
    /// The only service that reports `finding` events.
    static let findingsSource = "wedsync-query-optimizer"
    let ingestor: EventIngestor
    let queries: MetricsQueries
    let alerts: AlertEngine
    let notifier: AlertNotifier
    let budgets: BudgetBook
    let regressions: RegressionDetector
    let capacity: CapacityPlanner
    let figures: LiveFiguresBuilder
    let streamInterval: Duration
    /// The live streams open at once, in all and per client.
    let streams: StreamSlots

    func register(_ routes: ServiceRoutes) {
        let ingestor = self.ingestor
        let queries = self.queries
        let alerts = self.alerts
        let notifier = self.notifier
        registerLive(routes)
        registerRegressions(routes)
        let capacity = self.capacity
        routes.get(
            APIPath.Metrics.capacity,
            RouteSpec(
                summary:
                    "Capacity forecast: next Saturday's peak, the replicas it needs, and when the budget breaks at current replicas",
                description: "Read by the autoscaler. 404 `no_history` before any hour of API traffic is stored.",
                tags: ["capacity"],
                access: .monitor(orService: "wedsync-autoscaler"),
                response: .of(CapacityForecast.self)
            )
        ) { _, _ in
            guard let forecast = try await Blocking.run({ try capacity.forecast() }) else {
                throw ServiceError(.notFound, code: "no_history", message: "no hourly history of API traffic yet")
            }
            return forecast
        }
        let budgets = self.budgets
        routes.get(
            APIPath.Metrics.budgets,
            RouteSpec(
                summary:
                    "Every performance budget held to the measurements: ok, breached or no_data per route and check",
                tags: ["budgets"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "range",
                        schema: MetricsQueries.rangeSchema,
                        description: "The budgets file's range by default (1h); any Nm/Nh/Nd."
                    )
                ],
                response: .of(BudgetReport.self)
            )
        ) { request, _ in
            let range = request.uri.queryParameters.get("range").map { String($0) }
            return try await Blocking.run { try budgets.report(range: range) }
        }
        routes.get(
            APIPath.Metrics.alerts,
            RouteSpec(
                summary: "Alerts pending, firing or just resolved",
                tags: ["alerts"],
                access: .monitor,
                response: .arrayOf(Alert.self)
            )
        ) { _, _ in
            alerts.alerts()
        }
        routes.get(
            "\(APIPath.v1)/notifications",
            RouteSpec(
                summary: "Notifications sent, newest first: attempts, delivered, last error",
                tags: ["alerts"],
                access: .monitor,
                response: .arrayOf(NotificationRecord.self)
            )
        ) { _, _ in
            notifier.notifications
        }
        routes.get(
            "\(APIPath.v1)/silences",
            RouteSpec(summary: "Silences", tags: ["alerts"], access: .monitor, response: .arrayOf(Silence.self))
        ) { _, _ in
            alerts.silences
        }
        routes.post(
            "\(APIPath.v1)/silences",
            RouteSpec(
                summary: "Silence alerts whose labels match (alertname matches the rule)",
                tags: ["alerts"],
                access: .admin,
                requestBody: .of(SilenceRequest.self),
                response: .of(Silence.self),
                successStatus: 201
            )
        ) { request, context in
            let silence = try await request.decodeJSON(SilenceRequest.self, context: context)
            // As Alertmanager: at least one matcher (none would silence everything). A silence that has already ended
            // is kept like any other, and holds nothing back.
            guard !silence.matchers.isEmpty else {
                throw ServiceError.badRequest("matchers: give at least one", code: "invalid_body")
            }
            for (label, value) in silence.matchers {
                try SilenceRequest.labelRule.check(label, "matchers")
                try SilenceRequest.valueRule.check(value, "matchers.\(label)")
            }
            try SilenceRequest.textRule.check(silence.createdBy, "createdBy")
            try SilenceRequest.textRule.check(silence.comment, "comment")
            return try alerts.addSilence(silence)
        }
        routes.delete(
            "\(APIPath.v1)/silences/{id}",
            RouteSpec(summary: "Remove a silence", tags: ["alerts"], access: .admin, response: .arrayOf(Silence.self))
        ) { _, context in
            guard alerts.removeSilence(context.parameters.get("id") ?? "") else {
                throw ServiceError.notFound("no such silence")
            }
            return alerts.silences
        }
        routes.add(
            .post,
            APIPath.Metrics.events,
            RouteSpec(
                summary: "Ingest a batch of events",
                description:
                    "Answers 200 once every event of the batch is durably stored in its buckets (SQLite WAL). 400 names the first "
                    + "bad field (`events[3].durationMs`); 503 with `Retry-After` when too much waits to be stored. A batch with `finding` events "
                    + "comes from the query optimizer or the admin (403 otherwise). Events older than 7 days, or more than 5 minutes ahead, are "
                    + "taken and not kept (`skipped`).",
                tags: ["ingestion"],
                access: .anyService,
                requestBody: .of(MetricEventBatch.self),
                response: .of(EventsAccepted.self)
            )
        ) { request, context in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            let bytes = Array(body.readableBytesView)
            let events = try EventValidation.decode(Data(bytes))
            // Findings fire alerts (DatabaseCritical): only the service that finds them, or the admin, reports them.
            if events.contains(where: { $0.kind == .finding }),
                context.identity != .admin, context.identity != .service(Self.findingsSource)
            {
                throw ServiceError.forbidden("finding events come from \(Self.findingsSource) or the admin")
            }
            // Events outside the stored window (older than 7 days, or ahead of this clock) are taken and not kept.
            let now = Date()
            let storable = events.filter { MetricEventBounds.isStorable($0.timestamp, now: now) }
            if !storable.isEmpty { try await ingestor.submit(bytes: bytes.count, events: storable) }
            return Response.json(EventsAccepted(accepted: events.count, skipped: events.count - storable.count))
        }

        routes.get(
            APIPath.Metrics.summary,
            RouteSpec(
                summary: "Per series over a range: p50/p95/p99, rate, error rate, cache hit ratio",
                description: "The gateway's own token may read it too: its `/api/performance/metrics` hands it on.",
                tags: ["queries"],
                access: .monitor(orService: "wedsync-gateway"),
                queryParameters: [
                    QueryParameter(
                        "range",
                        schema: MetricsQueries.rangeSchema,
                        description: MetricsQueries.rangeDescription
                    ),
                    QueryParameter(
                        "from",
                        schema: .integer(minimum: 0, maximum: 4_102_444_800),
                        description:
                            "Instead of range: the window's start in Unix seconds, rounded down to 10 s (default: an hour before to)."
                    ),
                    QueryParameter(
                        "to",
                        schema: .integer(minimum: 0, maximum: 4_102_444_800),
                        description:
                            "With or without from: the window's end in Unix seconds, rounded up to 10 s (default: now). A window "
                            + "ending before it starts is the 10 s from its start; one longer than 400 days, the last 400 days."
                    ),
                ],
                response: .of(MetricsSummary.self)
            )
        ) { request, _ in
            let parameters = request.uri.queryParameters
            func seconds(_ name: String) throws(ServiceError) -> Int64? {
                guard let text = parameters.get(name) else { return nil }
                guard let value = Int64(text), (0...4_102_444_800).contains(value) else {
                    throw ServiceError.badRequest("\(name): Unix seconds, like 1796000000", code: "invalid_parameter")
                }
                return value
            }
            let (from, to) = (try seconds("from"), try seconds("to"))
            guard from != nil || to != nil else {
                let range = parameters.get("range").map { String($0) } ?? "1h"
                return try await Blocking.run { try queries.summary(range: range) }
            }
            // A window of the caller's (a load test's own): it wins over a range (still checked), and is clamped, as
            // ranges are.
            if let range = parameters.get("range") { _ = try MetricsQueries.seconds(of: String(range)) }
            let end = to ?? Int64(Date().timeIntervalSince1970.rounded(.up))
            let start = from ?? end - 3_600
            let window = MetricsQueries.window(from: start, to: end)
            return try await Blocking.run { try queries.summary(from: window.from, to: window.to) }
        }

        routes.get(
            "\(APIPath.v1)/endpoints/slow",
            RouteSpec(
                summary: "The slowest API routes of a range, by p95",
                tags: ["queries"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "range",
                        schema: MetricsQueries.rangeSchema,
                        description: MetricsQueries.rangeDescription
                    ),
                    QueryParameter(
                        "limit",
                        schema: .integer(minimum: 1, maximum: 100),
                        description: "How many (default 10)."
                    ),
                ],
                response: .arrayOf(SeriesSummary.self)
            )
        ) { request, _ in
            let limit = try request.integerQuery("limit", in: 1...100) ?? 10
            let range = request.uri.queryParameters.get("range").map { String($0) } ?? "1h"
            return try await Blocking.run { try queries.slowEndpoints(range: range, limit: limit) }
        }

        routes.get(
            "\(APIPath.v1)/series",
            RouteSpec(
                summary: "One metric of one route over time",
                tags: ["queries"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "metric",
                        schema: .string(enumeration: MetricsQueries.metrics),
                        required: true,
                        description: "What each point is."
                    ),
                    QueryParameter(
                        "route",
                        schema: MetricsQueries.routeRule.schema,
                        required: true,
                        description: "The route template (or fingerprint)."
                    ),
                    QueryParameter(
                        "method",
                        schema: MetricsQueries.methodRule.schema,
                        description: "Only this method."
                    ),
                    QueryParameter(
                        "range",
                        schema: MetricsQueries.rangeSchema,
                        description: MetricsQueries.rangeDescription
                    ),
                    QueryParameter(
                        "step",
                        schema: .constrained(.integer(in: MetricsQueries.steps), ["multipleOf": 10]),
                        description:
                            "Seconds per point, a multiple of 10 (default 60); longer when the range would hold more than 2,000 points, and at most the range."
                    ),
                ],
                response: .of(MetricSeries.self)
            )
        ) { request, _ in
            let parameters = request.uri.queryParameters
            guard let metric = parameters.get("metric"), let route = parameters.get("route") else {
                throw ServiceError.badRequest("metric and route are required", code: "invalid_parameter")
            }
            try MetricsQueries.routeRule.check(String(route), "route", code: "invalid_parameter")
            let step = Int64(try request.integerQuery("step", in: MetricsQueries.steps) ?? 60)
            let method = try parameters.get("method").map {
                try MetricsQueries.methodRule.check(String($0), "method", code: "invalid_parameter")
            }
            let range = parameters.get("range").map { String($0) } ?? "1h"
            return try await Blocking.run {
                try queries.series(metric: metric, route: route, method: method, range: range, step: step)
            }
        }
    }

    /// `GET /v1/stream` (Server-Sent Events) and the dashboard that reads it at `GET /`.
    private func registerLive(_ routes: ServiceRoutes) {
        let figures = self.figures
        let interval = self.streamInterval
        let streams = self.streams
        routes.get(
            "\(APIPath.v1)/figures",
            RouteSpec(
                summary: "The live figures now (what /v1/stream sends)",
                tags: ["dashboard"],
                access: .monitor(orService: "wedsync-autoscaler"),
                response: .of(LiveFigures.self)
            )
        ) { _, _ in
            try await Blocking.run { try figures.figures() }
        }
        routes.add(
            .get,
            "/",
            RouteSpec(
                summary: "The live dashboard (HTML, no external assets)",
                tags: ["dashboard"],
                access: .monitor,
                responseContentType: "text/html"
            )
        ) { _, _ in
            let initial = try? await Blocking.run { try WedSyncJSON.makeEncoder().encode(try figures.figures()) }
            let page = ByteBuffer(string: DashboardPage.render(figures: initial))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                    .contentLength: String(page.readableBytes),
                ],
                body: .init(byteBuffer: page)
            )
        }
        routes.add(
            .get,
            "\(APIPath.v1)/stream",
            RouteSpec(
                summary: "Live figures as Server-Sent Events",
                description:
                    "An `event: figures` with a LiveFigures JSON object at once and then every interval (`metrics.stream-interval-ms`); "
                    + "the stream ends after an hour or at shutdown, and EventSource reconnects by itself. 503 when too many streams are open.",
                tags: ["dashboard"],
                access: .monitor,
                response: .serverSentEvents(["figures": LiveFigures.self, "unavailable": ErrorEnvelope.self]),
                responseContentType: "text/event-stream"
            )
        ) { _, context in
            let slot = try streams.acquire(client: StreamSlots.client(context.remoteAddress))
            let encoder = WedSyncJSON.makeEncoder()
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
                    HTTPField.Name("X-Accel-Buffering")!: "no",
                ],
                body: ResponseBody { writer in
                    // Held while the stream runs; a response dropped before its body runs gives it back too.
                    withExtendedLifetime(slot) {}
                    let ends = ContinuousClock.now + .seconds(3_600)
                    // The reconnection delay rides on the first event (a block of its own would be an empty event).
                    var retry = "retry: 2000\n"
                    while !Task.isCancelled, !Task.isShuttingDownGracefully, ContinuousClock.now < ends {
                        var message = retry + "event: figures\n"
                        do {
                            let data = try await Blocking.run { try encoder.encode(try figures.figures()) }
                            message += "data: " + String(decoding: data, as: UTF8.self) + "\n\n"
                        } catch {
                            message =
                                retry
                                + "event: unavailable\ndata: {\"error\":{\"code\":\"storage_unavailable\",\"message\":\"the figures could not be read\"}}\n\n"
                        }
                        retry = ""
                        try await writer.write(ByteBuffer(string: message))
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// Release markers and regression reports.
    private func registerRegressions(_ routes: ServiceRoutes) {
        let regressions = self.regressions
        let store = self.queries.store
        routes.post(
            APIPath.Metrics.releases,
            RouteSpec(
                summary: "Mark a release: regressions are judged against the window before the latest marker",
                tags: ["regressions"],
                access: .admin,
                requestBody: .of(ReleaseMarkerRequest.self),
                response: .of(ReleaseMarker.self),
                successStatus: 201
            )
        ) { request, context in
            let body = try await request.decodeJSON(ReleaseMarkerRequest.self, context: context)
            let version = try ReleaseMarkerRequest.nameRule.check(body.version, "version").trimmingCharacters(
                in: .whitespaces
            )
            if let service = body.service { try ReleaseMarkerRequest.nameRule.check(service, "service") }
            let marker = ReleaseMarker(version: version, service: body.service, at: body.at ?? Date())
            try await Blocking.run { try store.addRelease(marker) }
            return marker
        }
        routes.get(
            APIPath.Metrics.releases,
            RouteSpec(
                summary: "Release markers, latest first",
                tags: ["regressions"],
                access: .monitor,
                response: .arrayOf(ReleaseMarker.self)
            )
        ) { request, _ in
            let service = request.uri.queryParameters.get("service").map { String($0) }
            return try await Blocking.run { try store.releases(service: service) }
        }
        routes.get(
            APIPath.Metrics.regressions,
            RouteSpec(
                summary: "Routes whose latency regressed against a baseline (Mann-Whitney U, Cliff's delta)",
                description:
                    "Every API route with 30 or more requests on both sides, regressions first. `baseline=release` compares the window "
                    + "after the latest release marker with the window before it; `baseline=week` the last window with the same window a week earlier.",
                tags: ["regressions"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "baseline",
                        schema: .string(enumeration: ["release", "week"]),
                        description: "release (default) or week."
                    ),
                    QueryParameter(
                        "window",
                        schema: MetricsQueries.rangeSchema,
                        description: "1h by default; any Nm/Nh/Nd, 24h at most."
                    ),
                    QueryParameter(
                        "route",
                        schema: MetricsQueries.routeRule.schema,
                        description: "Only this route template."
                    ),
                    QueryParameter(
                        "service",
                        schema: MetricsQueries.serviceRule.schema,
                        description: "The release markers of this service only."
                    ),
                ],
                response: .of(RegressionReport.self)
            )
        ) { request, _ in
            let parameters = request.uri.queryParameters
            let window = try MetricsQueries.seconds(
                of: parameters.get("window").map { String($0) } ?? "1h",
                field: "window",
                longest: 86_400
            )
            let baseline = parameters.get("baseline").map { String($0) } ?? "release"
            let route = try parameters.get("route").map {
                try MetricsQueries.routeRule.check(String($0), "route", code: "invalid_parameter")
            }
            let service = try parameters.get("service").map {
                try MetricsQueries.serviceRule.check(String($0), "service", code: "invalid_parameter")
            }
            return try await Blocking.run {
                try regressions.report(baseline: baseline, window: window, route: route, service: service)
            }
        }
    }
}
