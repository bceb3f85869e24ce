import Foundation

/// The bounds of the event contract, one set for the services that send events and the metrics service that
/// stores them: a sender checks each event before it queues it (``MetricEvent/problem``), and the receiver
/// checks it again on arrival with the same function.
public enum MetricEventBounds {
    /// Events in one `POST /v1/events`.
    public static let maximumEvents = 10_000
    /// Unicode code points of a name (route, fingerprint, namespace, tier, host, source, kind): they become series
    /// keys. Code points, as JSON Schema's `maxLength` counts them (so at most 1 KiB of UTF-8).
    public static let maximumNameLength = 256
    /// The largest count or size an event carries: 2^53 - 1, which every JSON client holds exactly.
    public static let maximumInteger = Int.maximumJSONSafe
    /// The longest duration, in milliseconds (an hour).
    public static let maximumDurationMs = 3_600_000.0
    /// How old an event may be, and how far ahead of the receiver's clock, to be stored: others are taken and skipped
    /// (nothing keeps them, and they are no sender's mistake to retry), never refused.
    public static let maximumAge: TimeInterval = 7 * 86_400
    public static let maximumSkew: TimeInterval = 300
    /// The HTTP methods an `api_call` may name.
    public static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    /// The route of a request that matched no route template: a valid label, one for all such requests, so a scan
    /// of made-up paths cannot create series.
    public static let unmatchedRoute = "/{unmatched}"

    /// Whether `value` is a valid name: 1 to 256 code points, no control characters and no `|` (the series key
    /// separator).
    public static func isValidName(_ value: String) -> Bool {
        let scalars = value.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maximumNameLength
            && !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "|") })
    }

    /// Whether an event made at `timestamp` is recent enough to store, and not ahead of `now` by more than the skew.
    public static func isStorable(_ timestamp: Date, now: Date) -> Bool {
        let age = now.timeIntervalSince(timestamp)
        return age <= maximumAge && age >= -maximumSkew
    }

    /// Whether `route` is a valid route label: a valid name that starts with `/`.
    public static func isValidRoute(_ route: String) -> Bool {
        route.hasPrefix("/") && isValidName(route)
    }
}

extension MetricEvent {
    /// What is wrong with the event, as `field: reason`; `nil` when nothing is. The metrics service refuses a batch
    /// holding such an event with a 400 naming it (`events[3].durationMs: ...`). (How old it is is not wrong: an event
    /// outside the stored window is taken and skipped, ``MetricEventBounds/isStorable(_:now:)``.)
    public var problem: String? {
        func whole(_ field: String, _ value: Int) -> String? {
            (0...MetricEventBounds.maximumInteger).contains(value) ? nil : "\(field): a whole number from 0 to 2^53 - 1"
        }
        func duration(_ value: Double) -> String? {
            value.isFinite && value >= 0 && value <= MetricEventBounds.maximumDurationMs
                ? nil : "durationMs: must be a number of milliseconds from 0 to 3600000"
        }
        func name(_ field: String, _ value: String) -> String? {
            MetricEventBounds.isValidName(value) ? nil : "\(field): 1 to 256 printable characters, no |"
        }
        /// A part of a cache series' name (`namespace/tier`): a name without the separator.
        func segment(_ field: String, _ value: String) -> String? {
            name(field, value) ?? (value.contains("/") ? "\(field): no /" : nil)
        }
        /// An API call's route template and method.
        func routeAndMethod(_ route: String, _ method: String) -> String? {
            if let problem = name("route", route) { return problem }
            guard route.hasPrefix("/") else { return "route: a route template starting with /" }
            guard MetricEventBounds.methods.contains(method) else {
                return "method: one of \(MetricEventBounds.methods.sorted().joined(separator: ", "))"
            }
            return nil
        }
        switch self {
        case .apiCall(let call):
            if let problem = routeAndMethod(call.route, call.method) { return problem }
            guard (100...599).contains(call.status) else { return "status: an HTTP status from 100 to 599" }
            if let tenant = call.tenant, let problem = name("tenant", tenant) { return problem }
            if let requestID = call.requestId, let problem = name("requestId", requestID) { return problem }
            return duration(call.durationMs)
        case .apiCallSummary(let summary):
            if let problem = routeAndMethod(summary.route, summary.method) { return problem }
            guard (1...5).contains(summary.statusClass) else { return "statusClass: the status's first digit, 1 to 5" }
            if let namespace = summary.namespace, let problem = segment("namespace", namespace) { return problem }
            guard (summary.tier == nil) == (summary.namespace == nil) else {
                return "tier and namespace: both or neither"
            }
            guard (1...APICallSummaryEvent.maximumPairs).contains(summary.durationsUs.count) else {
                return "durationsUs: 1 to \(APICallSummaryEvent.maximumPairs) [microseconds, calls] pairs"
            }
            let highest = Int(MetricEventBounds.maximumDurationMs * 1000)
            var total = 0
            for (index, pair) in summary.durationsUs.enumerated() {
                guard pair.count == 2, (1...highest).contains(pair[0]), (1...1_000_000_000).contains(pair[1]) else {
                    return "durationsUs[\(index)]: [microseconds from 1 to \(highest), calls from 1 to 10^9]"
                }
                total += pair[1]
            }
            guard total == summary.count else { return "count: must equal the calls in durationsUs (\(total))" }
            return nil
        case .databaseQuery(let query):
            if let problem = name("fingerprint", query.fingerprint) ?? whole("rows", query.rows) { return problem }
            if let route = query.route, !MetricEventBounds.isValidRoute(route) {
                return "route: a route template starting with /"
            }
            if let requestID = query.requestId, let problem = name("requestId", requestID) { return problem }
            return duration(query.durationMs)
        case .cacheOperation(let operation):
            if let problem = segment("namespace", operation.namespace) ?? segment("tier", operation.tier) {
                return problem
            }
            return duration(operation.durationMs)
        case .systemSample(let sample):
            guard sample.cpuUtilisation.isFinite, (0...1).contains(sample.cpuUtilisation) else {
                return "cpuUtilisation: a share from 0 to 1"
            }
            // (Used above total reads as full: a host's counters are not read at one instant.)
            return whole("memoryUsedBytes", sample.memoryUsedBytes) ?? whole(
                "memoryTotalBytes",
                sample.memoryTotalBytes
            )
                ?? whole("diskUsedBytes", sample.diskUsedBytes) ?? whole("diskTotalBytes", sample.diskTotalBytes)
                ?? name("host", sample.host)
        case .finding(let finding):
            if let problem = name("source", finding.source) ?? name("kind", finding.kind) { return problem }
            guard AlertSeverity(rawValue: finding.severity) != nil else { return "severity: info, warning or critical" }
            return whole("count", finding.count)
        }
    }
}

