import WedSyncModels

extension Int {
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
