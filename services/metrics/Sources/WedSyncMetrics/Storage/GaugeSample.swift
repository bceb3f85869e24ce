import Foundation
import WedSyncServiceKit

/// One reading of a gauge: a system figure (`cpu_utilisation{host=…}`) or a scraped one
/// (`pool_utilisation{service=api,pool=postgres}`). The series is the name and its labels, sorted, in the
/// Prometheus form.
public struct GaugeSample: Sendable, Equatable {
    public var series: String
    public var at: Date
    public var value: Double

    public init(name: String, labels: [String: String] = [:], at: Date, value: Double) {
        series = GaugeSample.series(name, labels)
        self.at = at
        self.value = value
    }

    /// `name{a="1",b="2"}`, labels sorted; `name` alone without labels.
    public static func series(_ name: String, _ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return name }
        let inner = labels.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
        }
        return "\(name){\(inner.joined(separator: ","))}"
    }

    /// The name and labels of a series written by ``series(_:_:)``.
    public static func parse(_ series: String) -> (name: String, labels: [String: String]) {
        PrometheusText.series(series)
    }
}

/// A gauge over a window.
public struct GaugeSummary: Sendable, Equatable {
    public var mean: Double
    public var max: Double
    public var min: Double
    /// The newest bucket's last reading.
    public var last: Double
}
