import Foundation

/// SplitMix64: a small, fast, well-distributed generator whose whole state is one `UInt64`, so every row can have
/// its own generator derived from the seed, the table and the row id, and the data is the same whatever order
/// (or concurrency) it is generated in.
public struct SeedRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The generator of row `id` of `stream` (one stream per table or purpose) for `seed`.
    init(seed: UInt64, stream: UInt64, id: Int) {
        state = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(bitPattern: Int64(id)) &* 0xBF58_476D_1CE4_E5B9)
        _ = next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// `true` with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    /// One of `items`, uniformly.
    mutating func pick<Item>(_ items: [Item]) -> Item {
        items[Int.random(in: 0..<items.count, using: &self)]
    }

    /// An index of `weights`, with probability proportional to its weight.
    mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var target = unit() * total
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return weights.count - 1
    }

    /// A standard normal variate (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
