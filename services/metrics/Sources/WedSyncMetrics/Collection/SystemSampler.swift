import Foundation
import Logging
import ServiceLifecycle
import WedSyncModels

/// Samples this host's CPU, memory and disk from `/proc` and `statvfs` on an interval, and ingests them as
/// system events like any other (so they are stored, rolled up and kept as acknowledged events are).
public final class SystemSampler: Service, Sendable {
    let ingestor: EventIngestor
    let interval: Duration
    /// A path on the disk to report (the metrics database's).
    let diskPath: String
    let host: String
    let logger: Logger

    public init(ingestor: EventIngestor, interval: Duration = .seconds(10), diskPath: String, logger: Logger) {
        self.ingestor = ingestor
        self.interval = interval
        self.diskPath = diskPath
        host = ProcessInfo.processInfo.hostName
        self.logger = logger
    }

    /// The CPU counters of `/proc/stat`'s first line: busy and total jiffies.
    struct CPUTimes: Equatable {
        var busy: UInt64
        var total: UInt64

        /// `cpu  user nice system idle iowait irq softirq steal ...`; idle and iowait are not busy.
        init?(procStat text: String) {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
            let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            guard fields.count >= 4 else { return nil }
            total = fields.prefix(8).reduce(0, +)
            busy = total - fields[3] - (fields.count > 4 ? fields[4] : 0)
        }

        /// The share of time busy between `earlier` and this reading.
        func utilisation(since earlier: CPUTimes) -> Double? {
            guard total > earlier.total else { return nil }
            return min(1, max(0, Double(busy &- earlier.busy) / Double(total - earlier.total)))
        }
    }

    /// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes.
    static func memory(procMeminfo text: String) -> (total: Int, used: Int)? {
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { continue }
            values[String(parts[0].dropLast())] = kilobytes * 1024
        }
        guard let total = values["MemTotal"], let available = values["MemAvailable"] else { return nil }
        return (total, total - available)
    }

    static func disk(_ path: String) -> (total: Int, used: Int)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let total = Int(stats.f_blocks) * Int(stats.f_frsize)
        let free = Int(stats.f_bfree) * Int(stats.f_frsize)
        return (total, total - free)
    }

    public func run() async throws {
        var previous = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(CPUTimes.init(procStat:))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            let now = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(CPUTimes.init(procStat:))
            defer { previous = now }
            guard let now, let cpu = previous.flatMap({ now.utilisation(since: $0) }),
                let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(
                    Self.memory(procMeminfo:)
                ),
                let disk = Self.disk(diskPath)
            else { continue }
            let sample = SystemSampleEvent(
                timestamp: Date(),
                host: host,
                cpuUtilisation: cpu,
                memoryUsedBytes: memory.used,
                memoryTotalBytes: memory.total,
                diskUsedBytes: disk.used,
                diskTotalBytes: disk.total
            )
            do {
                try await ingestor.submit(bytes: 256, events: [.systemSample(sample)])
            } catch {
                logger.warning("system sample not stored", metadata: ["error": "\(error)"])
            }
        }
    }
}
