import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What a ``RedisSubscriber`` reports, in order.
public enum RedisSubscriberEvent: Sendable, Equatable {
    /// Every channel and pattern is subscribed: messages published from now on arrive. Sent on the first
    /// subscription and again after every reconnection.
    case subscribed
    /// The subscription dropped (server restart, network, no answer to a heartbeat). Messages published until the
    /// next ``subscribed`` are lost, so a consumer that caches must treat what it holds as suspect.
    case disconnected(reason: String)
    /// A message on `channel`; `pattern` is the pattern it matched, for pattern subscriptions.
    case message(channel: String, pattern: String?, payload: [UInt8])
}

/// A Redis pub/sub subscription that survives the server: it reconnects with exponential backoff and subscribes
/// again, reporting each drop and each return in ``events``.
///
/// It runs on a thread of its own (hiredis blocks), polls the socket so that it can stop promptly, and sends a
/// `PING` when the line has been quiet for a heartbeat interval so that a half-open connection is noticed.
public final class RedisSubscriber: Service, Sendable {
    /// The node it subscribes on first; ``fallbacks`` are tried in turn when it cannot be reached.
    public let configuration: RedisConfiguration
    /// Other nodes to subscribe on (a cluster's other seeds: cluster buses forward every `PUBLISH` to every node).
    public let fallbacks: [RedisConfiguration]
    public let channels: [String]
    public let patterns: [String]
    /// The subscription's events; iterate it from one task.
    public let events: AsyncStream<RedisSubscriberEvent>

    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let logger: Logger
    private let heartbeat: Duration
    private let maximumBackoff: Duration
    private let stopped = Atomic(false)
    private let subscribed = Atomic(false)

    /// - Parameters:
    ///   - heartbeat: quiet time after which a `PING` is sent, and the time its answer may take.
    ///   - maximumBackoff: the longest wait between reconnection attempts (they start at 50 ms and double).
    public init(
        configuration: RedisConfiguration,
        fallbacks: [RedisConfiguration] = [],
        channels: [String],
        patterns: [String] = [],
        heartbeat: Duration = .seconds(5),
        maximumBackoff: Duration = .seconds(2),
        logger: Logger
    ) {
        precondition(!channels.isEmpty || !patterns.isEmpty, "subscribe to at least one channel or pattern")
        self.configuration = configuration
        self.fallbacks = fallbacks
        self.channels = channels
        self.patterns = patterns
        self.heartbeat = heartbeat
        self.maximumBackoff = maximumBackoff
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Whether the subscription is live right now.
    public var isSubscribed: Bool { subscribed.load(ordering: .relaxed) }

    /// Subscribes and delivers events until graceful shutdown or cancellation; then ``events`` finishes.
    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        defer { continuation.finish() }
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await thread.runIfActive { self.subscribeLoop() }
            } onCancelOrGracefulShutdown: {
                self.stopped.store(true, ordering: .relaxed)
            }
        } catch {
            // Cancelled before the thread picked the loop up: nothing ran, nothing to undo but the thread.
            try? await thread.shutdownGracefully()
            throw error
        }
        try await thread.shutdownGracefully()
    }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func subscribeLoop() {
        var backoff = Duration.milliseconds(50)
        let nodes = [configuration] + fallbacks
        var node = 0
        while !isStopped {
            var context: HiredisContext
            do {
                context = try HiredisContext.connect(nodes[node % nodes.count], commandTimeout: nil)
            } catch {
                logger.debug(
                    "redis subscriber cannot connect",
                    metadata: ["redis.error": "\(error)", "redis.node": "\(nodes[node % nodes.count])"]
                )
                node += 1
                pause(backoff)
                backoff = min(backoff * 2, maximumBackoff)
                continue
            }
            let reason = listen(on: &context, resetBackoff: { backoff = .milliseconds(50) })
            context.free()
            // The next attempt goes to the next node: this one may be the one that failed.
            node += 1
            if subscribed.exchange(false, ordering: .relaxed) {
                logger.warning("redis subscription lost", metadata: ["redis.reason": "\(reason)"])
                continuation.yield(.disconnected(reason: reason))
            }
            if !isStopped {
                pause(backoff)
                backoff = min(backoff * 2, maximumBackoff)
            }
        }
    }

    /// Subscribes on a fresh connection and delivers messages until it fails or the subscriber stops; returns why.
    private func listen(on context: inout HiredisContext, resetBackoff: () -> Void) -> String {
        do {
            if !channels.isEmpty { try context.send(["SUBSCRIBE"] + channels.map { RedisArgument($0) }) }
            if !patterns.isEmpty { try context.send(["PSUBSCRIBE"] + patterns.map { RedisArgument($0) }) }
            var unconfirmed = channels.count + patterns.count
            let connectedAt = ContinuousClock.now
            var lastHeard = connectedAt
            var pingSentAt: ContinuousClock.Instant?
            while !isStopped {
                guard context.waitReadable(timeout: .milliseconds(100)) else {
                    let now = ContinuousClock.now
                    if unconfirmed > 0, now - connectedAt > heartbeat * 2 {
                        return "no confirmation of the subscription"
                    }
                    if let pingSentAt {
                        if now - pingSentAt > heartbeat { return "no answer to a heartbeat PING" }
                    } else if now - lastHeard > heartbeat {
                        try context.send(["PING"])
                        pingSentAt = now
                    }
                    continue
                }
                lastHeard = .now
                pingSentAt = nil
                for reply in try context.readAvailable() {
                    if case .error(let text) = reply {
                        // A refused SUBSCRIBE (NOAUTH, NOPERM) would otherwise leave a connection that answers
                        // heartbeats but delivers nothing. Drop it and try again, loudly.
                        let refusal = RedisError.reply(text)
                        logger.warning(
                            "redis refused the subscription",
                            metadata: ["redis.reply": "\(refusal.message)"]
                        )
                        return "the server refused: \(refusal.message)"
                    }
                    guard let parts = reply.array, let kind = parts.first?.string else { continue }
                    switch kind {
                    case "subscribe", "psubscribe":
                        unconfirmed -= 1
                        if unconfirmed == 0 {
                            subscribed.store(true, ordering: .relaxed)
                            resetBackoff()
                            logger.debug("redis subscription live", metadata: ["redis.channels": "\(channels.count)"])
                            continuation.yield(.subscribed)
                        }
                    case "message" where parts.count == 3:
                        continuation.yield(
                            .message(channel: parts[1].string ?? "", pattern: nil, payload: parts[2].bytes ?? [])
                        )
                    case "pmessage" where parts.count == 4:
                        continuation.yield(
                            .message(
                                channel: parts[2].string ?? "",
                                pattern: parts[1].string,
                                payload: parts[3].bytes ?? []
                            )
                        )
                    default:
                        break  // "pong" answers a heartbeat
                    }
                }
            }
            return "stopped"
        } catch {
            return error.message
        }
    }

    /// Sleeps the subscriber's thread, waking early when it is stopped.
    private func pause(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !isStopped, ContinuousClock.now < deadline {
            let slice = min(deadline - ContinuousClock.now, .milliseconds(20))
            let (seconds, attoseconds) = slice.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            nanosleep(&request, nil)
        }
    }
}
