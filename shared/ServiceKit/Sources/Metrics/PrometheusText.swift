/// Reads the Prometheus text exposition the services serve on `/metrics`: samples, their labels, and the
/// connection pool figures every service's pools expose (``PoolReading``).
public enum PrometheusText {
    /// `name{a="1",b="x\"y"}` → the name and its labels (`\\`, `\"` and `\n` unescaped).
    public static func series(_ series: String) -> (name: String, labels: [String: String]) {
        guard let open = series.firstIndex(of: "{"), series.hasSuffix("}") else { return (series, [:]) }
        let name = String(series[..<open])
        var labels: [String: String] = [:]
        var rest = Substring(series[series.index(after: open)..<series.index(before: series.endIndex)])
        while let equals = rest.firstIndex(of: "=") {
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            guard rest.first == "\"" else { break }
            rest = rest.dropFirst()
            var value = ""
            var escaped = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
            }
            labels[key] = value
            if rest.first == "," { rest = rest.dropFirst() }
        }
        return (name, labels)
    }

    /// Every sample of `text` whose name starts with `prefix`: its name, labels and value (a timestamp after the
    /// value is dropped; comments and values that are not finite numbers are skipped).
    public static func samples(in text: String, prefix: String) -> [(
        name: String, labels: [String: String], value: Double
    )] {
        var samples: [(name: String, labels: [String: String], value: Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.hasPrefix(prefix) {
            guard let space = line.lastIndex(of: " ") else { continue }
            var head = String(line[..<space])
            var valueText = String(line[line.index(after: space)...])
            if !head.hasSuffix("}"), let inner = head.lastIndex(of: " ") {
                valueText = String(head[head.index(after: inner)...])
                head = String(head[..<inner])
            }
            guard let value = Double(valueText), value.isFinite else { continue }
            let (name, labels) = series(head)
            samples.append((name, labels, value))
        }
        return samples
    }

    /// The pools `text` exposes (`connection_pool_*`, by their `pool` label), in name order.
    public static func pools(in text: String) -> [PoolReading] {
        var pools: [String: PoolReading] = [:]
        for sample in samples(in: text, prefix: "connection_pool_") {
            let name = sample.labels["pool"] ?? "default"
            var pool = pools[name] ?? PoolReading(pool: name)
            switch sample.name {
            case "connection_pool_connections" where sample.labels["state"] == "in_use": pool.inUse = sample.value
            case "connection_pool_connections" where sample.labels["state"] == "idle": pool.idle = sample.value
            case "connection_pool_max_connections": pool.maximum = sample.value
            case "connection_pool_waiting": pool.waiting = sample.value
            case "connection_pool_acquire_timeouts_total": pool.acquireTimeouts = sample.value
            case "connection_pool_acquire_p99_seconds": pool.acquireP99Seconds = sample.value
            default: continue
            }
            pools[name] = pool
        }
        return pools.values.sorted { $0.pool < $1.pool }
    }
}

/// One connection pool's figures, as its service exposes them.
public struct PoolReading: Sendable, Equatable {
    public var pool: String
    public var inUse: Double = 0
    public var idle: Double = 0
    public var maximum: Double = 0
    public var waiting: Double = 0
    public var acquireTimeouts: Double = 0
    public var acquireP99Seconds: Double?

    public init(pool: String) {
        self.pool = pool
    }

    /// In use over the most allowed; `nil` without a maximum.
    public var utilisation: Double? { maximum > 0 ? inUse / maximum : nil }
}