extension DatabaseQueryEvent {
    /// A statement's text as an event's fingerprint: whitespace runs folded to one space, `|` (the series key
    /// separator, and SQL's concatenation operator) written `¦`, and control characters dropped. A text longer than
    /// 256 characters loses its select list first (`SELECT … FROM clients c WHERE ...`: the tables and conditions say
    /// more about a statement than its columns), and is then cut at a character boundary with a hash of the whole
    /// text appended, so two long statements that share a beginning stay two fingerprints. (256 code points: at most
    /// 1 KiB.)
    public static func fingerprint(of statement: String) -> String {
        var folded = ""
        folded.reserveCapacity(min(statement.utf8.count, 512))
        var pendingSpace = false
        for scalar in statement.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                pendingSpace = !folded.isEmpty
                continue
            }
            if pendingSpace {
                folded.unicodeScalars.append(" ")
                pendingSpace = false
            }
            folded.unicodeScalars.append(scalar == "|" ? "\u{A6}" : scalar)
        }
        if folded.isEmpty { return "(empty)" }
        let limit = MetricEventBounds.maximumNameLength
        guard folded.unicodeScalars.count > limit else { return folded }
        folded = Self.elidingSelectList(folded)
        guard folded.unicodeScalars.count > limit else { return folded }
        let suffix = " #" + String(Self.fnv1a(statement), radix: 16)
        var cut = String.UnicodeScalarView(folded.unicodeScalars.prefix(limit - suffix.unicodeScalars.count))
        cut.append(contentsOf: suffix.unicodeScalars)
        return String(cut)
    }

    /// `SELECT a, b, (SELECT ...) FROM t ...` → `SELECT … FROM t ...`: the select list up to the first `FROM` outside
    /// parentheses and quotes, elided. Anything else is returned as it is.
    static func elidingSelectList(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > 7, String(String.UnicodeScalarView(scalars[0..<7])).uppercased() == "SELECT " else {
            return text
        }
        var depth = 0
        var quote: Unicode.Scalar?
        var index = 7
        while index < scalars.count {
            let scalar = scalars[index]
            if let open = quote {
                if scalar == open { quote = nil }
            } else if scalar == "'" || scalar == "\"" {
                quote = scalar
            } else if scalar == "(" {
                depth += 1
            } else if scalar == ")" {
                depth -= 1
            } else if depth == 0, scalar == " ", index + 6 <= scalars.count,
                String(String.UnicodeScalarView(scalars[index..<index + 6])).uppercased() == " FROM "
            {
                return "SELECT …" + String(String.UnicodeScalarView(scalars[index...]))
            }
            index += 1
        }
        return text
    }

    /// FNV-1a over the UTF-8 bytes: stable across processes and runs (Swift's `Hasher` is seeded per process).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
