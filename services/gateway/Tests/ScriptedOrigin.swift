import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WedSyncTestSupport

/// An origin server for gateway tests, real HTTP on loopback: each path answers what the test scripted, honours
/// `If-None-Match` against the scripted `ETag` with a 304, and every request it gets is recorded.
final class ScriptedOrigin: Sendable {
    struct Reply: Sendable {
        var status = 200
        var headers: [(String, String)] = []
        var body = "{\"ok\":true}"
        var delay: Duration?
        /// Gzip the body for a request that takes gzip, as an origin's own compression does.
        var gzipped = false
        /// Above 1, the body goes in this many parts as they are written, without a `Content-Length`.
        var parts = 1
    }

    struct Seen: Sendable {
        var method: String
        var target: String
        var headers: HTTPFields
        var bodyBytes: Int
    }

    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }
    /// The `/health` answer: 200 while true, 503 otherwise.
    let healthy = Mutex(true)
    private let replies = Mutex<[String: Reply]>([:])
    private let seen = Mutex<[Seen]>([])
    private let task = Mutex<(task: Task<Void, any Error>, group: ServiceGroup)?>(nil)
    /// The body of every 200 adds this origin's name, so tests can tell replicas apart.
    let name: String

    private init(port: Int, name: String) {
        self.port = port
        self.name = name
    }

    /// Starts one on `port`, or on a free port (another one when the first was taken meanwhile).
    static func start(name: String = "origin", port: Int? = nil) async throws -> ScriptedOrigin {
        if let port {
            let origin = ScriptedOrigin(port: port, name: name)
            try await origin.start()
            return origin
        }
        return try await onFreePort { port in
            let origin = ScriptedOrigin(port: port, name: name)
            try await origin.start()
            return origin
        }
    }

    /// Serves (again, after ``stop()``) on the same port.
    func start() async throws {
        let router = Router()
        router.add(middleware: OriginResponder(origin: self))
        // Listening (or failing to) is an event the server reports: waited for, not polled against a deadline.
        let (listening, listened) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: name),
            onServerRunning: { _ in listened.yield(true) },
            logger: Logger(label: "origin")
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "origin")))
        task.withLock {
            $0 = (
                Task {
                    defer { listened.yield(false) }
                    try await group.run()
                }, group
            )
        }
        var events = listening.makeAsyncIterator()
        guard await events.next() == true else {
            _ = task.withLock { task -> Void? in
                task = nil
                return nil
            }
            throw ServiceProcessError(message: "the scripted origin did not listen on \(port)")
        }
    }

    /// Stops: the listener closes, requests in flight finish, idle connections close. (A graceful shutdown:
    /// cancelling the server while it accepts connections can trip an assertion in NIO's async channel.)
    func stop() async {
        let running = task.withLock { task -> (task: Task<Void, any Error>, group: ServiceGroup)? in
            defer { task = nil }
            return task
        }
        guard let running else { return }
        await running.group.triggerGracefulShutdown()
        _ = try? await running.task.value
        let port = self.port
        _ = await eventually(timeout: .seconds(5)) { !acceptsConnections(port: port) }
    }

    func set(_ path: String, _ reply: Reply) {
        replies.withLock { $0[path] = reply }
    }

    func set(_ path: String, status: Int = 200, headers: [(String, String)], body: String = "{\"ok\":true}") {
        set(path, Reply(status: status, headers: headers, body: body))
    }

    /// Requests for `target` (path and query) so far.
    func requests(_ target: String) -> [Seen] {
        seen.withLock { $0.filter { $0.target == target } }
    }

    func count(_ target: String) -> Int { requests(target).count }

    var total: Int { seen.withLock { $0.count } }

    fileprivate func answer(_ request: Request) async -> Response {
        let target = request.head.path ?? request.uri.path
        if request.uri.path == "/health" {
            let healthy = healthy.withLock { $0 }
            return Response(
                status: healthy ? .ok : .serviceUnavailable,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{}"))
            )
        }
        let received = (try? await request.body.collect(upTo: 256 << 20))?.readableBytes ?? -1
        seen.withLock {
            $0.append(
                Seen(method: request.method.rawValue, target: target, headers: request.headers, bodyBytes: received)
            )
        }
        let path = request.uri.path
        guard let reply = replies.withLock({ $0[target] ?? $0[path] }) else {
            return Response(
                status: .notFound,
                headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: "{\"error\":{\"code\":\"not_found\",\"message\":\"unscripted\"}}")
                )
            )
        }
        if let delay = reply.delay { try? await Task.sleep(for: delay) }
        var headers = HTTPFields()
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { headers.append(HTTPField(name: name, value: value)) }
        }
        if let etag = headers[.eTag], let condition = request.headers[.ifNoneMatch],
            condition.split(separator: ",").contains(where: {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "")
                    == etag.replacingOccurrences(of: "W/", with: "")
            })
        {
            return Response(status: .notModified, headers: headers)
        }
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        var body = ByteBuffer(string: reply.body.replacingOccurrences(of: "{origin}", with: name))
        if reply.gzipped, request.headers[.acceptEncoding]?.contains("gzip") == true,
            let compressed = try? body.compress(with: .gzip())
        {
            body = compressed
            headers[.contentEncoding] = "gzip"
        }
        guard reply.parts > 1 else {
            return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: body))
        }
        let size = (body.readableBytes + reply.parts - 1) / reply.parts
        return Response(
            status: .init(code: reply.status),
            headers: headers,
            body: ResponseBody { [body] writer in
                var rest = body
                while let part = rest.readSlice(length: min(size, rest.readableBytes)), part.readableBytes > 0 {
                    try await writer.write(part)
                }
                try await writer.finish(nil)
            }
        )
    }
}

private struct OriginResponder: RouterMiddleware {
    typealias Context = BasicRequestContext
    let origin: ScriptedOrigin

    func handle(
        _ request: Request,
        context: BasicRequestContext,
        next: (Request, BasicRequestContext) async throws -> Response
    ) async throws -> Response {
        await origin.answer(request)
    }
}
