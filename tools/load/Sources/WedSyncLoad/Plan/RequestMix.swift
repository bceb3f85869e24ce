/// One kind of request a scenario sends: its label in the results (`GET /api/clients`), and what goes on the wire.
public struct RequestTemplate: Sendable, Equatable {
    /// The endpoint's label: results and thresholds are kept per label.
    public var name: String
    public var method: String
    /// Path and query.
    public var target: String
    public var headers: [Header]
    public var body: String?
    /// Its share of the mix, relative to the others'.
    public var weight: Double
    /// The route template the server counts it under (`/api/clients/{id}`), for the cross-check with the metrics
    /// service; `nil` when the path (without its query) is the template.
    public var route: String?

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        name: String,
        method: String = "GET",
        target: String,
        headers: [Header] = [],
        body: String? = nil,
        weight: Double = 1,
        route: String? = nil
    ) {
        self.name = name
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.weight = weight
        self.route = route
    }

    /// The route template it is counted under: ``route``, else the path without its query.
    public var routeTemplate: String {
        route ?? String(target.prefix { $0 != "?" })
    }
}

/// Picks requests from a weighted mix, reproducibly from a seed.
public struct RequestMix: Sendable {
    public let templates: [RequestTemplate]
    private let cumulative: [Double]

    public init(_ templates: [RequestTemplate]) {
        self.templates = templates
        var sum = 0.0
        cumulative = templates.map { template in
            sum += max(0, template.weight)
            return sum
        }
    }

    /// The index of a template, for a uniform draw `unit` in [0, 1).
    public func pick(_ unit: Double) -> Int {
        guard let total = cumulative.last, total > 0 else { return 0 }
        let point = unit * total
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > point { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// SplitMix64: a small, fast, seedable generator, so a run's request sequence can be repeated.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
