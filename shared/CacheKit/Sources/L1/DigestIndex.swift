/// The slots of a shard's entries by their keys' digests (``HashedKey``): open addressing with linear probing over
/// 24-byte buckets that hold the digest itself, so a lookup reads one cache line of the table and never the key's
/// bytes, where a `Dictionary` keyed by the string reads its bitmap, its key, its value and the key's bytes. Kept at
/// most half full; a removal shifts the rest of its run back over the hole, so no lookup meets a tombstone.
struct DigestIndex: Sendable {
    private struct Bucket {
        var hash: UInt64
        var check: UInt64
        /// The entry's slot; -1 when the bucket is empty.
        var slot: Int32
    }

    private static let initialBuckets = 64
    private var buckets = Array(repeating: Bucket(hash: 0, check: 0, slot: -1), count: initialBuckets)
    private var mask = initialBuckets - 1
    /// 64 minus the bits of a bucket number.
    private var shift = UInt64(64 - initialBuckets.trailingZeroBitCount)
    private(set) var count = 0

    /// The key's first bucket: the top bits of its hash times the golden ratio (Fibonacci hashing), so the buckets
    /// do not depend on the low bits that chose the shard.
    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The slot of `key`, if it is in the index.
    func slot(of key: HashedKey) -> Int32? {
        let (hash, check) = (key.unsignedHash, key.check)
        return buckets.withUnsafeBufferPointer { buckets in
            var index = home(hash)
            while true {
                let bucket = buckets[index]
                if bucket.slot < 0 { return nil }
                if bucket.hash == hash && bucket.check == check { return bucket.slot }
                index = (index + 1) & mask
            }
        }
    }

    /// Adds `key`, which is not in the index, at `slot`.
    mutating func insert(_ key: HashedKey, slot: Int32) {
        if (count + 1) * 2 > buckets.count { grow() }
        place(Bucket(hash: key.unsignedHash, check: key.check, slot: slot))
        count += 1
    }

    /// Removes `key`; whether it was there.
    @discardableResult
    mutating func remove(_ key: HashedKey) -> Bool {
        let (hash, check) = (key.unsignedHash, key.check)
        var hole = home(hash)
        while true {
            if buckets[hole].slot < 0 { return false }
            if buckets[hole].hash == hash && buckets[hole].check == check { break }
            hole = (hole + 1) & mask
        }
        var next = hole
        while true {
            next = (next + 1) & mask
            guard buckets[next].slot >= 0 else { break }
            // The entry at `next` stays unless the hole lies between its first bucket and it (cyclically).
            let wanted = home(buckets[next].hash)
            let stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if stays { continue }
            buckets[hole] = buckets[next]
            hole = next
        }
        buckets[hole].slot = -1
        count -= 1
        return true
    }

    mutating func removeAll() { self = DigestIndex() }

    private mutating func place(_ bucket: Bucket) {
        var index = home(bucket.hash)
        while buckets[index].slot >= 0 { index = (index + 1) & mask }
        buckets[index] = bucket
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: Bucket(hash: 0, check: 0, slot: -1), count: old.count * 2)
        mask = buckets.count - 1
        shift -= 1
        for bucket in old where bucket.slot >= 0 { place(bucket) }
    }
}
