/// The most frequent items of a stream in bounded memory (Space-Saving, Metwally et al. 2005): `capacity`
/// counters; an unseen item takes over the smallest counter, inheriting its count as possible error. Every item
/// more frequent than `total / capacity` is guaranteed to be among them.
public struct HeavyHitters: Sendable {
    public let capacity: Int
    private var counts: [String: (count: Int, error: Int)] = [:]

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public mutating func record(_ item: String) {
        if let known = counts[item] {
            counts[item] = (known.count + 1, known.error)
        } else if counts.count < capacity {
            counts[item] = (1, 0)
        } else if let smallest = counts.min(by: { $0.value.count < $1.value.count }) {
            counts.removeValue(forKey: smallest.key)
            counts[item] = (smallest.value.count + 1, smallest.value.count)
        }
    }

    /// The items whose guaranteed count (count minus possible error) is at least `minimum`, by guaranteed count.
    public func top(_ limit: Int, minimum: Int = 1) -> [(item: String, count: Int)] {
        counts.map { (item: $0.key, count: $0.value.count - $0.value.error) }
            .filter { $0.count >= minimum }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.item < $1.item }
            .prefix(limit)
            .map { $0 }
    }
}
