import Foundation
import WedSyncModels

/// A request-rate trace: the mean requests per second over each fixed step from a start instant. On disk: a header line `# start=2027-03-01T00:00:00Z step-seconds=300`, then one rate a line.
public struct RateTrace: Sendable, Equatable {
    public var start: Date
    public var step: TimeInterval
    public var rates: [Double]

    public init(start: Date, step: TimeInterval, rates: [Double]) {
        self.start = start
        self.step = step
        self.rates = rates
    }

    /// The instant after the last point.
    public var end: Date { start.addingTimeInterval(step * Double(rates.count)) }

    /// The rate at `instant`: each point is the mean rate over its step (as a metrics export records it), so the
    /// rate is constant within a step and changes at its boundary; 0 outside the trace.
    public func rate(at instant: Date) -> Double {
        let position = instant.timeIntervalSince(start) / step
        guard position >= 0, !rates.isEmpty else { return 0 }
        let index = Int(position)
        return index < rates.count ? rates[index] : 0
    }

    /// Why a trace file was refused, with its line.
    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public init(parsing text: String) throws(FormatError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first, header.hasPrefix("#") else {
            throw FormatError(line: 1, message: "needs a header: # start=<ISO 8601> step-seconds=<n>")
        }
        var fields: [String: String] = [:]
        for part in header.dropFirst().split(separator: " ") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let startText = fields["start"], let start = ISO8601DateFormatter().date(from: startText) else {
            throw FormatError(line: 1, message: "start= must be an ISO 8601 instant")
        }
        guard let stepText = fields["step-seconds"], let step = Double(stepText), step >= 1 else {
            throw FormatError(line: 1, message: "step-seconds= must be a number of seconds, at least 1")
        }
        var rates: [Double] = []
        rates.reserveCapacity(lines.count)
        for (offset, line) in lines.dropFirst().enumerated() {
            guard let rate = Double(line), rate >= 0, rate.isFinite else {
                throw FormatError(
                    line: offset + 2,
                    message: "\(line.prefix(40)) is not a rate (requests per second, >= 0)"
                )
            }
            rates.append(rate)
        }
        guard !rates.isEmpty else { throw FormatError(line: 2, message: "the trace has no rates") }
        self.init(start: start, step: step, rates: rates)
    }

    /// The file's text.
    public var text: String {
        var out = "# start=\(ISO8601DateFormatter().string(from: start)) step-seconds=\(Int(step))\n"
        out.reserveCapacity(rates.count * 7)
        for rate in rates { out += String(format: "%.1f\n", rate) }
        return out
    }
}

extension WeddingBooking {
    /// Bookings as CSV: `start,time-zone,weddings`, a header line first.
    public static func csv(_ bookings: [WeddingBooking]) -> String {
        let formatter = ISO8601DateFormatter()
        return "start,time-zone,weddings\n"
            + bookings.map { "\(formatter.string(from: $0.start)),\($0.timeZone),\($0.weddings)\n" }.joined()
    }

    /// Parses ``csv(_:)``.
    public static func parse(csv text: String) throws(RateTrace.FormatError) -> [WeddingBooking] {
        let formatter = ISO8601DateFormatter()
        var bookings: [WeddingBooking] = []
        for (offset, line) in text.split(separator: "\n").enumerated() where offset > 0 {
            let parts = line.split(separator: ",").map(String.init)
            guard parts.count == 3, let start = formatter.date(from: parts[0]), TimeZone(identifier: parts[1]) != nil,
                let weddings = Int(parts[2]), weddings >= 0
            else {
                throw RateTrace.FormatError(line: offset + 1, message: "expected start,time-zone,weddings")
            }
            bookings.append(WeddingBooking(start: start, timeZone: parts[1], weddings: weddings))
        }
        return bookings.sorted { $0.start < $1.start }
    }
}
