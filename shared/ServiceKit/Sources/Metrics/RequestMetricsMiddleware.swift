import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import WedSyncModels

/// Counts and times every request by route template (never the raw path, so no id or name becomes a label), and
/// logs it: at `debug` normally, at `warning` for a 5xx, at `notice` when slower than the configured threshold.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let slowRequestThreshold: Duration
    let inFlight = Meter(label: "http_requests_in_flight")
    let handles = MetricHandles<Labels> { labels in
        (
            Counter(
                label: "http_requests_total",
                dimensions: [("route", labels.route), ("method", labels.method), ("status", String(labels.status))]
            ),
            Metrics.Timer(
                label: "http_request_duration_seconds",
                dimensions: [("route", labels.route), ("method", labels.method)]
            )
        )
    }

    struct Labels: Hashable, Sendable {
        var route: String
        var method: String
        var status: Int
    }

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        inFlight.increment()
        defer { inFlight.decrement() }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // The error middleware sits inside this one, so only a failure of the server itself lands here.
            record(request: request, context: context, status: 500, elapsed: .now - start)
            throw error
        }
        record(request: request, context: context, status: Int(response.status.code), elapsed: .now - start)
        if let template = context.endpointPath, template != "NotFound" { response.headers[Self.routeField] = template }
        return response
    }

    /// ``APIPath/routeHeader``.
    static let routeField = HTTPField.Name(APIPath.routeHeader)!

    private func record(request: Request, context: ServiceRequestContext, status: Int, elapsed: Duration) {
        let route = Self.routeLabel(context.endpointPath)
        let method = request.method.rawValue
        let (counter, timer) = handles(Labels(route: route, method: method, status: status))
        counter.increment()
        timer.recordNanoseconds(Int64(elapsed / .nanoseconds(1)))
        let level: Logger.Level =
            status >= 500 ? .warning : (elapsed > slowRequestThreshold ? .notice : .debug)
        guard level >= context.logger.logLevel else { return }
        context.logger.log(
            level: level,
            "request",
            metadata: [
                "http.method": .string(method),
                "http.route": .string(route),
                "http.status": .stringConvertible(status),
                "http.duration_ms": .string(String(format: "%.2f", Double(elapsed / .microseconds(1)) / 1000)),
            ]
        )
    }

    /// The matched route template (`/v1/things/{id}`, Hummingbird spells captures the OpenAPI way); requests that
    /// matched no route share one label (``MetricEventBounds/unmatchedRoute``), so a scan of random paths cannot
    /// blow up the series count.
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return MetricEventBounds.unmatchedRoute }
        return endpointPath
    }
}
