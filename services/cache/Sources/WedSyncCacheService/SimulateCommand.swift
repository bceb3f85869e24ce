import Foundation
import WedSyncCacheKit

/// `wedsync-cache simulate --capacity N (--trace FILE | --workload NAME [--accesses N]) [--policy P|all] [--shards N]
/// [--seed N]`: replays a key trace (one key per line; of a CSV or space-separated line, the first field), or one of
/// the synthetic ``Workload`` families, through the real L1 policy and
/// the reference policies (LRU, ARC, W-TinyLFU with a 1% window) and prints the hit ratios side by side, so L1 can be
/// sized before a season. The same trace and settings always give the same figures (`--seed` picks the L1's shard
/// hash; `--shards` the L1's shards, 16 by default, halved until each holds 1,024 entries).
public enum SimulateCommand {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs the command; returns the lines to print. Throws a ``Failure`` naming the bad argument.
    public static func run(_ arguments: [String]) throws -> [String] {
        var capacity: Int?
        var trace: String?
        var policy = "l1"
        var seed = CacheSimulator.defaultSeed
        var shards = L1Configuration().shards
        var workload: Workload?
        var accesses: Int?
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard index + 1 < arguments.count else { throw Failure(description: "\(flag) needs a value") }
            let value = arguments[index + 1]
            switch flag {
            case "--capacity":
                guard let number = Int(value), number > 0 else {
                    throw Failure(description: "--capacity: expected a positive number of entries")
                }
                capacity = number
            case "--trace":
                trace = value
            case "--policy":
                guard value == "all" || CacheSimulator.Policy(rawValue: value) != nil else {
                    throw Failure(description: "--policy: expected l1, lru, arc, wtinylfu or all")
                }
                policy = value
            case "--workload":
                guard let named = Workload.named[value] else {
                    throw Failure(
                        description:
                            "--workload: expected one of \(Workload.named.keys.sorted().joined(separator: ", "))"
                    )
                }
                workload = named
            case "--accesses":
                guard let number = Int(value), number > 0, number <= 100_000_000 else {
                    throw Failure(description: "--accesses: expected a number from 1 to 100000000")
                }
                accesses = number
            case "--shards":
                guard let number = Int(value), number > 0, number & (number - 1) == 0, number <= 1024 else {
                    throw Failure(description: "--shards: expected a power of two from 1 to 1024")
                }
                shards = number
            case "--seed":
                guard let number = UInt64(value) else {
                    throw Failure(description: "--seed: expected a non-negative whole number")
                }
                seed = number
            default:
                throw Failure(description: "unknown option \(flag)")
            }
            index += 2
        }
        let usage =
            "usage: wedsync-cache simulate --capacity N (--trace FILE | --workload NAME [--accesses N]) "
            + "[--policy l1|lru|arc|wtinylfu|all] [--shards N] [--seed N]"
        guard let capacity, (trace == nil) != (workload == nil) else { throw Failure(description: usage) }
        let keys: [String]
        if let workload {
            keys = workload.trace(
                accesses: accesses ?? min(100_000_000, 100 * capacity),
                capacity: capacity,
                seed: seed
            )
        } else if let trace {
            guard let file = fopen(trace, "r") else { throw Failure(description: "--trace: cannot open the file") }
            defer { fclose(file) }
            keys = TraceLines(file: file).keys
            guard !keys.isEmpty else { throw Failure(description: "--trace: the file holds no keys") }
        } else {
            throw Failure(description: usage)
        }
        let policies: [CacheSimulator.Policy] =
            policy == "all" ? CacheSimulator.Policy.allCases : [CacheSimulator.Policy(rawValue: policy)!]
        return policies.map { policy in
            let ratio = CacheSimulator.hitRatio(
                keys,
                capacity: capacity,
                policy: policy,
                shards: shards,
                seed: seed
            )
            return String(
                format: "%@ capacity=%d accesses=%d hit_ratio=%.4f",
                policy.rawValue,
                capacity,
                keys.count,
                ratio
            )
        }
    }
}

/// The keys of a trace file, read once (a trace is replayed once per policy).
private struct TraceLines {
    var keys: [String] = []

    init(file: UnsafeMutablePointer<FILE>) {
        var line: UnsafeMutablePointer<CChar>?
        var size = 0
        defer { free(line) }
        while getline(&line, &size, file) > 0, let line {
            let text = String(cString: line)
            let key = text.prefix { $0 != "," && $0 != " " && $0 != "\t" && $0 != "\n" && $0 != "\r" }
            if !key.isEmpty { keys.append(String(key)) }
        }
    }
}
