import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Offers load to a target by a ``LoadModel`` and records every outcome, each measured from its intended start.
///
/// - Open model: the arrival schedule (``ArrivalSchedule``) decides when each request is due, whatever the server
///   is doing. Due requests go to the first idle one of `connections` keep-alive connections or wait in a queue;
///   either way their latency counts from when they were due (no coordinated omission, as wrk2 measures).
/// - Closed model: each virtual user has its own connection and sends each request a think time after its last
///   answer (the first a think time after the start), as k6's virtual users do.
public struct LoadRunner: Sendable {
    public var target: LoadTarget
    public var mix: RequestMix
    public var model: LoadModel
    /// Open model: the connections kept to the target.
    public var connections: Int
    /// The longest a request may take before its connection is closed and it counts as failed.
    public var timeout: Duration
    /// After the last arrival, how long requests still queued or running may take.
    public var drainTimeout: Duration
    public var seed: UInt64
    /// Per-user rows for requests that name `{{fields}}`.
    public var data: LoadData?
    /// Addresses the connections are made from, in turn (a user, or an open model's connection, keeps one); empty
    /// for the system's choice. Many loopback addresses make one machine look like many phones to per-address
    /// rate limits.
    public var sourceAddresses: [SocketAddress]
    /// Closed model: each user stops after this many requests, even before the duration is up (as k6's
    /// per-VU-iterations executor); `nil` for no limit.
    public var iterationsPerUser: Int?

    public init(
        target: LoadTarget,
        mix: RequestMix,
        model: LoadModel,
        connections: Int = 64,
        timeout: Duration = .seconds(30),
        drainTimeout: Duration = .seconds(10),
        seed: UInt64 = 1,
        data: LoadData? = nil,
        sourceAddresses: [SocketAddress] = []
    ) {
        self.target = target
        self.mix = mix
        self.model = model
        self.connections = max(1, connections)
        self.timeout = timeout
        self.drainTimeout = drainTimeout
        self.seed = seed
        self.data = data
        self.sourceAddresses = sourceAddresses
    }

    /// `count` loopback addresses to send from (127.0.1.1, 127.0.1.2, ...: Linux answers on all of 127.0.0.0/8), or
    /// `nil` when `target` is not on loopback (another machine would not route the answers back).
    public static func loopbackSources(_ count: Int, for target: LoadTarget) -> [SocketAddress]? {
        guard target.host == "localhost" || target.host.hasPrefix("127."), (1...60_000).contains(count) else {
            return nil
        }
        return (0..<count).compactMap { index in
            try? SocketAddress(ipAddress: "127.0.\(1 + index / 250).\(1 + index % 250)", port: 0)
        }
    }

    /// The address connection or user `index` sends from.
    private func source(_ index: Int) -> SocketAddress? {
        sourceAddresses.isEmpty ? nil : sourceAddresses[index % sourceAddresses.count]
    }

    /// One second of a run, for the live line and the per-second points.
    public struct Tick: Sendable {
        public var elapsed: Duration
        public var interval: LatencySeries
        /// Open model: requests due and waiting for a connection now.
        public var queued: Int
    }

    /// What the run did besides its outcomes.
    public struct Facts: Sendable {
        public var elapsed: Duration
        /// Requests the model made due.
        public var scheduled: Int
        /// Requests still queued when the drain time ran out: never sent, not in the outcomes.
        public var dropped: Int
        /// The most requests that waited for a connection at once.
        public var queuedAtMost: Int
        /// This process's CPU time (user and system) during the run.
        public var cpuSeconds: Double
    }

