/// Durations as a command line or a scenario file writes them: `500ms`, `30s`, `2m`, `1h`, or a number of seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return .nanoseconds(Int64(value * scale * 1e9))
        }
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { return nil }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
