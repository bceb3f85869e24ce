import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WedSyncModels

extension Response {
    /// A JSON response encoded with the WedSync conventions (``WedSyncJSON``).
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let body: Data
        do {
            body = try WedSyncJSON.makeEncoder().encode(value)
        } catch {
            // Only a value with a throwing custom `encode(to:)` can fail; say so in the envelope, never crash.
            body = Data(#"{"error":{"code":"internal_error","message":"the response could not be encoded"}}"#.utf8)
            return Response(
                status: .internalServerError,
                headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.count)],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}

extension Request {
    /// Decodes the JSON body into `type`, with the WedSync conventions.
    ///
    /// A body larger than the context's limit is a 413; a body that is not valid JSON for `type` is a 400
    /// `invalid_body` whose message names the offending field (`events[3].durationMs: expected a number`).
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, context: ServiceRequestContext) async throws -> Value {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServiceError.payloadTooLarge(limit: context.maxUploadSize)
        }
        guard buffer.readableBytes > 0 else {
            throw ServiceError.badRequest("the request needs a JSON body", code: "invalid_body")
        }
        do {
            return try WedSyncJSON.makeDecoder().decode(Value.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw ServiceError.badRequest(error.explanation, code: "invalid_body")
        } catch {
            throw ServiceError.badRequest("the body is not valid JSON", code: "invalid_body")
        }
    }
}

extension DecodingError {
    /// A short account of what is wrong and where, without echoing the offending value.
    public var explanation: String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "the body" : text
        }
        switch self {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.describe(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.describe(type)), got null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the body does not match the expected shape"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "a value of type \(type)"
        }
    }
}
