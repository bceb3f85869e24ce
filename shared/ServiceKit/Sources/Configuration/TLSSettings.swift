import NIOSSL

/// The TLS listener a service adds beside its plain one (`tls.*`): TLS 1.3 from a PEM certificate chain and key,
/// HTTP/2 or HTTP/1.1 chosen by ALPN. The files are read, and the context made, when the configuration loads: a
/// missing or unreadable certificate stops the service at start with the key named, never at its first client.
///
/// Session resumption: BoringSSL issues TLS 1.3 session tickets and rotates their keys itself, per context, so a
/// phone that comes back to the same process resumes in one round trip without the certificate. Tickets do not
/// cross processes (swift-nio-ssl has no ticket-key API). Early data (0-RTT) is never accepted: BoringSSL ships it
/// off and swift-nio-ssl has no way to turn it on (docs/3g.md).
public struct TLSSettings: Sendable {
    /// The PEM certificate chain, leaf first.
    public var certificateFile: String
    /// The PEM private key (its path only is ever logged).
    public var keyFile: String
    /// The port the TLS listener takes (0 picks a free one).
    public var port: Int

    /// The server context: TLS 1.3 only, ALPN `h2` then `http/1.1`.
    public let context: NIOSSLContext

    public init(certificateFile: String, keyFile: String, port: Int) throws(ConfigurationError) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.port = port
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            guard !chain.isEmpty else {
                throw ConfigurationError(key: "tls.certificate-file", message: "no certificate in \(certificateFile)")
            }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            } catch {
                throw ConfigurationError(key: "tls.key-file", message: "no PEM private key readable in \(keyFile)")
            }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            configuration.minimumTLSVersion = .tlsv13
            configuration.applicationProtocols = ["h2", "http/1.1"]
            context = try NIOSSLContext(configuration: configuration)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(
                key: "tls.certificate-file",
                message: "no usable certificate chain and key in \(certificateFile) and \(keyFile) (\(error))"
            )
        }
    }

    /// `tls.certificate-file`, `tls.key-file` and `tls.port` (8443): `nil` when neither file is set, an error when
    /// only one is.
    static func read(_ settings: Settings) throws(ConfigurationError) -> TLSSettings? {
        let certificate = settings.string("tls.certificate-file").flatMap { $0.isEmpty ? nil : $0 }
        let key = settings.string("tls.key-file").flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            return try TLSSettings(
                certificateFile: certificate,
                keyFile: key,
                port: try settings.int("tls.port", default: 8443, in: 0...65535)
            )
        case (nil, _):
            throw ConfigurationError(key: "tls.certificate-file", message: "required with tls.key-file")
        case (_, nil):
            throw ConfigurationError(key: "tls.key-file", message: "required with tls.certificate-file")
        }
    }
}
