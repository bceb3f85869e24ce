import Foundation
import WedSyncModels

/// The capacity forecast (`GET /v1/capacity`), which the autoscaler reads: next Saturday's peak from the trend of
/// weekly peaks, the Saturday pattern and the wedding season (May to October), and what it takes to serve it
/// within the latency budget.
public struct CapacityForecast: Codable, Sendable, Equatable {
    public var generatedAt: Date
    /// `yyyy-MM-dd`, UTC.
    public var nextSaturday: String
    /// Whether next Saturday falls in the wedding season (May to October).
    public var inSeason: Bool
    /// Whole weeks of hourly history the forecast stands on.
    public var weeksOfHistory: Int
    /// The busiest hour of the last seven days, requests per second.
    public var currentPeakRatePerSecond: Double
    /// The forecast busiest hour of next Saturday, requests per second.
    public var peakRatePerSecond: Double
    /// The p95 expected at that peak with the current replicas (from the measured relation of p95 to load).
    public var peakP95Ms: Double?
    /// The weekly peak's growth per week, as a share (0.02: 2% a week).
    public var trendPerWeek: Double
    /// How much busier a Saturday's peak is than the week's other days' peaks.
    public var saturdayFactor: Double
    /// How much busier the season's weeks are than the off-season's (1 without history of both).
    public var seasonFactor: Double
    public var currentReplicas: Int
    /// Requests per second one replica serves within the p95 budget.
    public var perReplicaRatePerSecond: Double
    /// Replicas next Saturday's peak needs, with 20% headroom.
    public var replicasNeeded: Int
    /// The first Saturday within six months whose forecast peak exceeds what the current replicas serve within the
    /// budget (`yyyy-MM-dd`); `nil` when none does.
    public var budgetBreachAt: String?
    /// The busiest routes' forecasts.
    public var routes: [RouteForecast]
    /// How the forecast was made, in words.
    public var method: String

    public init(
        generatedAt: Date,
        nextSaturday: String,
        inSeason: Bool,
        weeksOfHistory: Int,
        currentPeakRatePerSecond: Double,
        peakRatePerSecond: Double,
        peakP95Ms: Double?,
        trendPerWeek: Double,
        saturdayFactor: Double,
        seasonFactor: Double,
        currentReplicas: Int,
        perReplicaRatePerSecond: Double,
        replicasNeeded: Int,
        budgetBreachAt: String?,
        routes: [RouteForecast],
        method: String
    ) {
        self.generatedAt = generatedAt
        self.nextSaturday = nextSaturday
        self.inSeason = inSeason
        self.weeksOfHistory = weeksOfHistory
        self.currentPeakRatePerSecond = currentPeakRatePerSecond
        self.peakRatePerSecond = peakRatePerSecond
        self.peakP95Ms = peakP95Ms
        self.trendPerWeek = trendPerWeek
        self.saturdayFactor = saturdayFactor
        self.seasonFactor = seasonFactor
        self.currentReplicas = currentReplicas
        self.perReplicaRatePerSecond = perReplicaRatePerSecond
        self.replicasNeeded = replicasNeeded
        self.budgetBreachAt = budgetBreachAt
        self.routes = routes
        self.method = method
    }
}

/// One route's share of the forecast.
public struct RouteForecast: Codable, Sendable, Equatable {
    public var route: String
    public var method: String
    public var currentPeakRatePerSecond: Double
    public var peakRatePerSecond: Double

    public init(route: String, method: String, currentPeakRatePerSecond: Double, peakRatePerSecond: Double) {
        self.route = route
        self.method = method
        self.currentPeakRatePerSecond = currentPeakRatePerSecond
        self.peakRatePerSecond = peakRatePerSecond
    }
}

extension CapacityForecast: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "generatedAt": .string(format: "date-time"), "nextSaturday": .string(format: "date"),
                "inSeason": .boolean, "weeksOfHistory": .integer(),
                "currentPeakRatePerSecond": .number, "peakRatePerSecond": .number, "peakP95Ms": .number,
                "trendPerWeek": .number,
                "saturdayFactor": .number, "seasonFactor": .number, "currentReplicas": .integer(),
                "perReplicaRatePerSecond": .number,
                "replicasNeeded": .integer(), "budgetBreachAt": .string(format: "date"),
                "routes": .array(.reference(RouteForecast.openAPIName)),
                "method": .string(),
            ],
            required: [
                "generatedAt", "nextSaturday", "inSeason", "weeksOfHistory", "currentPeakRatePerSecond",
                "peakRatePerSecond", "trendPerWeek",
                "saturdayFactor", "seasonFactor", "currentReplicas", "perReplicaRatePerSecond", "replicasNeeded",
                "routes", "method",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [RouteForecast.self] }
}

extension RouteForecast: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "currentPeakRatePerSecond": .number,
                "peakRatePerSecond": .number,
            ],
            required: ["route", "method", "currentPeakRatePerSecond", "peakRatePerSecond"]
        )
    }
}
