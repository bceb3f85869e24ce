import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// A certificate authority of the test process's own and a server certificate it signed for `localhost` and
/// 127.0.0.1 (P-256, as `scripts/stack` makes them), made once with `openssl` in a temporary directory.
package struct TestCertificates: Sendable {
    /// The CA's certificate (PEM), the one trust root of the clients below.
    package let caFile: String
    /// The server's certificate chain and key (PEM).
    package let certificateFile: String
    package let keyFile: String

    private static let made = Mutex<Task<TestCertificates, any Error>?>(nil)

    /// The process's certificates, made on first use.
    package static func shared() async throws -> TestCertificates {
        let task = made.withLock { task in
            if let task { return task }
            let created = Task { try await make() }
            task = created
            return created
        }
        return try await task.value
    }

    /// The environment that gives a service a TLS listener on `port` with these certificates.
    package func environment(port: Int) -> [String: String] {
        [
            "WEDSYNC_TLS_CERTIFICATE_FILE": certificateFile, "WEDSYNC_TLS_KEY_FILE": keyFile,
            "WEDSYNC_TLS_PORT": String(port),
        ]
    }

    private static func make() async throws -> TestCertificates {
        let directory = TestEnvironment.temporaryPath("tls", suffix: "")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = "/usr/bin/openssl"
        let ca = (key: "\(directory)/ca.key", pem: "\(directory)/ca.pem")
        let leaf = (key: "\(directory)/server.key", csr: "\(directory)/server.csr", pem: "\(directory)/server.pem")
        let extensions = "\(directory)/server.ext"
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for arguments in [
            ["req", "-x509"] + curve + [
                "-keyout", ca.key, "-out", ca.pem, "-days", "7", "-subj", "/CN=WedSync test CA",
            ],
            ["req"] + curve + ["-keyout", leaf.key, "-out", leaf.csr, "-subj", "/CN=localhost"],
            [
                "x509", "-req", "-in", leaf.csr, "-CA", ca.pem, "-CAkey", ca.key, "-CAcreateserial", "-out", leaf.pem,
                "-days", "7", "-extfile", extensions,
            ],
        ] {
            let (status, output) = try await run(openssl, arguments)
            guard status == 0 else {
                throw ShellError(script: "openssl " + arguments.joined(separator: " "), status: status, output: output)
            }
        }
        return TestCertificates(caFile: ca.pem, certificateFile: leaf.pem, keyFile: leaf.key)
    }

    /// A client that trusts only the test CA; `http1Only` refuses to offer HTTP/2 in ALPN, `maximumVersion` caps
    /// the TLS version it offers. Bodies are handed over as sent.
    package func client(http1Only: Bool = false, maximumVersion: TLSVersion? = nil) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        if let maximumVersion { tls.maximumTLSVersion = maximumVersion }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            decompression: .disabled
        )
        configuration.httpVersion = http1Only ? .http1Only : .automatic
        configuration.connectionPool.idleTimeout = .seconds(20)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
