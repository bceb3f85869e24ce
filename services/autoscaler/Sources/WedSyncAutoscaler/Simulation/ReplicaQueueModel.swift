import Foundation

/// A replica as an M/M/c queue: `workers` servers each taking `serviceTime` on average. Its p95 response time is
/// approximated as the p95 of the wait (from Erlang C) plus the p95 of the service (exponential), which is an upper
/// bound of the true p95 of their sum.
public struct ReplicaQueueModel: Sendable, Equatable {
    public var workers: Int
    public var serviceTime: TimeInterval

    public init(workers: Int, serviceTime: TimeInterval) {
        self.workers = workers
        self.serviceTime = serviceTime
    }

    /// Requests per second the replica completes at full use.
    public var capacity: Double { Double(workers) / serviceTime }

    /// The p95 response time in seconds at `rate` requests per second on one replica; infinity at or past capacity.
    public func p95(rate: Double) -> Double {
        let service95 = log(20) * serviceTime
        guard rate > 0 else { return service95 }
        guard rate < capacity else { return .infinity }
        let offered = rate * serviceTime
        let waiting = Self.erlangC(servers: workers, offered: offered)
        let wait95 = waiting <= 0.05 ? 0 : log(waiting / 0.05) / (capacity - rate)
        return wait95 + service95
    }

    /// The probability that a request waits, for `servers` and `offered` erlangs (below `servers`).
    static func erlangC(servers: Int, offered: Double) -> Double {
        var term = 1.0
        var sum = 1.0
        for k in 1..<max(servers, 1) {
            term *= offered / Double(k)
            sum += term
        }
        let last = term * offered / Double(servers) * Double(servers) / (Double(servers) - offered)
        return last / (sum + last)
    }
}
