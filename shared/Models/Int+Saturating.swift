extension Int {
    /// The largest integer every JSON client holds exactly (2^53 - 1): the bound of ids and counts in documents.
    public static let maximumJSONSafe = 9_007_199_254_740_991

    /// `value` rounded toward zero, clamped to `Int`'s range (`NaN` is 0): for numbers that come from a planner, a
    /// client or a clock, which may exceed any integer (`Int(1e300)` traps).
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.223_372_036_854_775_807e18 {
            self = .max
        } else if value <= -9.223_372_036_854_775_808e18 {
            self = .min
        } else {
            self = Int(value)
        }
    }
}
