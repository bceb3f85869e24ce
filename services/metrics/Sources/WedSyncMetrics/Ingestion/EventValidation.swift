import Foundation
import WedSyncModels
import WedSyncServiceKit

/// Decodes and checks a `POST /v1/events` body; every refusal is a 400 naming the field (`events[3].durationMs`).
/// Each event is checked by the shared contract (``MetricEvent/problem``), the same check its sender made.
enum EventValidation {
    static let maximumEvents = MetricEventBounds.maximumEvents

    static func decode(_ body: Data) throws(ServiceError) -> [MetricEvent] {
        let batch: MetricEventBatch
        if let events = EventBatchParser.parse(Array(body)) {
            batch = MetricEventBatch(events: events)
        } else {
            batch = try slowDecode(body)
        }
        guard !batch.events.isEmpty else {
            throw ServiceError.badRequest("events: give at least one event", code: "invalid_event")
        }
        guard batch.events.count <= maximumEvents else {
            throw ServiceError.badRequest("events: at most \(maximumEvents) events in one batch", code: "invalid_event")
        }
        for (index, event) in batch.events.enumerated() {
            if let problem = event.problem {
                throw ServiceError.badRequest("events[\(index)].\(problem)", code: "invalid_event")
            }
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

    /// `events[3].durationMs: expected a number` from a decoding error.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
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
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(name(type)), got null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription.prefix(160))"
        @unknown default: return "body: not a batch of events"
        }
    }
}
