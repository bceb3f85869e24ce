import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import WedSyncAutoscaler

/// The Kubernetes actuator against a local HTTP server that answers as the API server would and checks what the real
/// one would check: the method, the path, the content type, the body and the bearer token.
@Suite("Autoscaler: the Kubernetes actuator, against a server checking what the API server would")
struct KubernetesActuatorTests {
    /// What the fake API server received.
    struct Received: Sendable, Equatable {
        var method: String
        var path: String
        var contentType: String?
        var authorization: String?
        var body: String
    }

    /// A Deployment of `replicas` (`ready` of them ready) in namespace `wedsync`, behind a bearer token.
    final class FakeAPIServer: Sendable {
        let received = Mutex<[Received]>([])
        let replicas = Mutex<[String: Int]>(["wedsync-api": 2])
        let token: String
        private let running = Mutex<(task: Task<Void, any Error>, group: ServiceGroup)?>(nil)

        init(token: String) { self.token = token }

        func start() async throws -> Int {
            let router = Router()
            router.add(middleware: Responder(server: self))
            let (ports, port) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
            let app = Application(
                router: router,
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) },
                logger: Logger(label: "fake-api-server")
            )
            let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "fake-api-server")))
            running.withLock { $0 = (Task { try await group.run() }, group) }
            var iterator = ports.makeAsyncIterator()
            return await iterator.next() ?? 0
        }

        func stop() async {
            guard let running = running.withLock({ $0 }) else { return }
            await running.group.triggerGracefulShutdown()
            _ = try? await running.task.value
        }

        func answer(_ request: Request) async -> Response {
            let body = (try? await request.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
            received.withLock {
                $0.append(
                    Received(
                        method: request.method.rawValue,
                        path: request.uri.path,
                        contentType: request.headers[.contentType],
                        authorization: request.headers[.authorization],
                        body: body
                    )
                )
            }
            guard request.headers[.authorization] == "Bearer \(token)" else {
                return Self.status(401, "Unauthorized")
            }
            let prefix = "/apis/apps/v1/namespaces/wedsync/deployments/"
            guard request.uri.path.hasPrefix(prefix) else {
                return Self.status(404, "the server could not find the requested resource")
            }
            let rest = request.uri.path.dropFirst(prefix.count).split(separator: "/").map(String.init)
            guard let name = rest.first, let current = replicas.withLock({ $0[name] }) else {
                return Self.status(404, "deployments.apps \"\(rest.first ?? "")\" not found")
            }
            switch (request.method, rest.count) {
            case (.get, 1):
                return Self.json(
                    "{\"kind\":\"Deployment\",\"spec\":{\"replicas\":\(current)},\"status\":{\"replicas\":\(current),\"readyReplicas\":\(max(0, current - 1))}}"
                )
            case (.patch, 2) where rest[1] == "scale":
                guard request.headers[.contentType] == "application/merge-patch+json" else {
                    return Self.status(415, "the body of the request was in an unknown format")
                }
                struct Patch: Decodable {
                    struct Spec: Decodable { var replicas: Int }
                    var spec: Spec
                }
                guard let patch = try? JSONDecoder().decode(Patch.self, from: Data(body.utf8)), patch.spec.replicas >= 0
                else {
                    return Self.status(422, "Scale.autoscaling \"\(name)\" is invalid")
                }
                replicas.withLock { $0[name] = patch.spec.replicas }
                return Self.json(
                    "{\"kind\":\"Scale\",\"spec\":{\"replicas\":\(patch.spec.replicas)},\"status\":{\"replicas\":\(current)}}"
                )
            default:
                return Self.status(405, "the server does not allow this method on the requested resource")
            }
        }

        static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
            Response(
                status: status,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }

        static func status(_ code: Int, _ message: String) -> Response {
            json(
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"\(message)\",\"code\":\(code)}",
                status: .init(code: code)
            )
        }

        struct Responder: RouterMiddleware {
            typealias Context = BasicRequestContext
            let server: FakeAPIServer
            func handle(
                _ request: Request,
                context: BasicRequestContext,
                next: (Request, BasicRequestContext) async throws -> Response
            ) async throws -> Response {
                await server.answer(request)
            }
        }
    }

    static let target = ScalingTarget(name: "api", pool: "api", minReplicas: 1, maxReplicas: 6, metrics: [])

    @Test("Reads spec.replicas and readyReplicas; scales with a merge patch of deployments/{name}/scale and the token")
    func scales() async throws {
        let server = FakeAPIServer(token: "first-token")
        let port = try await server.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token").path
        try "first-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let actuator = try KubernetesActuator(
            settings: .init(apiServer: "http://127.0.0.1:\(port)", namespace: "wedsync", tokenFile: tokenFile)
        )
        #expect(try await actuator.replicas(of: Self.target) == ReplicaCount(current: 2, ready: 1))
        try await actuator.scale(Self.target, to: 5)
        #expect(try await actuator.replicas(of: Self.target).current == 5)
        let patch = server.received.withLock { $0 }[1]
        #expect(
            patch
                == Received(
                    method: "PATCH",
                    path: "/apis/apps/v1/namespaces/wedsync/deployments/wedsync-api/scale",
                    contentType: "application/merge-patch+json",
                    authorization: "Bearer first-token",
                    body: "{\"spec\":{\"replicas\":5}}"
                )
        )
        #expect(server.received.withLock { $0 }[0].method == "GET")
        #expect(server.received.withLock { $0 }[0].path == "/apis/apps/v1/namespaces/wedsync/deployments/wedsync-api")

        // The token rotates: the next request carries the new one. A refused one names the status, not the token.
        try "second-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        do {
            try await actuator.scale(Self.target, to: 3)
            Issue.record("the server accepts only the first token")
        } catch {
            #expect(error.description.contains("answered 401: Unauthorized"))
            #expect(!error.description.contains("second-token"))
        }
        #expect(server.received.withLock { $0 }.last?.authorization == "Bearer second-token")
        // A Deployment that does not exist: the API server's reason.
        var missing = Self.target
        missing.deployment = "wedsync-nothing"
        try "first-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        await #expect(throws: ActuatorError.self) { try await actuator.replicas(of: missing) }
        await actuator.shutdown()
        await server.stop()
    }

    @Test("In a pod: the API server from KUBERNETES_SERVICE_HOST and _PORT, the mounted namespace, token and CA")
    func inCluster() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "wedsync\n".write(
            toFile: directory.appendingPathComponent("namespace").path,
            atomically: true,
            encoding: .utf8
        )
        let settings = KubernetesActuator.Settings.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            directory: directory.path
        )
        #expect(settings?.apiServer == "https://10.96.0.1:443")
        #expect(settings?.namespace == "wedsync")
        #expect(settings?.tokenFile == directory.path + "/token")
        #expect(settings?.caFile == directory.path + "/ca.crt")
        #expect(KubernetesActuator.Settings.inCluster(environment: [:], directory: directory.path) == nil)
    }
}
