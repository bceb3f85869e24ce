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
        let ingestor = EventIngestor(store: store, aggregator: aggregator, flushInterval: settings.flushInterval, logger: service.logger)
        try ingestor.recover()
        service.addService(ingestor)
        let queries = MetricsQueries(store: store, aggregator: aggregator)
        MetricsRoutes(ingestor: ingestor, queries: queries).register(service.routes)
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
/// | `metrics.max-series` | `10000` | series beyond this count as `other` |
struct MetricsSettings {
    var databasePath: String
    var synchronous: SQLiteDatabase.Synchronous
    var flushInterval: Duration
    var maximumSeries: Int

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        // Set it in production; the default keeps a run without configuration from writing into its working directory.
        databasePath = settings.string("metrics.database")
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("wedsync-metrics-\(configuration.port).sqlite3").path
        synchronous = try settings.choice("metrics.durability", from: ["full", "normal"], default: "full") == "full" ? .full : .normal
        flushInterval = try settings.milliseconds("metrics.flush-interval-ms", default: .seconds(10), in: 100...600_000)
        maximumSeries = try settings.int("metrics.max-series", default: 10_000, in: 10...1_000_000)
    }
}
