import Foundation
import Hummingbird
import Logging
import WedSyncModels
import WedSyncServiceKit

/// The metrics service on a ``ServiceBuilder``: the SQLite store, the ingestor, and the routes.
public enum MetricsApplication {
    @discardableResult
    public static func configure(_ service: ServiceBuilder) throws -> EventIngestor {
        let settings = try MetricsSettings(service.configuration)
        let store = try MetricsStore(path: settings.databasePath, synchronous: settings.synchronous)
        let aggregator = Aggregator(maximumSeries: settings.maximumSeries)
        let exposition = MetricsExposition()
        let ingestor = EventIngestor(
            store: store,
            aggregator: aggregator,
            flushInterval: settings.flushInterval,
            retention: settings.retention,
            exposition: exposition,
            logger: service.logger
        )
        try ingestor.recover()
        service.addService(ingestor)
        let queries = MetricsQueries(store: store, aggregator: aggregator, retention: settings.retention)
        var receivers: [AlertReceiver] = []
        if let url = settings.webhookURL {
            receivers.append(
                AlertReceiver(name: "webhook", destination: .webhook(url: url), severities: settings.webhookSeverities)
            )
        }
        if let url = settings.slackURL {
            receivers.append(
                AlertReceiver(name: "slack", destination: .slack(url: url), severities: settings.slackSeverities)
            )
        }
        if let mailer = settings.mailer {
            receivers.append(
                AlertReceiver(name: "email", destination: .email(mailer), severities: settings.emailSeverities)
            )
        }
        let notifier = AlertNotifier(
            receivers: receivers,
            externalURL: "http://\(service.configuration.host):\(service.configuration.port)",
            initialBackoff: settings.retryBackoff,
            logger: service.logger
        )
        // Before the engine that feeds it: at shutdown the engine stops first, then the queued notifications flush.
        service.addService(notifier)
        let alerts = AlertEngine(
            rules: settings.rules,
            queries: queries,
            notifier: notifier,
            interval: settings.evaluationInterval,
            repeatInterval: settings.repeatInterval,
            logger: service.logger
        )
        service.addService(alerts)
        // Two SQLite reads a scrape: on the blocking pool, as every other read of the store.
        service.addMetricsCollector {
            _ = try? await Blocking.run { exposition.collect(queries: queries, alerts: alerts.alerts()) }
        }
        if let interval = settings.systemSampleInterval {
            service.addService(
                SystemSampler(
                    ingestor: ingestor,
                    interval: interval,
                    diskPath: (settings.databasePath as NSString).deletingLastPathComponent,
                    logger: service.logger
                )
            )
        }
        service.addService(
            MetricsScraper(
                targets: settings.scrapeTargets,
                store: store,
                interval: settings.scrapeInterval,
                logger: service.logger
            )
        )
        let budgets = BudgetBook(range: settings.budgetRange, budgets: settings.budgets, queries: queries)
        let capacity = CapacityPlanner(
            queries: queries,
            p95BudgetMs: settings.capacityBudgetMs,
            currentReplicas: settings.capacityReplicas,
            replicaRatePerSecond: settings.replicaRate
        )
        let figures = LiveFiguresBuilder(
            queries: queries,
            alerts: alerts,
            budgets: { now in (try? budgets.report(at: now).budgets) ?? [] },
            forecast: { now in (try? capacity.forecast(at: now)) ?? nil },
            poolUtilisation: {
                let end = Aggregator.bucketStart(Date()) + Aggregator.bucketSeconds
                return (try? store.gauges(from: end - 300, to: end, prefix: "pool_utilisation{"))?.values.map(\.last)
                    .max()
            },
            reuseFor: min(.seconds(1), settings.streamInterval / 2)
        )
        MetricsRoutes(
            ingestor: ingestor,
            queries: queries,
            alerts: alerts,
            notifier: notifier,
            budgets: budgets,
            regressions: RegressionDetector(queries: queries),
            capacity: capacity,
            figures: figures,
            streamInterval: settings.streamInterval,
            streams: StreamSlots(maximum: 64, maximumPerClient: service.configuration.http.maximumStreamsPerClient)
        ).register(service.routes)
        return ingestor
    }
}

