import Foundation
import WedSyncModels

/// A fast reader of the usual `POST /v1/events` body: `{"events":[{...},...]}` whose events are flat objects of
/// strings without escapes, numbers, booleans and nulls. Anything else (or anything wrong) gives `nil`, and the
/// body goes to `JSONDecoder`, which also explains what is wrong. Foundation's decoder spent 80% of the service's
/// time at 1,000-event batches; this reads the same events several times faster.
struct EventBatchParser {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The events, or `nil` when the body is not in the plain shape this reader takes.
    static func parse(_ data: [UInt8]) -> [MetricEvent]? {
        data.withUnsafeBytes { raw in
            var parser = EventBatchParser(raw)
            return parser.batch()
        }
    }

    /// One field's value.
    enum Value {
        case string(Range<Int>)
        case number(Double)
        case bool(Bool)
        case null
    }

    private mutating func skipSpace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        { index += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string without escapes, as a range of the body.
    private mutating func stringRange() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    private func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != pointer[offset] { return false }
        return true
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    private mutating func number() -> Double? {
        skipSpace()
        let start = index
        var integer: Int64 = 0
        var negative = false
        var simple = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            if digits < 18 { integer = integer * 10 + Int64(bytes[index] - 48) } else { simple = false }
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        var fraction: Int64 = 0
        var scale: Int64 = 1
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var fractionDigits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if fractionDigits < 15 {
                    fraction = fraction * 10 + Int64(bytes[index] - 48)
                    scale *= 10
                } else {
                    simple = false
                }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return nil }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            simple = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
        }
        if simple {
            let value = Double(integer) + Double(fraction) / Double(scale)
            return negative ? -value : value
        }
        return Double(string(start..<index))
    }

    private mutating func value() -> Value? {
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""): return stringRange().map { .string($0) }
        case UInt8(ascii: "t"):
            guard bytes.count - index >= 4, bytes[index + 1] == UInt8(ascii: "r"),
                bytes[index + 2] == UInt8(ascii: "u"), bytes[index + 3] == UInt8(ascii: "e")
            else { return nil }
            index += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            guard bytes.count - index >= 5, bytes[index + 1] == UInt8(ascii: "a"), bytes[index + 4] == UInt8(ascii: "e")
            else { return nil }
            index += 5
            return .bool(false)
        case UInt8(ascii: "n"):
            guard bytes.count - index >= 4, bytes[index + 1] == UInt8(ascii: "u"), bytes[index + 3] == UInt8(ascii: "l")
            else { return nil }
            index += 4
            return .null
        default:
            return number().map { .number($0) }
        }
    }

    private mutating func batch() -> [MetricEvent]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var events: [MetricEvent]?
        if take(UInt8(ascii: "}")) { return nil }
        repeat {
            guard let key = stringRange(), take(UInt8(ascii: ":")) else { return nil }
            if equals(key, "events") {
                guard events == nil, let list = eventList() else { return nil }
                events = list
            } else {
                guard let skipped = value(), case .null = skipped else { return nil }
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        guard index == bytes.count else { return nil }
        return events
    }

    private mutating func eventList() -> [MetricEvent]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var events: [MetricEvent] = []
        events.reserveCapacity(min(bytes.count / 100, 10_000))
        if take(UInt8(ascii: "]")) { return events }
        repeat {
            guard let event = event() else { return nil }
            events.append(event)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? events : nil
    }

    /// The fields of one event, then the event.
    private mutating func event() -> MetricEvent? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var fields = Fields()
        if !take(UInt8(ascii: "}")) {
            repeat {
                guard let key = stringRange(), take(UInt8(ascii: ":")), let value = value() else { return nil }
                guard fields.set(key, value, in: self) else { return nil }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        return fields.event(in: self)
    }

    /// Every field any event type has.
    private struct Fields {
        var type: Range<Int>?, timestamp: Range<Int>?, route: Range<Int>?, method: Range<Int>?, cache: Range<Int>?
        var tenant: Range<Int>?, requestId: Range<Int>?, fingerprint: Range<Int>?, operation: Range<Int>?
        var namespace: Range<Int>?, tier: Range<Int>?, host: Range<Int>?
        var status: Double?, durationMs: Double?, rows: Double?, cpuUtilisation: Double?
        var memoryUsedBytes: Double?, memoryTotalBytes: Double?, diskUsedBytes: Double?, diskTotalBytes: Double?
        var hit: Bool?

        /// Records one field; `false` for a value of the wrong kind or a field seen twice (the slow path decides).
        mutating func set(_ key: Range<Int>, _ value: Value, in parser: EventBatchParser) -> Bool {
            func text(_ slot: inout Range<Int>?) -> Bool {
                if case .null = value { return true }
                guard slot == nil, case .string(let range) = value else { return false }
                slot = range
                return true
            }
            func number(_ slot: inout Double?) -> Bool {
                guard slot == nil, case .number(let number) = value else { return false }
                slot = number
                return true
            }
            let name = key
            if parser.equals(name, "type") { return text(&type) }
            if parser.equals(name, "timestamp") { return text(&timestamp) }
            if parser.equals(name, "route") { return text(&route) }
            if parser.equals(name, "method") { return text(&method) }
            if parser.equals(name, "status") { return number(&status) }
            if parser.equals(name, "durationMs") { return number(&durationMs) }
            if parser.equals(name, "cache") { return text(&cache) }
            if parser.equals(name, "tenant") { return text(&tenant) }
            if parser.equals(name, "requestId") { return text(&requestId) }
            if parser.equals(name, "fingerprint") { return text(&fingerprint) }
            if parser.equals(name, "rows") { return number(&rows) }
            if parser.equals(name, "operation") { return text(&operation) }
            if parser.equals(name, "namespace") { return text(&namespace) }
            if parser.equals(name, "tier") { return text(&tier) }
            if parser.equals(name, "hit") {
                guard hit == nil, case .bool(let flag) = value else { return false }
                hit = flag
                return true
            }
            if parser.equals(name, "host") { return text(&host) }
            if parser.equals(name, "cpuUtilisation") { return number(&cpuUtilisation) }
            if parser.equals(name, "memoryUsedBytes") { return number(&memoryUsedBytes) }
            if parser.equals(name, "memoryTotalBytes") { return number(&memoryTotalBytes) }
            if parser.equals(name, "diskUsedBytes") { return number(&diskUsedBytes) }
            if parser.equals(name, "diskTotalBytes") { return number(&diskTotalBytes) }
            return true  // Unknown fields are ignored, as JSONDecoder ignores them.
        }

        func event(in parser: EventBatchParser) -> MetricEvent? {
            guard let type, let timestampRange = timestamp, let timestamp = ISO8601.parse(parser.string(timestampRange))
            else { return nil }
            func integer(_ value: Double?) -> Int? {
                guard let value, value.rounded(.towardZero) == value, abs(value) < 9e15 else { return nil }
                return Int(value)
            }
            if parser.equals(type, "api_call") {
                guard let route, let method, let status = integer(status), let durationMs else { return nil }
                var result: CacheResult?
                if let cache {
                    guard let parsed = CacheResult(rawValue: parser.string(cache)) else { return nil }
                    result = parsed
                }
                return .apiCall(
                    APICallEvent(
                        timestamp: timestamp,
                        route: parser.string(route),
                        method: parser.string(method),
                        status: status,
                        durationMs: durationMs,
                        cache: result,
                        tenant: tenant.map(parser.string),
                        requestId: requestId.map(parser.string)
                    )
                )
            }
            if parser.equals(type, "db_query") {
                guard let fingerprint, let durationMs, let rows = integer(rows) else { return nil }
                return .databaseQuery(
                    DatabaseQueryEvent(
                        timestamp: timestamp,
                        fingerprint: parser.string(fingerprint),
                        durationMs: durationMs,
                        rows: rows,
                        requestId: requestId.map(parser.string),
                        route: route.map(parser.string)
                    )
                )
            }
            if parser.equals(type, "cache_op") {
                guard let operation, let kind = CacheOperationEvent.Operation(rawValue: parser.string(operation)),
                    let namespace, let tier, let hit,
                    let durationMs
                else { return nil }
                return .cacheOperation(
                    CacheOperationEvent(
                        timestamp: timestamp,
                        operation: kind,
                        namespace: parser.string(namespace),
                        tier: parser.string(tier),
                        hit: hit,
                        durationMs: durationMs
                    )
                )
            }
            if parser.equals(type, "system") {
                guard let host, let cpuUtilisation, let used = integer(memoryUsedBytes),
                    let total = integer(memoryTotalBytes),
                    let diskUsed = integer(diskUsedBytes), let diskTotal = integer(diskTotalBytes)
                else { return nil }
                return .systemSample(
                    SystemSampleEvent(
                        timestamp: timestamp,
                        host: parser.string(host),
                        cpuUtilisation: cpuUtilisation,
                        memoryUsedBytes: used,
                        memoryTotalBytes: total,
                        diskUsedBytes: diskUsed,
                        diskTotalBytes: diskTotal
                    )
                )
            }
            return nil
        }
    }
}
