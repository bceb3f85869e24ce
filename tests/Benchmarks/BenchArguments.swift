import Foundation

/// `command --key value --flag` parsing, enough for a benchmark program.
struct BenchArguments {
    let command: String
    private let values: [String: String]

    init(_ arguments: [String]) {
        command = arguments.dropFirst().first ?? ""
        var values: [String: String] = [:]
        var index = 2
        while index < arguments.count {
            let key = arguments[index]
            guard key.hasPrefix("--") else { index += 1; continue }
            if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                values[String(key.dropFirst(2))] = arguments[index + 1]
                index += 2
            } else {
                values[String(key.dropFirst(2))] = "true"
                index += 1
            }
        }
        self.values = values
    }

    func string(_ key: String) throws -> String {
        guard let value = values[key] else { throw BenchError("missing --\(key)") }
        return value
    }

    func int(_ key: String, default defaultValue: Int) -> Int { values[key].flatMap { Int($0) } ?? defaultValue }

    func flag(_ key: String) -> Bool { values[key] == "true" }

    func list(_ key: String, default defaultValue: [Int]) -> [Int] {
        values[key].map { $0.split(separator: ",").compactMap { Int($0) } } ?? defaultValue
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints one measurement as a JSON line.
func report(_ fields: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

/// This process's resident memory now, in bytes (from /proc/self/status).
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// p50, p90, p95, p99 and max of `values` (nearest rank).
func percentiles(_ values: [Double]) -> [String: Double] {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return [:] }
    func at(_ q: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }
    return ["p50": at(0.5), "p90": at(0.9), "p95": at(0.95), "p99": at(0.99), "max": sorted.last ?? 0]
}