/// The metrics service's configuration keys.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `metrics.database` | `$TMPDIR/wedsync-metrics-PORT.sqlite3` | the SQLite file (WAL mode); set it in production |
/// | `metrics.durability` | `full` | `full`: an acknowledged batch survives power loss; `normal`: a crash of the process |
/// | `metrics.flush-interval-ms` | `10000` | how often old buckets are let go from memory and pruned from storage |
/// | `metrics.retention.10s-hours` | `48` | how long the 10-second buckets are kept |
/// | `metrics.retention.1m-days` | `15` | how long the 1-minute rollups are kept |
/// | `metrics.retention.1h-days` | `400` | how long the hourly rollups are kept (capacity planning reads seasons from them) |
/// | `metrics.max-series` | `10000` | series beyond this count as `other` |
/// | `metrics.stream-interval-ms` | `2000` | how often `/v1/stream` (and so the dashboard) sends figures |
/// | `metrics.budgets-file` | none | performance budgets per route (`infrastructure/budgets.yaml`) |
/// | `metrics.capacity.p95-budget-ms` | `200` | the p95 a replica must keep at its load, for capacity planning |
/// | `metrics.capacity.replicas` | `1` | the API replicas now serving |
/// | `metrics.capacity.replica-rps` | measured | requests per second one replica serves within the budget (from a benchmark) |
/// | `metrics.scrape-targets` | none | `name=http://host:port,...`: services whose `/metrics` are scraped for pool use and `up` |
/// | `metrics.scrape-interval-ms` | `15000` | how often they are scraped |
/// | `metrics.system-sample-ms` | `10000` | how often this host's CPU, memory and disk are sampled from `/proc` (0: never) |
/// | `metrics.alerts-file` | none | alert rules (`infrastructure/alerts.yaml`); no alerting without it |
/// | `metrics.alerts.webhook-url` | none | receives every notification in Alertmanager's webhook format (secret) |
/// | `metrics.alerts.slack-url` | none | a Slack incoming webhook (secret) |
/// | `metrics.alerts.webhook-severities` | `info,warning,critical` | the severities sent to the webhook |
/// | `metrics.alerts.slack-severities` | `warning,critical` | the severities sent to Slack |
/// | `metrics.alerts.smtp-url` | none | `smtp://[user:password@]host:port` (or `smtps://`): email through libcurl (secret) |
/// | `metrics.alerts.email-from` | `alerts@wedsync.local` | the sender |
/// | `metrics.alerts.email-to` | none | comma-separated recipients; email is sent only with both this and the SMTP URL |
/// | `metrics.alerts.email-severities` | `critical` | the severities sent by email |
/// | `metrics.alerts.evaluation-ms` | `15000` | how often the rules are evaluated |
/// | `metrics.alerts.repeat-seconds` | `14400` | how often a firing alert is notified again |
/// | `metrics.alerts.retry-ms` | `500` | the first retry's backoff (doubled each time, 5 attempts) |
struct MetricsSettings {
    var databasePath: String
    var synchronous: SQLiteDatabase.Synchronous
    var flushInterval: Duration
    var maximumSeries: Int
    var retention: RetentionPolicy
    var streamInterval: Duration
    var scrapeTargets: [MetricsScraper.Target]
    var scrapeInterval: Duration
    var systemSampleInterval: Duration?
    var budgets: [PerformanceBudget]
    var budgetRange: String
    var capacityBudgetMs: Double
    var capacityReplicas: Int
    var replicaRate: Double?
    var rules: [AlertRule]
    var webhookURL: String?
    var slackURL: String?
    var webhookSeverities: Set<AlertSeverity>
    var slackSeverities: Set<AlertSeverity>
    var mailer: SMTPMailer?
    var emailSeverities: Set<AlertSeverity>
    var evaluationInterval: Duration
    var repeatInterval: Duration
    var retryBackoff: Duration

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        // Set it in production; the default keeps a run without configuration from writing into its working directory.
        databasePath =
            settings.string("metrics.database")
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "wedsync-metrics-\(configuration.port).sqlite3"
            ).path
        synchronous =
            try settings.choice("metrics.durability", from: ["full", "normal"], default: "full") == "full"
            ? .full : .normal
        flushInterval = try settings.milliseconds("metrics.flush-interval-ms", default: .seconds(10), in: 100...600_000)
        maximumSeries = try settings.int("metrics.max-series", default: 10_000, in: 10...1_000_000)
        streamInterval = try settings.milliseconds("metrics.stream-interval-ms", default: .seconds(2), in: 100...60_000)
        scrapeTargets = try MetricsScraper.targets(settings.string("metrics.scrape-targets") ?? "")
        scrapeInterval = try settings.milliseconds(
            "metrics.scrape-interval-ms",
            default: .seconds(15),
            in: 100...3_600_000
        )
        let sampling = try settings.milliseconds("metrics.system-sample-ms", default: .seconds(10), in: 0...3_600_000)
        systemSampleInterval = sampling == .zero ? nil : sampling
        retention = RetentionPolicy(
            tenSeconds: .seconds(3_600 * (try settings.int("metrics.retention.10s-hours", default: 48, in: 1...2_400))),
            oneMinute: .seconds(86_400 * (try settings.int("metrics.retention.1m-days", default: 15, in: 1...400))),
            oneHour: .seconds(86_400 * (try settings.int("metrics.retention.1h-days", default: 400, in: 7...3_650)))
        )
        capacityBudgetMs = Double(try settings.int("metrics.capacity.p95-budget-ms", default: 200, in: 1...600_000))
        capacityReplicas = try settings.int("metrics.capacity.replicas", default: 1, in: 1...10_000)
        replicaRate =
            settings.string("metrics.capacity.replica-rps") == nil
            ? nil : Double(try settings.int("metrics.capacity.replica-rps", default: 1, in: 1...10_000_000))
        if let path = settings.string("metrics.budgets-file"), !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(key: "metrics.budgets-file", message: "cannot read \(path)")
            }
            (budgetRange, budgets) = try BudgetsFile.parse(text)
        } else {
            (budgetRange, budgets) = ("1h", [])
        }
        if let path = settings.string("metrics.alerts-file"), !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(key: "metrics.alerts-file", message: "cannot read \(path)")
            }
            rules = try AlertRulesFile.parse(text)
        } else {
            rules = []
        }
        webhookURL =
            try settings.secret("metrics.alerts.webhook-url", minimumLength: 8) == nil
            ? nil : settings.httpURL("metrics.alerts.webhook-url", default: "")
        slackURL =
            try settings.secret("metrics.alerts.slack-url", minimumLength: 8) == nil
            ? nil : settings.httpURL("metrics.alerts.slack-url", default: "")
        func severities(_ key: String, default defaultValue: String) throws(ConfigurationError) -> Set<AlertSeverity> {
            Set(
                try (settings.string(key) ?? defaultValue).split(separator: ",").map {
                    name throws(ConfigurationError) -> AlertSeverity in
                    guard let severity = AlertSeverity(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                        throw ConfigurationError(key: key, message: "expected severities among info, warning, critical")
                    }
                    return severity
                }
            )
        }
        webhookSeverities = try severities("metrics.alerts.webhook-severities", default: "info,warning,critical")
        slackSeverities = try severities("metrics.alerts.slack-severities", default: "warning,critical")
        emailSeverities = try severities("metrics.alerts.email-severities", default: "critical")
        let recipients = (settings.string("metrics.alerts.email-to") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let from = settings.string("metrics.alerts.email-from") ?? "alerts@wedsync.local"
        for address in recipients + [from] where !Self.isMailAddress(address) {
            throw ConfigurationError(
                key: "metrics.alerts.email-to",
                message: "not an email address (one of the recipients or the sender)"
            )
        }
        if let url = try settings.secret("metrics.alerts.smtp-url", minimumLength: 8), !recipients.isEmpty {
            guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
                throw ConfigurationError(
                    key: "metrics.alerts.smtp-url",
                    message: "expected smtp://host:port or smtps://host:port"
                )
            }
            mailer = SMTPMailer(url: url, from: from, recipients: recipients)
        } else {
            mailer = nil
        }
        evaluationInterval = try settings.milliseconds(
            "metrics.alerts.evaluation-ms",
            default: .seconds(15),
            in: 50...3_600_000
        )
        repeatInterval = .seconds(try settings.int("metrics.alerts.repeat-seconds", default: 14_400, in: 1...604_800))
        retryBackoff = try settings.milliseconds("metrics.alerts.retry-ms", default: .milliseconds(500), in: 1...60_000)
    }

    /// `local@domain`, without spaces, line breaks or angle brackets (it goes into SMTP commands and headers).
    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && text.count <= 254
            && !text.contains { $0.isWhitespace || "<>\"(),;:\\[]".contains($0) || !$0.isASCII }
    }
}
