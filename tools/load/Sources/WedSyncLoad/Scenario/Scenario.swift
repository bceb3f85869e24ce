import Foundation
import Yams

/// A scenario file: a named load model, a weighted mix of real requests, and the thresholds the run must hold.
///
/// ```yaml
/// name: vendor-management
/// description: 25 suppliers updating their vendors for 3 minutes
/// headers: {Authorization: "Bearer ${WEDSYNC_TOKEN}"}   # every request's, under its own
/// model:
///   closed: {users: 25, duration: 3m, think: 1s..3s}
///   # or  open: {rate: 100, duration: 2m}
///   # or  open: {stages: [{duration: 30s, target: 100}, {duration: 2m, target: 100}]}
/// requests:
///   - name: vendors
///     path: /api/vendors?limit=50
///     weight: 3
///   - name: vendor update
///     method: PATCH
///     path: /api/vendors/${WEDSYNC_VENDOR}
///     body: '{"website":"https://example.com"}'
/// thresholds:
///   overall: ["p(95)<200", "rate<0.01"]
///   vendors: ["p(95)<100"]
/// ```
///
/// `${NAME}` in a path, header or body is the environment variable `NAME` (as k6's `__ENV`), so a file holds no
/// token. `{{field}}` is a field of the user's row in the data file (`--data`, see ``LoadData``), filled in per
/// request. `route` names the template the server counts a request under, for the cross-check with the metrics
/// service; `source-addresses` spreads the load over that many loopback addresses, one a phone. Every error names
/// its field (`requests[2].path: ...`).
public struct Scenario: Sendable {
    public var name: String
    public var description: String?
    public var model: LoadModel
    public var templates: [RequestTemplate]
    /// Rules with their scope: `nil` for the whole run, else an endpoint's name.
    public var thresholds: [Scoped]
    /// How many loopback addresses the load comes from (`source-addresses`: one a phone), if the file says.
    public var sourceAddresses: Int?

    public struct Scoped: Sendable {
        public var scope: String?
        public var threshold: Threshold
    }

    /// A field the file got wrong, and why.
    public struct FileError: Error, CustomStringConvertible, Equatable {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    /// Reads a scenario file's text. `durationScale` multiplies every duration (CI runs the seeds' scenarios short);
    /// `environment` fills `${NAME}`.
    public init(yaml: String, durationScale: Double = 1, environment: [String: String] = [:]) throws(FileError) {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw FileError(field: "(file)", message: "not YAML: \(error)")
        }
        guard !file.name.isEmpty else { throw FileError(field: "name", message: "must not be empty") }
        name = file.name
        description = file.description
        model = try Self.model(file.model, scale: durationScale)
        guard !file.requests.isEmpty else { throw FileError(field: "requests", message: "at least one request") }
        var templates: [RequestTemplate] = []
        for (index, request) in file.requests.enumerated() {
            let field = "requests[\(index)]"
            let expand = { (text: String, part: String) throws(FileError) -> String in
                try Self.expand(text, environment: environment, field: "\(field).\(part)")
            }
            let path = try expand(request.path, "path")
            guard path.hasPrefix("/") else { throw FileError(field: "\(field).path", message: "must start with /") }
            if let route = request.route, !route.hasPrefix("/") || route.contains("?") {
                throw FileError(field: "\(field).route", message: "a route template like /api/clients/{id}")
            }
            let method = (request.method ?? "GET").uppercased()
            guard ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(method) else {
                throw FileError(
                    field: "\(field).method",
                    message: "\(method) is not one of GET POST PUT PATCH DELETE OPTIONS"
                )
            }
            let weight = request.weight ?? 1
            guard weight > 0, weight.isFinite else {
                throw FileError(field: "\(field).weight", message: "must be a positive number")
            }
            var headers: [RequestTemplate.Header] = []
            // The file's headers for every request, then the request's own (which win).
            let own = request.headers ?? [:]
            for (name, value) in (file.headers ?? [:]).sorted(by: { $0.key < $1.key })
            where !own.keys.contains(where: { $0.lowercased() == name.lowercased() }) {
                headers.append(.init(name, try Self.expand(value, environment: environment, field: "headers.\(name)")))
            }
            for (name, value) in own.sorted(by: { $0.key < $1.key }) {
                headers.append(.init(name, try expand(value, "headers.\(name)")))
            }
            let name = request.name ?? "\(method) \(request.path)"
            guard !templates.contains(where: { $0.name == name }) else {
                throw FileError(field: "\(field).name", message: "\(name) names another request already")
            }
            templates.append(
                RequestTemplate(
                    name: name,
                    method: method,
                    target: path,
                    headers: headers,
                    body: try request.body.map { body throws(FileError) in try expand(body, "body") },
                    weight: weight,
                    route: request.route
                )
            )
        }
        self.templates = templates
        var thresholds: [Scoped] = []
        for (scope, rules) in (file.thresholds ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard scope == "overall" || templates.contains(where: { $0.name == scope }) else {
                throw FileError(field: "thresholds.\(scope)", message: "no request is named \(scope)")
            }
            for (index, rule) in rules.enumerated() {
                guard let threshold = Threshold(rule) else {
                    throw FileError(
                        field: "thresholds.\(scope)[\(index)]",
                        message: "\(rule) is not a rule (p(95)<200, avg<100, max<2000, rate<0.01)"
                    )
                }
                thresholds.append(Scoped(scope: scope == "overall" ? nil : scope, threshold: threshold))
            }
        }
        self.thresholds = thresholds
        if let count = file.sourceAddresses {
            guard (1...60_000).contains(count) else {
                throw FileError(field: "source-addresses", message: "a whole number from 1 to 60000")
            }
        }
        sourceAddresses = file.sourceAddresses
    }

