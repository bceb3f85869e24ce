import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import WedSyncModels

/// A typed HTTP/JSON client for calling another WedSync service.
///
/// - Connections are pooled (AsyncHTTPClient keeps them alive per host).
/// - Every call has a deadline (the client's `timeout`, or one given per call).
/// - The current request's id (``RequestID/current``) travels as `x-request-id`, so one supplier's tap on a phone
///   can be followed through every service it touched.
/// - Failures are ``ServiceClientError``s; a 4xx/5xx answer carries the remote error envelope.
public struct ServiceClient: Sendable {
    /// The dependency's name (`api`, `metrics`), for errors and readiness reports.
    public let name: String
    /// `http://host:port`, without a trailing slash.
    public let baseURL: String
    public let timeout: Duration
    /// The bearer token sent on every call: this service's own credential (`service.token`), or the CDN's.
    private let token: String?
    private let http: HTTPClient
    private let maximumResponseBytes: Int

    public init(
        name: String,
        baseURL: String,
        token: String? = nil,
        timeout: Duration = .seconds(5),
        maximumResponseBytes: Int = 16 << 20,
        httpClient: HTTPClient = ServiceClient.sharedHTTPClient
    ) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.http = httpClient
    }

    /// The process's HTTP client for service-to-service calls: keep-alive connections pooled per host (up to 32),
    /// a 1 s connect timeout, no retrying of refused connections (a peer that is down is reported `unreachable` at
    /// once rather than when the caller's deadline runs out), and no redirects followed (an answer cannot send a
    /// service to an address nobody allowed). Lives as long as the process.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(30))
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    /// A raw answer.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    /// `GET path` and decode the JSON answer.
    public func get<Output: Decodable>(_ path: String, as type: Output.Type = Output.self)
        async throws(ServiceClientError) -> Output
    {
        try decode(type, from: try await send(.GET, path))
    }

    /// `POST path` with a JSON body and decode the JSON answer.
    public func post<Output: Decodable>(_ path: String, body: some Encodable, as type: Output.Type = Output.self)
        async throws(ServiceClientError) -> Output
    {
        try decode(type, from: try await send(.POST, path, json: body))
    }

    /// `PUT path` with a JSON body and decode the JSON answer.
    public func put<Output: Decodable>(_ path: String, body: some Encodable, as type: Output.Type = Output.self)
        async throws(ServiceClientError) -> Output
    {
        try decode(type, from: try await send(.PUT, path, json: body))
    }

    /// `DELETE path`; the answer's body is ignored.
    public func delete(_ path: String) async throws(ServiceClientError) {
        _ = try await send(.DELETE, path)
    }

    /// Sends a JSON body.
    public func send(_ method: HTTPMethod, _ path: String, json body: some Encodable, timeout: Duration? = nil)
        async throws(ServiceClientError) -> Response
    {
        let data: Data
        do {
            data = try WedSyncJSON.makeEncoder().encode(body)
        } catch {
            throw ServiceClientError(
                service: name,
                kind: .invalidRequest,
                message: "the request body could not be encoded: \(error)"
            )
        }
        return try await send(
            method,
            path,
            body: ByteBuffer(bytes: data),
            contentType: "application/json",
            timeout: timeout
        )
    }

    /// Sends a request and returns the answer if its status is below 400; a 4xx/5xx throws with the remote
    /// error envelope.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        body: ByteBuffer? = nil,
        contentType: String? = nil,
        timeout: Duration? = nil
    ) async throws(ServiceClientError) -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "accept", value: "application/json")
        if let body {
            request.body = .bytes(body)
            if let contentType { request.headers.add(name: "content-type", value: contentType) }
        }
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let requestID = RequestID.current { request.headers.add(name: RequestID.headerName, value: requestID) }
        let deadline = timeout ?? self.timeout
        let prepared = request
        let response: Response
        do {
            response = try await withThrowingTaskGroup(of: Response.self) { group in
                // The deadline covers the whole exchange, body included: AsyncHTTPClient's own deadline ends
                // when the headers arrive, and a body that trickles in would otherwise hold the caller.
                group.addTask {
                    let answer = try await http.execute(
                        prepared,
                        timeout: .nanoseconds(Int64(deadline / .nanoseconds(1)))
                    )
                    let buffer = try await answer.body.collect(upTo: maximumResponseBytes)
                    return Response(status: Int(answer.status.code), headers: answer.headers, body: buffer)
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    throw DeadlineExceeded(timeout: deadline)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch {
            throw ServiceClientError(transport: error, service: name, timeout: deadline)
        }
        guard response.status < 400 else {
            let envelope = try? WedSyncJSON.makeDecoder().decode(
                ErrorEnvelope.self,
                from: Data(response.body.readableBytesView)
            )
            throw ServiceClientError(
                service: name,
                kind: .remote,
                status: response.status,
                remote: envelope?.error,
                message: envelope?.error.message ?? "HTTP \(response.status)"
            )
        }
        return response
    }

    private func decode<Output: Decodable>(_ type: Output.Type, from response: Response) throws(ServiceClientError)
        -> Output
    {
        do {
            return try WedSyncJSON.makeDecoder().decode(type, from: Data(response.body.readableBytesView))
        } catch let error as DecodingError {
            throw ServiceClientError(
                service: name,
                kind: .invalidResponse,
                status: response.status,
                message: error.explanation
            )
        } catch {
            throw ServiceClientError(
                service: name,
                kind: .invalidResponse,
                status: response.status,
                message: "\(error)"
            )
        }
    }
}

/// Why a call to another service failed.
public struct ServiceClientError: Error, Sendable, CustomStringConvertible {
    /// The fixed set of failure kinds.
    public enum Kind: String, Sendable {
        /// The service could not be reached (refused, reset, DNS).
        case unreachable
        /// No answer within the deadline.
        case timeout
        /// The service answered 4xx or 5xx; ``ServiceClientError/remote`` holds its error envelope.
        case remote
        /// The answer was not the JSON expected.
        case invalidResponse
        /// The request could not be built.
        case invalidRequest
    }

    public var service: String
    public var kind: Kind
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// The remote error envelope of a 4xx/5xx answer.
    public var remote: ErrorEnvelope.Body?
    public var message: String

    public init(service: String, kind: Kind, status: Int? = nil, remote: ErrorEnvelope.Body? = nil, message: String) {
        self.service = service
        self.kind = kind
        self.status = status
        self.remote = remote
        self.message = message
    }

    init(transport error: any Error, service: String, timeout: Duration) {
        if error is DeadlineExceeded {
            self.init(service: service, kind: .timeout, message: "no answer within \(timeout)")
        } else if let error = error as? HTTPClientError,
            [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error)
        {
            self.init(service: service, kind: .timeout, message: "no answer within \(timeout)")
        } else if error is NIOTooManyBytesError {
            self.init(service: service, kind: .invalidResponse, message: "the answer is too large")
        } else {
            self.init(service: service, kind: .unreachable, message: "\(error)")
        }
    }

    /// Whether the receiver refused the request for good: a 4xx other than 408 (timeout) and 429 (slow down).
    /// Sending the same request again would be refused again.
    public var isPermanentRefusal: Bool {
        guard kind == .remote, let status else { return false }
        return (400..<500).contains(status) && status != 408 && status != 429
    }

    public var description: String {
        switch kind {
        case .remote: "\(service) answered \(status ?? 0): \(remote?.code ?? "error"): \(message)"
        default: "\(service) \(kind.rawValue): \(message)"
        }
    }
}
