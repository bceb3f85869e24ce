import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import WedSyncServiceKit

/// A request on its way to an upstream: what the client sent, with the hop-by-hop fields gone and the gateway's
/// own added.
public struct ForwardRequest: Sendable {
    public var method: HTTPMethod
    /// Path and query, as the client sent them.
    public var target: String
    public var headers: HTTPHeaders
    public var body: HTTPClientRequest.Body?
    /// Safe to send again to another replica: an idempotent method and no body.
    public var isReplayable: Bool

    public init(
        method: HTTPMethod,
        target: String,
        headers: HTTPHeaders,
        body: HTTPClientRequest.Body? = nil,
        isReplayable: Bool
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.isReplayable = isReplayable
    }
}

/// An upstream's answer, its body still streaming.
public struct UpstreamResponse: Sendable {
    public var status: Int
    /// The end-to-end fields (``ProxyHeaders/endToEnd(_:)``), converted once as they arrive.
    public var headers: HTTPFields
    public var body: HTTPClientResponse.Body
    /// The replica that answered, `host:port`.
    public var replica: String
    /// From the first attempt to the response head (every attempt included).
    public var elapsed: Duration
    /// Attempts made, the answering one included.
    public var attempts: Int
    /// Holds the replica as in flight until the body is done (or the response dropped).
    let lease: ReplicaLease

    /// The body, releasing the replica when it ends.
    var streamedBody: ResponseBodyStream { ResponseBodyStream(body: body, lease: lease) }
}

/// An upstream body that releases its replica when it ends, fails, or is dropped.
struct ResponseBodyStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: HTTPClientResponse.Body
    let lease: ReplicaLease

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        let lease: ReplicaLease

        mutating func next() async throws -> ByteBuffer? {
            do {
                guard let chunk = try await base.next() else {
                    lease.release()
                    return nil
                }
                return chunk
            } catch {
                lease.release()
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator(), lease: lease)
    }
}

/// Sends requests to a pool's replicas: picks one, applies the route's timeout, and retries a replayable request
/// on another replica after a connection failure or a 502/503/504, within the pool's retry budget. Every outcome
/// feeds the replica's latency average and circuit.
public final class UpstreamClient: Service, Sendable {
    let http: HTTPClient
    let logger: Logger

    /// Statuses after which a replayable request is tried on another replica.
    static let retriableStatuses: Set<Int> = [502, 503, 504]

    /// A client with keep-alive pools of up to `connectionsPerReplica` connections, `connectTimeout` to open one,
    /// `readTimeout` between two reads of a response,
    /// no redirect following and no decompression (the gateway passes bodies as they are).
    public init(
        connectTimeout: Duration,
        readTimeout: Duration = .seconds(30),
        connectionsPerReplica: Int = 256,
        logger: Logger
    ) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerReplica
        configuration.connectionPool.idleTimeout = .seconds(60)
        // The read timeout bounds a stall between two reads of a response (the route's timeout ends at its head).
        configuration.timeout = .init(
            connect: .nanoseconds(Int64(connectTimeout / .nanoseconds(1))),
            read: .nanoseconds(Int64(readTimeout / .nanoseconds(1)))
        )
        configuration.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        self.logger = logger
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Keeps the client until graceful shutdown, then closes its connections (register it before the services
    /// that use it, so it stops after them).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Sends `request` to `pool` within `timeout` (to the response head, per attempt), making up to `retries`
    /// extra attempts.
    public func send(_ request: ForwardRequest, to pool: UpstreamPool, timeout: Duration, retries: Int)
        async throws(ServiceError) -> UpstreamResponse
    {
        let started = ContinuousClock.now
        var tried = Set<String>()
        var attempt = 0
        var lastError: ServiceError?
        pool.recordRequest()
        while true {
            attempt += 1
            guard let (replica, admission) = pool.pick(excluding: tried) else {
                throw lastError
                    ?? ServiceError(
                        .serviceUnavailable,
                        code: "no_upstream",
                        message: "the \(pool.name) pool has no replica to take the request"
                    )
            }
            tried.insert(replica.address.address)
            let attemptStart = ContinuousClock.now
            var outgoing = HTTPClientRequest(url: replica.address.baseURL + request.target)
            outgoing.method = request.method
            outgoing.headers = request.headers
            if let body = request.body { outgoing.body = body }
            do {
                let response = try await http.execute(
                    outgoing,
                    deadline: .now() + TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1))),
                    logger: logger
                )
                let status = Int(response.status.code)
                let now = ContinuousClock.now
                replica.record(
                    latency: now - attemptStart,
                    failed: status >= 500,
                    at: now,
                    configuration: pool.configuration
                )
                if request.isReplayable, Self.retriableStatuses.contains(status), attempt <= retries,
                    pool.hasAlternative(to: tried), pool.allowRetry()
                {
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    replica.release()
                    lastError = ServiceError(
                        .badGateway,
                        code: "upstream_error",
                        message: "the upstream answered \(status)"
                    )
                    continue
                }
                return UpstreamResponse(
                    status: status,
                    headers: ProxyHeaders.endToEnd(response.headers),
                    body: response.body,
                    replica: replica.address.address,
                    elapsed: now - started,
                    attempts: attempt,
                    lease: ReplicaLease(replica)
                )
            } catch {
                let now = ContinuousClock.now
                if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
                    replica.abandon(admission)
                    throw ServiceError(.badGateway, code: "cancelled", message: "the request was cancelled")
                }
                replica.finish(latency: nil, failed: true, at: now, configuration: pool.configuration)
                let timedOut =
                    (error as? HTTPClientError).map { $0 == .deadlineExceeded || $0 == .readTimeout } ?? false
                let failure =
                    timedOut
                    ? ServiceError(
                        .gatewayTimeout,
                        code: "upstream_timeout",
                        message: "the upstream did not answer within \(timeout)"
                    )
                    : ServiceError(
                        .badGateway,
                        code: "upstream_unavailable",
                        message: "the upstream could not be reached"
                    )
                logger.debug(
                    "upstream attempt failed",
                    metadata: [
                        "upstream.pool": "\(pool.name)", "upstream.replica": "\(replica.address.address)",
                        "error": "\(error)",
                    ]
                )
                // A timeout used the route's whole time: only connection failures are tried again.
                if !timedOut, request.isReplayable, attempt <= retries, pool.hasAlternative(to: tried),
                    pool.allowRetry()
                {
                    lastError = failure
                    continue
                }
                throw failure
            }
        }
    }
}
