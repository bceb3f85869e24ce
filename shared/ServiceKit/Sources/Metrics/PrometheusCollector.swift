/// Metrics that write themselves out when `/metrics` is read, beside the registry's (``PrometheusMetrics/render()``):
/// for figures kept in a form of their own, such as per-thread shards summed only when read (``ShardedTimer``).
/// Register one with ``PrometheusMetrics/register(_:)``; it is asked for as long as it lives.
public protocol PrometheusCollector: AnyObject, Sendable {
    /// Writes the collector's metric families.
    func collect(into exposition: inout PrometheusExposition)
}

/// The Prometheus text exposition format (version 0.0.4), written family by family.
public struct PrometheusExposition: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Starts a family: its `# HELP` and `# TYPE` lines. Its samples follow, before the next family.
    public mutating func family(_ name: String, type: String, help: String) {
        append("# HELP \(name) ")
        for character in help.unicodeScalars {
            switch character {
            case "\\": append("\\\\")
            case "\n": append("\\n")
            default: append(String(character))
            }
        }
        append("\n# TYPE \(name) \(type)\n")
    }

    /// One sample: `name{labels} value`.
    public mutating func sample(_ name: String, labels: [(String, String)], value: String) {
        append(name)
        if !labels.isEmpty {
            append("{")
            for (index, (label, text)) in labels.enumerated() {
                if index > 0 { append(",") }
                append(label)
                append("=\"")
                for character in text.unicodeScalars {
                    switch character {
                    case "\\": append("\\\\")
                    case "\"": append("\\\"")
                    case "\n": append("\\n")
                    default: append(String(character))
                    }
                }
                append("\"")
            }
            append("}")
        }
        append(" ")
        append(value)
        append("\n")
    }

    /// A histogram's samples (`_bucket` per bound of ``ShardedTimer/bounds`` and `+Inf`, `_sum` in seconds,
    /// `_count`) from a snapshot.
    public mutating func histogram(_ name: String, labels: [(String, String)], _ snapshot: ShardedTimer.Snapshot) {
        var cumulative = 0
        for (index, bound) in ShardedTimer.bounds.enumerated() {
            cumulative += snapshot.buckets[index]
            sample("\(name)_bucket", labels: labels + [("le", "\(Double(bound) / 1e9)")], value: "\(cumulative)")
        }
        sample("\(name)_bucket", labels: labels + [("le", "+Inf")], value: "\(snapshot.count)")
        sample("\(name)_sum", labels: labels, value: "\(Double(snapshot.sumNanoseconds) / 1e9)")
        sample("\(name)_count", labels: labels, value: "\(snapshot.count)")
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}
