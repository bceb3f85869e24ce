import Foundation

/// The Mann-Whitney U test on two latency histograms, one-sided (is the second sample larger?), by the normal
/// approximation with the tie correction; with Cliff's delta as the effect size. Values in one histogram slot are
/// ties (slots are 0.1% wide), so the test costs one pass over the slots, not a sort of every sample.
public struct MannWhitney: Sendable, Equatable {
    /// U of the second sample: the number of pairs in which it is larger, ties counting one half.
    public var u: Double
    public var z: Double
    /// One-sided: P(U at least this large) were both samples from one distribution.
    public var pValue: Double
    /// Cliff's delta: P(second larger) − P(second smaller), −1 to 1.
    public var cliffsDelta: Double

    /// `nil` when either sample is empty.
    public init?(baseline: SparseDurations, current: SparseDurations) {
        let n1 = Double(baseline.total)
        let n2 = Double(current.total)
        guard n1 > 0, n2 > 0 else { return nil }
        let slots = Set(baseline.counts.keys).union(current.counts.keys).sorted()
        var baselineBelow = 0.0
        var u = 0.0
        var tieTerm = 0.0
        for slot in slots {
            let a = Double(baseline.counts[slot] ?? 0)
            let b = Double(current.counts[slot] ?? 0)
            u += b * (baselineBelow + a / 2)
            baselineBelow += a
            let tied = a + b
            tieTerm += tied * tied * tied - tied
        }
        let n = n1 + n2
        let mean = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        self.u = u
        cliffsDelta = 2 * u / (n1 * n2) - 1
        guard variance > 0 else {
            // Every value tied: no evidence either way.
            z = 0
            pValue = 1
            return
        }
        // Continuity correction toward the mean.
        z = (u - mean - 0.5) / variance.squareRoot()
        pValue = 0.5 * erfc(z / 2.0.squareRoot())
    }

    /// Romano et al.'s thresholds for Cliff's delta.
    public static func magnitude(of delta: Double) -> String {
        switch abs(delta) {
        case ..<0.147: "negligible"
        case ..<0.33: "small"
        case ..<0.474: "medium"
        default: "large"
        }
    }
}
