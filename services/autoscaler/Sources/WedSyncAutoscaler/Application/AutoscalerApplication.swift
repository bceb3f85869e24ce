import Foundation
import Hummingbird
import Logging
import WedSyncModels
import WedSyncServiceKit

/// The autoscaler on a ``ServiceBuilder``: its file read, its actuator chosen, its decision loop registered, and
/// `GET /v1/decisions` added.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `autoscaler.file` | none | the autoscaling file (`infrastructure/autoscaling.yaml`); without one nothing is scaled |
/// | `autoscaler.actuator` | `dry-run` | `dry-run` (decide, record, log), `kubernetes` (a Deployment's scale), `local` (processes on this machine) |
/// | `autoscaler.kubernetes.api-server` | in a pod: `KUBERNETES_SERVICE_HOST` | the API server's URL |
/// | `autoscaler.kubernetes.namespace`, `.token-file`, `.ca-file` | in a pod: the service account's | where the Deployments are, and the credentials |
///
/// The metrics come from `metrics.url` (critical for `/ready`), the wedding calendar from `api.url`, the forecast
/// from the metrics service; each with this service's own token (`service.token`).
public enum AutoscalerApplication {
    public static let actuators = ["dry-run", "kubernetes", "local"]

    /// Reads the settings and the file, and registers the loop and the routes. A wrong setting or file throws,
    /// naming it, and the service does not start.
    @discardableResult
    public static func configure(_ service: ServiceBuilder) throws -> AutoscalerController? {
        let configuration = service.configuration
        let settings = configuration.settings
        let metrics = service.serviceClient("metrics", baseURL: configuration.metricsURL, critical: true)
        let actuatorName = try settings.choice("autoscaler.actuator", from: actuators, default: "dry-run")
        guard let path = settings.string(AutoscalingFile.key) else {
            service.logger.notice("no autoscaler.file: nothing to scale")
            registerRoutes(
                service.routes,
                log: DecisionLog(actuator: actuatorName, interval: .seconds(15), targets: [])
            )
            return nil
        }
        let file = try AutoscalingFile.load(path: path)
        let actuator = try makeActuator(actuatorName, service: service, file: file)
        // The calendar is not critical: without the API the last calendar read stays in force.
        let api = service.serviceClient("api", baseURL: configuration.apiURL, critical: false, checked: false)
        let usesCalendar = file.targets.contains { $0.calendar != nil }
        let usesForecast = file.targets.contains { $0.predictive.mode != .off }
        let controller = AutoscalerController(
            file: file,
            actuator: actuator,
            actuatorName: actuatorName,
            signals: MetricsServiceSignals(client: metrics, logger: service.logger),
            calendar: usesCalendar ? WeddingCalendarSource(client: api, logger: service.logger) : nil,
            forecast: usesForecast ? ForecastSource(client: metrics, logger: service.logger) : nil,
            logger: service.logger
        )
        service.addService(controller)
        registerRoutes(service.routes, log: controller.log)
        service.logger.info(
            "autoscaling",
            metadata: [
                "targets": "\(file.targets.map(\.name).joined(separator: ","))", "actuator": "\(actuatorName)",
                "interval": "\(file.interval)",
            ]
        )
        return controller
    }

    static func makeActuator(_ name: String, service: ServiceBuilder, file: AutoscalingFile) throws
        -> any ReplicaActuator
    {
        let settings = service.configuration.settings
        switch name {
        case "kubernetes":
            let inCluster = KubernetesActuator.Settings.inCluster()
            guard let server = settings.string("autoscaler.kubernetes.api-server") ?? inCluster?.apiServer else {
                throw ConfigurationError(
                    key: "autoscaler.kubernetes.api-server",
                    message: "needed outside a pod (KUBERNETES_SERVICE_HOST is not set)"
                )
            }
            guard let namespace = settings.string("autoscaler.kubernetes.namespace") ?? inCluster?.namespace,
                let tokenFile = settings.string("autoscaler.kubernetes.token-file") ?? inCluster?.tokenFile
            else {
                throw ConfigurationError(
                    key: "autoscaler.kubernetes.namespace",
                    message: "a namespace and a token file are needed outside a pod"
                )
            }
            let caFile = settings.string("autoscaler.kubernetes.ca-file") ?? inCluster?.caFile
            do {
                return try KubernetesActuator(
                    settings: .init(apiServer: server, namespace: namespace, tokenFile: tokenFile, caFile: caFile)
                )
            } catch {
                throw ConfigurationError(key: "autoscaler.kubernetes.ca-file", message: error.message)
            }
        case "local":
            return try LocalProcessActuator(
                configuration: service.configuration,
                targets: file.targets,
                logger: service.logger
            )
        default:
            return DryRunActuator(logger: service.logger)
        }
    }

    static func registerRoutes(_ routes: ServiceRoutes, log: DecisionLog) {
        routes.get(
            "\(APIPath.v1)/decisions",
            RouteSpec(
                summary: "Each target's replicas and latest decisions, newest first, each explained",
                description:
                    "A decision names its inputs (metrics and their targets, the schedule, calendar and forecast "
                    + "floors, live time zones, what was missing), the rule that won, and a sentence.",
                tags: ["autoscaling"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "limit",
                        schema: .integer(minimum: 1, maximum: 240),
                        description: "Decisions a target (default 20)."
                    )
                ],
                response: .of(DecisionsReport.self)
            )
        ) { request, _ in
            log.report(limit: try request.integerQuery("limit", in: 1...240) ?? 20)
        }
    }
}
