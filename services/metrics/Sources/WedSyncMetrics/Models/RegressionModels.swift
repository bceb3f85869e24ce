import Foundation
import WedSyncModels
import WedSyncServiceKit

/// A release marker (`POST /v1/releases`): regressions are judged against the window before the latest one.
public struct ReleaseMarker: Codable, Sendable, Equatable {
    public var version: String
    /// The service released; `nil` for the whole platform.
    public var service: String?
    public var at: Date

    public init(version: String, service: String? = nil, at: Date) {
        self.version = version
        self.service = service
        self.at = at
    }
}

/// What `POST /v1/releases` takes; `at` is now when absent.
public struct ReleaseMarkerRequest: Codable, Sendable, Equatable {
    public var version: String
    public var service: String?
    public var at: Date?

    public init(version: String, service: String? = nil, at: Date? = nil) {
        self.version = version
        self.service = service
        self.at = at
    }
}

/// One side of a comparison: a window of a route's latencies.
public struct LatencyWindow: Codable, Sendable, Equatable {
    /// `current`, `release 1.4.2`, or `a week earlier`.
    public var label: String
    public var from: Date
    public var to: Date
    public var count: Int
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double

    public init(label: String, from: Date, to: Date, count: Int, p50Ms: Double, p95Ms: Double, p99Ms: Double) {
        self.label = label
        self.from = from
        self.to = to
        self.count = count
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
    }
}

/// A route's latency now against its baseline, by a one-sided Mann-Whitney U test (is the current window slower?)
/// with Cliff's delta as the effect size.
public struct RegressionFinding: Codable, Sendable, Equatable {
    public var route: String
    public var method: String
    public var baseline: LatencyWindow
    public var current: LatencyWindow
    /// The test, in words.
    public var test: String
    public var u: Double
    public var z: Double
    /// The one-sided p-value: how likely a shift this large is by chance alone.
    public var pValue: Double
    /// Cliff's delta, -1 to 1: P(current slower) − P(current faster) for a random pair.
    public var effectSize: Double
    /// `negligible` (< 0.147), `small` (< 0.33), `medium` (< 0.474) or `large`.
    public var magnitude: String
    /// current p95 / baseline p95.
    public var p95Ratio: Double
    /// p below the significance level, and an effect at least small or the p95 up by 15% or more.
    public var regressed: Bool

    public init(
        route: String,
        method: String,
        baseline: LatencyWindow,
        current: LatencyWindow,
        test: String,
        u: Double,
        z: Double,
        pValue: Double,
        effectSize: Double,
        magnitude: String,
        p95Ratio: Double,
        regressed: Bool
    ) {
        self.route = route
        self.method = method
        self.baseline = baseline
        self.current = current
        self.test = test
        self.u = u
        self.z = z
        self.pValue = pValue
        self.effectSize = effectSize
        self.magnitude = magnitude
        self.p95Ratio = p95Ratio
        self.regressed = regressed
    }
}

/// `GET /v1/regressions`: every API route with enough requests on both sides, regressions first.
public struct RegressionReport: Codable, Sendable, Equatable {
    /// `release` or `week`.
    public var baseline: String
    public var release: ReleaseMarker?
    public var significance: Double
    public var findings: [RegressionFinding]

    public init(baseline: String, release: ReleaseMarker?, significance: Double, findings: [RegressionFinding]) {
        self.baseline = baseline
        self.release = release
        self.significance = significance
        self.findings = findings
    }
}

extension ReleaseMarker: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["version": .string(), "service": .string(), "at": .string(format: "date-time")],
            required: ["version", "at"]
        )
    }
}

extension ReleaseMarkerRequest: OpenAPISchemaProviding {
    /// A version or a service's name.
    static let nameRule = TextRule.name(100)

    public static var openAPISchema: JSONSchema {
        .object(
            ["version": nameRule.schema, "service": .nullable(nameRule.schema), "at": .nullable(.requestDateTime)],
            required: ["version"]
        )
    }
}

extension LatencyWindow: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "label": .string(), "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "count": .integer(), "p50Ms": .number,
                "p95Ms": .number, "p99Ms": .number,
            ],
            required: ["label", "from", "to", "count", "p50Ms", "p95Ms", "p99Ms"]
        )
    }
}

extension RegressionFinding: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "baseline": .reference(LatencyWindow.openAPIName),
                "current": .reference(LatencyWindow.openAPIName),
                "test": .string(), "u": .number, "z": .number, "pValue": .number,
                "effectSize": .described(.number, "Cliff's delta, -1 to 1"),
                "magnitude": .described(.string(), "negligible, small, medium or large"), "p95Ratio": .number,
                "regressed": .boolean,
            ],
            required: [
                "route", "method", "baseline", "current", "test", "u", "z", "pValue", "effectSize", "magnitude",
                "p95Ratio", "regressed",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [LatencyWindow.self] }
}

extension RegressionReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "baseline": .string(), "release": .reference(ReleaseMarker.openAPIName), "significance": .number,
                "findings": .array(.reference(RegressionFinding.openAPIName)),
            ],
            required: ["baseline", "significance", "findings"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [ReleaseMarker.self, RegressionFinding.self]
    }
}
