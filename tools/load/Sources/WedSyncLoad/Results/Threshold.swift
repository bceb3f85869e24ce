import Foundation

/// A pass/fail rule on a run's figures, written as k6 writes them: `p(95)<200`, `p(99)<=500`, `avg<100`,
/// `med<50`, `max<2000` (milliseconds), or `rate<0.01` (the share of requests that failed).
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
    public enum Statistic: Sendable, Equatable {
        case percentile(Double)
        case average
        case median
        case maximum
        case failureRate
    }

    public enum Comparison: String, Sendable, Equatable {
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    public var statistic: Statistic
    public var comparison: Comparison
    public var limit: Double
    /// The text it was parsed from.
    public var description: String

    /// Parses a rule; `nil` when it is not one.
    public init?(_ text: String) {
        let trimmed = text.filter { !$0.isWhitespace }
        let operators: [Comparison] = [.lessOrEqual, .greaterOrEqual, .less, .greater]
        guard let comparison = operators.first(where: { trimmed.contains($0.rawValue) }),
            let range = trimmed.range(of: comparison.rawValue)
        else { return nil }
        let name = trimmed[..<range.lowerBound]
        guard let limit = Double(trimmed[range.upperBound...]), limit.isFinite else { return nil }
        switch name {
        case "avg": statistic = .average
        case "med": statistic = .median
        case "max": statistic = .maximum
        case "rate": statistic = .failureRate
        default:
            guard name.hasPrefix("p("), name.hasSuffix(")"), let value = Double(name.dropFirst(2).dropLast()),
                value > 0, value <= 100
            else { return nil }
            statistic = .percentile(value)
        }
        self.comparison = comparison
        self.limit = limit
        description = trimmed
    }

    /// The figure this rule reads from `series`.
    public func value(of series: LatencySeries) -> Double {
        switch statistic {
        case .percentile(let percentile): series.milliseconds(at: percentile)
        case .average: series.meanMilliseconds
        case .median: series.milliseconds(at: 50)
        case .maximum: series.maxMilliseconds
        case .failureRate: series.failureRate
        }
    }

    public func holds(for series: LatencySeries) -> Bool {
        let value = value(of: series)
        switch comparison {
        case .less: return value < limit
        case .lessOrEqual: return value <= limit
        case .greater: return value > limit
        case .greaterOrEqual: return value >= limit
        }
    }
}
