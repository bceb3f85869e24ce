import Logging
import Metrics
import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncServiceKit

extension ServiceConfiguration {
    /// `database.url`, parsed. A `ConfigurationError` naming the key when it is not a PostgreSQL URL; the URL itself,
    /// which may hold a password, is never echoed.
    public func postgresPrimary() throws(ConfigurationError) -> PostgresConfiguration {
        do {
            var primary = try PostgresConfiguration(url: databaseURL)
            primary.statementTimeout = databaseStatementTimeout
            primary.options["application_name"] = primary.options["application_name"] ?? service
            return primary
        } catch {
            throw ConfigurationError(key: "database.url", message: error.message)
        }
    }

    /// `database.replica-urls`, parsed, in order.
    public func postgresReplicas() throws(ConfigurationError) -> [PostgresConfiguration] {
        try standbys(databaseReplicaURLs, key: "database.replica-urls", role: "read")
    }

    /// `database.analytics-urls`, parsed, in order.
    public func postgresAnalyticsStandbys() throws(ConfigurationError) -> [PostgresConfiguration] {
        try standbys(databaseAnalyticsURLs, key: "database.analytics-urls", role: "analytics")
    }

    /// Standby URLs, each with the statement timeout, and the service and `role` as its `application_name` (what
    /// `pg_stat_activity` shows on each server) unless the URL names one.
    private func standbys(_ urls: [String], key: String, role: String) throws(ConfigurationError)
        -> [PostgresConfiguration]
    {
        var standbys: [PostgresConfiguration] = []
        for (index, url) in urls.enumerated() {
            do {
                var standby = try PostgresConfiguration(url: url)
                standby.statementTimeout = databaseStatementTimeout
                standby.options["application_name"] = standby.options["application_name"] ?? "\(service)/\(role)"
                standbys.append(standby)
            } catch {
                throw ConfigurationError(key: key, message: "URL \(index + 1): \(error.message)")
            }
        }
        return standbys
    }
}

extension ServiceBuilder {
    /// The service's PostgreSQL primary, replicas and analytics standbys (`database.url`, `database.replica-urls`,
    /// `database.analytics-urls`), created once. The primary is a readiness dependency (`critical` as given);
    /// standbys never are critical, since reads fall back to the primary. Database errors a route lets through
    /// become 503s to retry (``PostgresErrorMapping``).
    public func postgres(critical: Bool = true) throws -> PostgresDatabase {
        try dependency("postgres") {
            let primary = try configuration.postgresPrimary()
            let replicas = try configuration.postgresReplicas()
            let analytics = try configuration.postgresAnalyticsStandbys()
            let pool = configuration.databasePool
            let database = PostgresDatabase(
                primary: PostgresPool(name: "primary", configuration: primary, poolConfiguration: pool, logger: logger),
                replicas: replicas.enumerated().map { index, replica in
                    PostgresPool(
                        name: "replica-\(index + 1)",
                        configuration: replica,
                        poolConfiguration: pool,
                        logger: logger
                    )
                },
                analyticsStandbys: analytics.enumerated().map { index, standby in
                    PostgresPool(
                        name: "analytics-\(index + 1)",
                        configuration: standby,
                        poolConfiguration: configuration.databaseAnalyticsPool,
                        logger: logger
                    )
                },
                maximumLag: configuration.databaseReplicaMaximumLag,
                maximumAnalyticsLag: configuration.databaseAnalyticsMaximumLag,
                checkInterval: configuration.databaseReplicaCheckInterval,
                logger: logger
            )
            addService(database)
            addReadinessCheck(PostgresReadinessCheck(name: "database", pool: database.primary, critical: critical))
            for replica in database.replicas + database.analyticsStandbys {
                addReadinessCheck(
                    PostgresReadinessCheck(name: "database-\(replica.name)", pool: replica, critical: false)
                )
            }
            let reporter = poolMetrics
            addMetricsCollector {
                for pool in database.pools { reporter.report(pool.statistics) }
                for standby in database.replicas + database.analyticsStandbys {
                    let dimensions = [("pool", standby.name)]
                    let state = database.state(of: standby)
                    Gauge(label: "wedsync_postgres_replica_lag_seconds", dimensions: dimensions).record(
                        state.map { $0.lag / .seconds(1) } ?? -1
                    )
                    Gauge(label: "wedsync_postgres_replica_in_rotation", dimensions: dimensions).record(
                        database.isInRotation(standby) ? 1 : 0
                    )
                }
            }
            addErrorMapping(PostgresErrorMapping())
            return database
        }
    }
}

/// A database that cannot be reached, or a pool with no free connection, is a 503 the client may retry; a
/// statement that ran out of time is a 503 too; anything else is a 500 whose details go to the log only.
public struct PostgresErrorMapping: ServiceErrorMapping {
    public init() {}

    public func serviceError(for error: any Error, logger: Logger) -> ServiceError? {
        guard let error = error as? PostgresError else { return nil }
        if error.isConnectionFailure || error.code == .poolTimeout || error.code == .shutdown {
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return .unavailable(
                "the database is unavailable; retry shortly",
                code: "database_unavailable",
                retryAfterSeconds: 1
            )
        }
        if error.sqlState == "57014" {
            logger.warning("statement timed out or was cancelled", metadata: ["error": "\(error)"])
            return .unavailable("the query took too long; retry shortly", code: "query_timeout", retryAfterSeconds: 1)
        }
        logger.error("database error", metadata: ["error": "\(error)"])
        return .internalError()
    }
}