    /// This process's CPU time so far, user and system, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Runs the model; `onTick` is called about once a second.
    public func run(
        recorder: LatencyRecorder,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onTick: (@Sendable (Tick) -> Void)? = nil
    ) async -> Facts {
        let factory = RequestFactory(templates: mix.templates, target: target, data: data)
        let requests = factory.encoded
        let started = ContinuousClock.now
        let cpuAtStart = Self.processCPUSeconds()
        let counts = RunCounts()
        let queue = JobQueue()
        await withTaskGroup(of: Bool.self) { tasks in
            // The live figures, until the load is over.
            if let onTick {
                tasks.addTask {
                    var second = 1
                    while !Task.isCancelled {
                        try? await Task.sleep(until: started + .seconds(second), clock: .continuous)
                        if Task.isCancelled { break }
                        onTick(
                            Tick(elapsed: .seconds(second), interval: recorder.takeInterval(), queued: queue.queued)
                        )
                        second += 1
                    }
                    return false
                }
            }
            var workers = 0
            switch model {
            case .open(let stages):
                for connection in 0..<connections {
                    workers += 1
                    tasks.addTask {
                        await serve(requests, from: source(connection), group: group, recorder: recorder) {
                            await queue.next()
                        }
                        return true
                    }
                }
                let scheduled = await dispatch(stages, from: started, into: queue, factory: factory)
                counts.withLock { $0.scheduled = scheduled }
                let drainTimeout = drainTimeout
                tasks.addTask {
                    try? await Task.sleep(for: drainTimeout)
                    if !Task.isCancelled {
                        let dropped = queue.abandon()
                        counts.withLock { $0.dropped = dropped }
                    }
                    return false
                }
            case .closed(let users, let thinkTime, let duration):
                let end = started + duration
                for user in 0..<users {
                    workers += 1
                    let mix = mix
                    let seed = seed &+ UInt64(user) &* 0x9E37_79B9
                    tasks.addTask {
                        var random = SplitMix64(seed: seed)
                        var sent = 0
                        let limit = iterationsPerUser ?? .max
                        await serve(requests, from: source(user), group: group, recorder: recorder) {
                            // A user thinks before each request, the first too: users arrive spread over the think
                            // time, as people do, rather than all in the same millisecond.
                            let pause =
                                thinkTime.minimum + (thinkTime.maximum - thinkTime.minimum) * random.unit()
                            if pause > .zero { try? await Task.sleep(for: pause) }
                            let now = ContinuousClock.now
                            guard now < end, sent < limit, !Task.isCancelled else { return nil }
                            sent += 1
                            counts.withLock { $0.scheduled += 1 }
                            return factory.job(
                                template: mix.pick(random.unit()),
                                intended: now,
                                row: user,
                                random: &random
                            )
                        }
                        return true
                    }
                }
            }
            // Every worker done: stop the ticker and the drain timer.
            while workers > 0, let isWorker = await tasks.next() {
                if isWorker { workers -= 1 }
            }
            tasks.cancelAll()
        }
        counts.withLock { $0.queuedAtMost = queue.highWater }
        let (scheduled, dropped, queuedAtMost) = counts.withLock { ($0.scheduled, $0.dropped, $0.queuedAtMost) }
        return Facts(
            elapsed: ContinuousClock.now - started,
            scheduled: scheduled,
            dropped: dropped,
            queuedAtMost: queuedAtMost,
            cpuSeconds: Self.processCPUSeconds() - cpuAtStart
        )
    }

    /// Runs jobs from `next` on connections to the target until it has none.
    private func serve(
        _ requests: [EncodedRequest],
        from source: SocketAddress?,
        group: any EventLoopGroup,
        recorder: LatencyRecorder,
        next: () async -> Job?
    ) async {
        await HTTPConnection.serve(
            target: target,
            group: group,
            requests: requests,
            source: source,
            timeout: timeout,
            recorder: recorder,
            next: next
        )
    }

    /// Makes the schedule's requests due at their times: it wakes when the next is due and queues every request
    /// due by then. Returns how many it queued.
    private func dispatch(
        _ stages: [RateStage],
        from started: ContinuousClock.Instant,
        into queue: JobQueue,
        factory: RequestFactory
    ) async -> Int {
        var random = SplitMix64(seed: seed)
        var schedule = ArrivalSchedule(stages: stages).makeIterator()
        var count = 0
        var upcoming = schedule.next()
        while let offset = upcoming {
            let due = started + .nanoseconds(Int64(offset * 1e9))
            if due > ContinuousClock.now {
                try? await Task.sleep(until: due, tolerance: .zero, clock: .continuous)
            }
            let now = ContinuousClock.now
            var next: Double? = offset
            while let time = next, started + .nanoseconds(Int64(time * 1e9)) <= now {
                let template = mix.pick(random.unit())
                let row = Int(random.next() % UInt64(factory.rowCount))
                queue.push(
                    factory.job(
                        template: template,
                        intended: started + .nanoseconds(Int64(time * 1e9)),
                        row: row,
                        random: &random
                    )
                )
                count += 1
                next = schedule.next()
            }
            upcoming = next
        }
        queue.finish()
        return count
    }
}

/// What a run counts besides its outcomes, shared by its tasks.
private final class RunCounts: Sendable {
    private let state = Mutex<(scheduled: Int, dropped: Int, queuedAtMost: Int)>((0, 0, 0))

    func withLock<Result>(_ body: (inout (scheduled: Int, dropped: Int, queuedAtMost: Int)) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}
