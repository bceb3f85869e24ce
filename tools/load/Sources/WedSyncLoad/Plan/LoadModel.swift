import Foundation

/// How load is offered: by a fixed number of virtual users that each wait for their answer (closed), or at a rate
/// that does not care how fast answers come (open). Only the open model shows what a server's slow moments cost
/// the people arriving during them: a closed model's users stop asking while it is slow.
public enum LoadModel: Sendable, Equatable {
    /// `users` virtual users, each sending its next request a think time after its last answer.
    case closed(users: Int, thinkTime: ThinkTime, duration: Duration)
    /// Requests arrive at a rate given by `stages`, each ramping linearly from the rate before it (0 at the start)
    /// to its target over its duration.
    case open(stages: [RateStage])

    /// How long the model offers load.
    public var duration: Duration {
        switch self {
        case .closed(_, _, let duration): duration
        case .open(let stages): stages.reduce(.zero) { $0 + $1.duration }
        }
    }
}

/// A pause between a virtual user's answer and its next request: uniform between the bounds.
public struct ThinkTime: Sendable, Equatable {
    public var minimum: Duration
    public var maximum: Duration

    public init(minimum: Duration, maximum: Duration) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
    }

    public static let none = ThinkTime(minimum: .zero, maximum: .zero)

    /// `MIN..MAX` (`1s..3s`), or one duration for a fixed pause; `nil` when it is neither.
    public init?(parsing text: String) {
        let parts = text.components(separatedBy: "..")
        guard parts.count <= 2, let low = DurationText.parse(parts[0]),
            let high = DurationText.parse(parts.count == 2 ? parts[1] : parts[0])
        else { return nil }
        self.init(minimum: low, maximum: high)
    }
}

/// One stage of an open model: over `duration`, the arrival rate moves linearly to `target` requests per second.
public struct RateStage: Sendable, Equatable {
    public var duration: Duration
    public var target: Double

    public init(duration: Duration, target: Double) {
        self.duration = duration
        self.target = target
    }

    /// A constant rate: a stage that starts at its target (no ramp from the rate before).
    public static func constant(_ rate: Double, for duration: Duration) -> [RateStage] {
        [RateStage(duration: .zero, target: rate), RateStage(duration: duration, target: rate)]
    }
}