    // MARK: The file

    struct File: Decodable {
        var name: String
        var description: String?
        var model: FileModel
        var requests: [FileRequest]
        var thresholds: [String: [String]]?
        var sourceAddresses: Int?
        /// Headers every request sends (`Authorization: Bearer {{token}}`).
        var headers: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, description, model, requests, thresholds, headers
            case sourceAddresses = "source-addresses"
        }
    }

    struct FileModel: Decodable {
        var closed: Closed?
        var open: Open?

        struct Closed: Decodable {
            var users: Int
            var duration: String
            var think: String?
        }

        struct Open: Decodable {
            var rate: Double?
            var duration: String?
            var stages: [Stage]?
        }

        struct Stage: Decodable {
            var duration: String
            var target: Double
        }
    }

    struct FileRequest: Decodable {
        var name: String?
        var method: String?
        var path: String
        var headers: [String: String]?
        var body: String?
        var weight: Double?
        var route: String?
    }

    private static func duration(_ text: String, field: String, scale: Double) throws(FileError) -> Duration {
        guard let duration = DurationText.parse(text) else {
            throw FileError(field: field, message: "\(text) is not a duration (500ms, 30s, 2m)")
        }
        return duration * scale
    }

    private static func model(_ model: FileModel, scale: Double) throws(FileError) -> LoadModel {
        switch (model.closed, model.open) {
        case (let closed?, nil):
            guard (1...100_000).contains(closed.users) else {
                throw FileError(field: "model.closed.users", message: "a whole number from 1 to 100000")
            }
            var think = ThinkTime.none
            if let text = closed.think {
                guard let parsed = ThinkTime(parsing: text) else {
                    throw FileError(field: "model.closed.think", message: "\(text) is not MIN..MAX (1s..3s)")
                }
                think = parsed
            }
            return .closed(
                users: closed.users,
                thinkTime: think,
                duration: try duration(closed.duration, field: "model.closed.duration", scale: scale)
            )
        case (nil, let open?):
            if let stages = open.stages, open.rate == nil, open.duration == nil {
                guard !stages.isEmpty else {
                    throw FileError(field: "model.open.stages", message: "at least one stage")
                }
                var parsed: [RateStage] = []
                for (index, stage) in stages.enumerated() {
                    guard stage.target >= 0, stage.target.isFinite else {
                        throw FileError(field: "model.open.stages[\(index)].target", message: "a rate of 0 or more")
                    }
                    parsed.append(
                        RateStage(
                            duration: try duration(
                                stage.duration,
                                field: "model.open.stages[\(index)].duration",
                                scale: scale
                            ),
                            target: stage.target
                        )
                    )
                }
                return .open(stages: parsed)
            }
            guard let rate = open.rate, rate > 0, rate.isFinite, let text = open.duration, open.stages == nil else {
                throw FileError(field: "model.open", message: "either rate and duration, or stages")
            }
            return .open(
                stages: RateStage.constant(rate, for: try duration(text, field: "model.open.duration", scale: scale))
            )
        default:
            throw FileError(field: "model", message: "exactly one of closed or open")
        }
    }

    /// `text` with every `${NAME}` replaced by the environment's value.
    static func expand(_ text: String, environment: [String: String], field: String) throws(FileError) -> String {
        var result = ""
        var rest = text[...]
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw FileError(field: field, message: "an unclosed ${")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                throw FileError(field: field, message: "${\(name)} is not set in the environment")
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    static func describe(_ error: DecodingError) -> FileError {
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            var text = ""
            for key in keys {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "(file)" : text
        }
        switch error {
        case .keyNotFound(let key, let context): return FileError(field: path(context, key), message: "is required")
        case .typeMismatch(let type, let context): return FileError(field: path(context), message: "expected \(type)")
        case .valueNotFound(let type, let context): return FileError(field: path(context), message: "expected \(type)")
        case .dataCorrupted(let context): return FileError(field: path(context), message: context.debugDescription)
        @unknown default: return FileError(field: "(file)", message: "\(error)")
        }
    }
}
