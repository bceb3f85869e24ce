import Foundation
import WedSyncModels
import WedSyncServiceKit

/// Decodes and checks a `POST /v1/events` body; every refusal is a 400 naming the field (`events[3].durationMs`).
enum EventValidation {
    static let maximumEvents = 10_000
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    static func decode(_ body: Data, now: Date = Date()) throws(ServiceError) -> [MetricEvent] {
        let batch: MetricEventBatch
        if let events = EventBatchParser.parse(Array(body)) {
            batch = MetricEventBatch(events: events)
        } else {
            batch = try slowDecode(body)
        }
        guard !batch.events.isEmpty else { throw ServiceError.badRequest("events: give at least one event", code: "invalid_event") }
        guard batch.events.count <= maximumEvents else {
            throw ServiceError.badRequest("events: at most \(maximumEvents) events in one batch", code: "invalid_event")
        }
        for (index, event) in batch.events.enumerated() {
            if let problem = check(event, now: now) { throw ServiceError.badRequest("events[\(index)].\(problem)", code: "invalid_event") }
        }
        return batch.events
    }

    /// Foundation's decoder: any JSON, and an error that names the field.
    static func slowDecode(_ body: Data) throws(ServiceError) -> MetricEventBatch {
        do {
            return try WedSyncJSON.makeDecoder().decode(MetricEventBatch.self, from: body)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw ServiceError.badRequest("the body is not JSON", code: "invalid_body")
            }
            throw ServiceError.badRequest(describe(error), code: "invalid_event")
        } catch {
            throw ServiceError.badRequest("the body is not JSON", code: "invalid_body")
        }
    }

    /// What is wrong with `event`, as `field: reason`; `nil` when nothing is.
    static func check(_ event: MetricEvent, now: Date) -> String? {
        let age = now.timeIntervalSince(event.timestamp)
        if age > 7 * 86_400 { return "timestamp: older than 7 days" }
        if age < -300 { return "timestamp: more than 5 minutes in the future" }
        func duration(_ value: Double) -> String? {
            value.isFinite && value >= 0 && value <= 3_600_000 ? nil : "durationMs: must be a number of milliseconds from 0 to 3600000"
        }
        func name(_ field: String, _ value: String) -> String? {
            !value.isEmpty && value.utf8.count <= 256 && !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "|") })
                ? nil : "\(field): 1 to 256 printable characters, no |"
        }
        switch event {
        case .apiCall(let call):
            if let problem = name("route", call.route) { return problem }
            guard call.route.hasPrefix("/") else { return "route: a route template starting with /" }
            guard methods.contains(call.method) else { return "method: one of \(methods.sorted().joined(separator: ", "))" }
            guard (100...599).contains(call.status) else { return "status: an HTTP status from 100 to 599" }
            return duration(call.durationMs)
        case .databaseQuery(let query):
            if let problem = name("fingerprint", query.fingerprint) { return problem }
            guard query.rows >= 0 else { return "rows: must not be negative" }
            return duration(query.durationMs)
        case .cacheOperation(let operation):
            if let problem = name("namespace", operation.namespace) ?? name("tier", operation.tier) { return problem }
            return duration(operation.durationMs)
        case .systemSample(let sample):
            guard (0...1).contains(sample.cpuUtilisation) else { return "cpuUtilisation: a share from 0 to 1" }
            guard sample.memoryUsedBytes >= 0, sample.memoryTotalBytes >= sample.memoryUsedBytes else { return "memoryUsedBytes: from 0 to memoryTotalBytes" }
            guard sample.diskUsedBytes >= 0, sample.diskTotalBytes >= sample.diskUsedBytes else { return "diskUsedBytes: from 0 to diskTotalBytes" }
            return name("host", sample.host)
        case .finding(let finding):
            if let problem = name("source", finding.source) ?? name("kind", finding.kind) { return problem }
            guard AlertSeverity(rawValue: finding.severity) != nil else { return "severity: info, warning or critical" }
            guard finding.count >= 0 else { return "count: must not be negative" }
            return nil
        }
    }

    /// `events[3].durationMs: expected a number` from a decoding error.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "body" : text
        }
        func name(_ type: Any.Type) -> String {
            switch type {
            case is Double.Type, is Int.Type, is Float.Type: "a number"
            case is String.Type: "a string"
            case is Bool.Type: "true or false"
            default: type is [Any].Type ? "a list" : "an object"
            }
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(name(type))"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(name(type)), got null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription.prefix(160))"
        @unknown default: return "body: not a batch of events"
        }
    }
}
