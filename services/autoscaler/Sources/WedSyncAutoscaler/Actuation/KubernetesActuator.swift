import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Scales a Deployment through the Kubernetes API server, as the HorizontalPodAutoscaler controller does: it reads
/// the Deployment (`spec.replicas`, `status.readyReplicas`) and sets `spec.replicas` with a JSON merge patch of its
/// `scale` subresource. It authenticates with a service-account token, read again before every request (projected
/// tokens rotate), and trusts the cluster's CA. The role it needs: `get` on `deployments` and `patch` on
/// `deployments/scale` in its namespace.
public final class KubernetesActuator: ReplicaActuator {
    /// Where the API server is and how to reach it.
    public struct Settings: Sendable, Equatable {
        /// `https://kubernetes.default.svc` in a cluster.
        public var apiServer: String
        public var namespace: String
        public var tokenFile: String
        /// The cluster's CA bundle (PEM); `nil` trusts the system's roots.
        public var caFile: String?

        public init(apiServer: String, namespace: String, tokenFile: String, caFile: String? = nil) {
            self.apiServer = apiServer
            self.namespace = namespace
            self.tokenFile = tokenFile
            self.caFile = caFile
        }

        /// The mounted service account of a pod: its API server from `KUBERNETES_SERVICE_HOST` and `_PORT`, its
        /// namespace, token and CA under `/var/run/secrets/kubernetes.io/serviceaccount`. `nil` outside a cluster.
        public static func inCluster(
            environment: [String: String] = ProcessInfo.processInfo.environment,
            directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
        ) -> Settings? {
            guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
                let namespace = try? String(contentsOfFile: directory + "/namespace", encoding: .utf8)
            else { return nil }
            let bracketed = host.contains(":") ? "[\(host)]" : host
            return Settings(
                apiServer: "https://\(bracketed):\(port)",
                namespace: namespace.trimmingCharacters(in: .whitespacesAndNewlines),
                tokenFile: directory + "/token",
                caFile: directory + "/ca.crt"
            )
        }
    }

    public let settings: Settings
    let http: HTTPClient

    public init(settings: Settings) throws(ActuatorError) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(15))
        if let caFile = settings.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw ActuatorError(target: "kubernetes", message: "cannot read the CA bundle \(caFile)")
            }
            configuration.tlsConfiguration = tls
        }
        self.settings = settings
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    func deploymentPath(_ target: ScalingTarget) -> String {
        "/apis/apps/v1/namespaces/\(settings.namespace)/deployments/\(target.deployment)"
    }

    public func replicas(of target: ScalingTarget) async throws(ActuatorError) -> ReplicaCount {
        let body = try await send(.GET, deploymentPath(target), body: nil, contentType: nil, target: target)
        struct Deployment: Decodable {
            struct Spec: Decodable { var replicas: Int? }
            struct Status: Decodable { var readyReplicas: Int? }
            var spec: Spec
            var status: Status?
        }
        guard let deployment = try? JSONDecoder().decode(Deployment.self, from: body) else {
            throw ActuatorError(target: target.name, message: "the API server's Deployment did not decode")
        }
        return ReplicaCount(current: deployment.spec.replicas ?? 1, ready: deployment.status?.readyReplicas ?? 0)
    }

    public func scale(_ target: ScalingTarget, to replicas: Int) async throws(ActuatorError) {
        let patch = Data("{\"spec\":{\"replicas\":\(replicas)}}".utf8)
        _ = try await send(
            .PATCH,
            deploymentPath(target) + "/scale",
            body: patch,
            contentType: "application/merge-patch+json",
            target: target
        )
    }

    func send(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String?, target: ScalingTarget)
        async throws(ActuatorError) -> Data
    {
        guard let token = try? String(contentsOfFile: settings.tokenFile, encoding: .utf8) else {
            throw ActuatorError(
                target: target.name,
                message: "cannot read the service-account token \(settings.tokenFile)"
            )
        }
        var request = HTTPClientRequest(url: settings.apiServer + path)
        request.method = method
        request.headers.add(
            name: "Authorization",
            value: "Bearer \(token.trimmingCharacters(in: .whitespacesAndNewlines))"
        )
        request.headers.add(name: "Accept", value: "application/json")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let status: UInt
        let data: Data
        do {
            let response = try await http.execute(request, timeout: .seconds(15))
            status = response.status.code
            var buffer = try await response.body.collect(upTo: 4 << 20)
            data = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw ActuatorError(target: target.name, message: "the API server could not be reached: \(type(of: error))")
        }
        guard (200..<300).contains(status) else {
            // A Status object names why; it never echoes the token.
            struct Status: Decodable { var message: String? }
            let reason = (try? JSONDecoder().decode(Status.self, from: data))?.message ?? "no reason given"
            throw ActuatorError(
                target: target.name,
                message: "\(method.rawValue) \(path) answered \(status): \(reason.prefix(200))"
            )
        }
        return data
    }
}
