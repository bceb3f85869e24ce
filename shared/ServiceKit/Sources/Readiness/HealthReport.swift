import Foundation
import WedSyncModels

/// The body of `GET /health`: the process is alive and serving HTTP. It says nothing about dependencies.
public struct HealthReport: Codable, Sendable, Equatable {
    public var status: String
    public var service: String
    public var version: String
    public var uptimeSeconds: Double

    public init(status: String = "ok", service: String, version: String, uptimeSeconds: Double) {
        self.status = status
        self.service = service
        self.version = version
        self.uptimeSeconds = uptimeSeconds
    }
}

/// The state of one dependency as `GET /ready` saw it.
public struct DependencyStatus: Codable, Sendable, Equatable {
    /// How a dependency answered.
    public enum State: String, Codable, Sendable {
        /// Answered within its timeout.
        case up
        /// Answered, but the service runs with reduced function (e.g. a cache running on L1 only).
        case degraded
        /// Did not answer, or answered with an error.
        case down
    }

    /// The dependency's name: `database`, `database-replica-1`, `redis`, `api`, `metrics`...
    public var name: String
    public var state: State
    /// Whether the service cannot serve without it. A non-critical dependency that is down makes the service
    /// degraded, not unready.
    public var critical: Bool
    public var latencyMs: Double
    /// Why it is not up; never a secret (no URLs with passwords).
    public var detail: String?

    public init(name: String, state: State, critical: Bool, latencyMs: Double, detail: String? = nil) {
        self.name = name
        self.state = state
        self.critical = critical
        self.latencyMs = latencyMs
        self.detail = detail
    }
}

/// The body of `GET /ready` when every critical dependency is up (HTTP 200). When one is down the service answers
/// 503 with an ``ErrorEnvelope`` whose message names what is down, and the same report under `dependencies`.
public struct ReadinessReport: Codable, Sendable, Equatable {
    /// `ready`, `degraded` (a non-critical dependency is down) or `unavailable`.
    public var status: String
    public var service: String
    public var dependencies: [DependencyStatus]

    public init(status: String, service: String, dependencies: [DependencyStatus]) {
        self.status = status
        self.service = service
        self.dependencies = dependencies
    }
}

/// The 503 body of `GET /ready`: the error envelope, plus the per-dependency report.
public struct NotReadyResponse: Codable, Sendable, Equatable {
    public var error: ErrorEnvelope.Body
    public var dependencies: [DependencyStatus]

    public init(error: ErrorEnvelope.Body, dependencies: [DependencyStatus]) {
        self.error = error
        self.dependencies = dependencies
    }
}

/// The body of `GET`/`PUT /v1/admin/log-level`: `{"level":"debug"}`.
public struct LogLevelSetting: Codable, Sendable, Equatable {
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    public var level: String

    public init(level: String) {
        self.level = level
    }
}

extension HealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["status": .string(), "service": .string(), "version": .string(), "uptimeSeconds": .number],
            required: ["status", "service", "version", "uptimeSeconds"]
        )
    }
}

extension DependencyStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(),
                "state": .string(enumeration: ["up", "degraded", "down"]),
                "critical": .boolean,
                "latencyMs": .number,
                "detail": .string(),
            ],
            required: ["name", "state", "critical", "latencyMs"]
        )
    }
}

extension ReadinessReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "status": .string(enumeration: ["ready", "degraded", "unavailable"]),
                "service": .string(),
                "dependencies": .array(.reference(DependencyStatus.openAPIName)),
            ],
            required: ["status", "service", "dependencies"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [DependencyStatus.self] }
}

extension LogLevelSetting: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["level": .string(enumeration: ["trace", "debug", "info", "notice", "warning", "error", "critical"])],
            required: ["level"]
        )
    }
}
