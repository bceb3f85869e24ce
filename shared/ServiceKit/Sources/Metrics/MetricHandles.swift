import Metrics
import Synchronization

/// A counter and a timer per set of dimension values, made once and kept: looking a metric up in the factory costs
/// far more than recording into it, and a request path records on every request. The keys must be bounded (route
/// templates, methods, status classes), never raw input.
public final class MetricHandles<Key: Hashable & Sendable>: Sendable {
    private let handles = Mutex<[Key: (counter: Counter, timer: Metrics.Timer)]>([:])
    private let make: @Sendable (Key) -> (counter: Counter, timer: Metrics.Timer)

    public init(make: @escaping @Sendable (Key) -> (counter: Counter, timer: Metrics.Timer)) {
        self.make = make
    }

    /// The counter and timer of `key`.
    public func callAsFunction(_ key: Key) -> (counter: Counter, timer: Metrics.Timer) {
        if let found = handles.withLock({ $0[key] }) { return found }
        let made = make(key)
        return handles.withLock { handles in
            if let found = handles[key] { return found }
            handles[key] = made
            return made
        }
    }
}
