import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import WedSyncServiceKit

/// A request on its way to an upstream: what the client sent, with the hop-by-hop fields gone and the gateway's
/// own added.
public struct ForwardRequest: Sendable {
    public var method: HTTPMethod
    /// Path and query, as the client sent them.
    public var target: String
    public var headers: HTTPHeaders
    public var body: ForwardBody?
    /// Safe to send again to another replica: an idempotent method and no body.
    public var isReplayable: Bool

    public init(
        method: HTTPMethod,
        target: String,
        headers: HTTPHeaders,
        body: ForwardBody? = nil,
        isReplayable: Bool
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.isReplayable = isReplayable
    }
}

/// A request body on its way upstream, streamed as the client sends it.
public struct ForwardBody: Sendable {
    public var chunks: any AsyncSequence<ByteBuffer, any Error> & Sendable
    /// Its `Content-Length`, when the client sent one (else it goes chunked).
    public var length: Int64?

    public init(chunks: any AsyncSequence<ByteBuffer, any Error> & Sendable, length: Int64?) {
        self.chunks = chunks
        self.length = length
    }
}

/// An upstream's answer, its body still streaming.
public struct UpstreamResponse: Sendable {
    public var status: Int
    /// The end-to-end fields (``ProxyHeaders/endToEnd(_:)``), converted once as they arrive.
    public var headers: HTTPFields
    public var body: UpstreamBody
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
    let body: UpstreamBody
    let lease: ReplicaLease

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: UpstreamBody.AsyncIterator
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
///
/// Plain `http` replicas are spoken to over the gateway's own keep-alive connections (``UpstreamConnectionPool``):
/// nothing per request beyond writing the head and parsing the answer. `https` replicas go through AsyncHTTPClient.
public final class UpstreamClient: Service, Sendable {
    let http: HTTPClient
    let logger: Logger
    private let connectTimeout: Duration
    private let readTimeout: Duration
    private let connectionsPerReplica: Int
    private let connectionPools = Mutex<[String: UpstreamConnectionPool]>([:])

    /// Statuses after which a replayable request is tried on another replica.
    static let retriableStatuses: Set<Int> = [502, 503, 504]

    /// A client that keeps up to `connectionsPerReplica` idle keep-alive connections to each replica, takes
    /// `connectTimeout` at most to open one and `readTimeout` between two reads of a response, follows no
    /// redirect and decompresses nothing (the gateway passes bodies as they are).
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
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.connectionsPerReplica = connectionsPerReplica
    }

    public func shutdown() async {
        let pools = connectionPools.withLock { Array($0.values) }
        for pool in pools { pool.shutdown() }
        try? await http.shutdown()
    }

    /// Keeps the client until graceful shutdown, then closes its connections (register it before the services
    /// that use it, so it stops after them).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// The keep-alive connections to an `http` replica.
    private func connectionPool(for address: UpstreamAddress) -> UpstreamConnectionPool {
        connectionPools.withLock { pools in
            let key = "\(address.host):\(address.port)"
            if let pool = pools[key] { return pool }
            let pool = UpstreamConnectionPool(
                host: address.host,
                port: address.port,
                group: MultiThreadedEventLoopGroup.singleton,
                connectTimeout: connectTimeout,
                readTimeout: readTimeout,
                maximumIdle: connectionsPerReplica,
                // Below the services' own keep-alive (Hummingbird closes after 60 s idle in ours).
                idleTimeout: .seconds(50)
            )
            pools[key] = pool
            return pool
        }
    }

    /// One attempt at `replica`: its response head and streaming body.
    private func attempt(
        _ request: ForwardRequest,
        at address: UpstreamAddress,
        timeout: Duration,
        preferring eventLoop: (any EventLoop)?
    ) async throws -> (status: Int, headers: HTTPHeaders, body: UpstreamBody) {
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        guard address.scheme == "http" else {
            var outgoing = HTTPClientRequest(url: address.baseURL + request.target)
            outgoing.method = request.method
            outgoing.headers = request.headers
            if let body = request.body {
                outgoing.body = .stream(body.chunks, length: body.length.map { .known($0) } ?? .unknown)
            }
            let response = try await http.execute(outgoing, deadline: deadline, logger: logger)
            return (Int(response.status.code), response.headers, UpstreamBody(source: .client(response.body)))
        }
        let pool = connectionPool(for: address)
        var headers = request.headers
        if !headers.contains(name: "host") { headers.add(name: "host", value: pool.hostField) }
        if let body = request.body {
            if let length = body.length {
                headers.replaceOrAdd(name: "content-length", value: String(length))
            } else {
                headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            }
        } else if [.POST, .PUT, .PATCH].contains(request.method) {
            headers.replaceOrAdd(name: "content-length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target, headers: headers)
        let (response, body, upload) = try await pool.execute(
            head: head,
            body: request.body?.chunks,
            replayable: request.isReplayable,
            deadline: deadline,
            preferring: eventLoop
        )
        return (Int(response.status.code), response.headers, UpstreamBody(source: .connection(body, upload)))
    }

    /// Sends `request` to `pool` within `timeout` (to the response head, per attempt), making up to `retries`
    /// extra attempts. `eventLoop`, the client connection's, is where a new upstream connection is opened.
    public func send(
        _ request: ForwardRequest,
        to pool: UpstreamPool,
        timeout: Duration,
        retries: Int,
        preferring eventLoop: (any EventLoop)? = nil
    ) async throws(ServiceError) -> UpstreamResponse {
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
            do {
                let response = try await self.attempt(
                    request,
                    at: replica.address,
                    timeout: timeout,
                    preferring: eventLoop
                )
                let status = response.status
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
                if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled
                    || (error as? UpstreamConnectionError)?.kind == .cancelled
                {
                    replica.abandon(admission)
                    throw ServiceError(.badGateway, code: "cancelled", message: "the request was cancelled")
                }
                replica.finish(latency: nil, failed: true, at: now, configuration: pool.configuration)
                let timedOut =
                    (error as? HTTPClientError).map { $0 == .deadlineExceeded || $0 == .readTimeout }
                    ?? (error as? UpstreamConnectionError).map {
                        $0.kind == .deadlineExceeded || $0.kind == .readTimeout
                    }
                    ?? false
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
