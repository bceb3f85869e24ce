import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A WedSync executable started for real, as `scripts/stack` starts it, on a port of its own.
package final class ServiceProcess: @unchecked Sendable {
    package let name: String
    package let port: Int
    package let logPath: String
    private let process = Process()

    package init(_ name: String, port: Int? = nil, environment: [String: String] = [:], arguments: [String] = []) throws
    {
        self.name = name
        self.port = try port ?? freePort()
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).log")
            .path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binDirectory()).appendingPathComponent(name)
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("WEDSYNC_") }
        variables["WEDSYNC_PORT"] = String(self.port)
        variables.merge(TestCredentials.environment(for: name)) { _, new in new }
        variables.merge(environment) { _, new in new }
        process.environment = variables
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        ChildProcesses.register(process.processIdentifier)
    }

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Everything the process wrote so far.
    package var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    package var isRunning: Bool { process.isRunning }

    /// Waits until `path` answers `status` (by default: until `/health` answers at all).
    package func waitUntil(_ path: String = "/health", status: Int = 200, timeout: Duration = .seconds(30)) async throws
    {
        let answered = await eventually(timeout: timeout) {
            guard process.isRunning else { return false }
            return (try? await HTTP.get("\(baseURL)\(path)").status) == status
        }
        guard answered else {
            throw ServiceProcessError(message: "\(name) did not answer \(path) with \(status):\n\(log)")
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status.
    @discardableResult
    package func terminate(timeout: Duration = .seconds(15)) async throws -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        guard await eventually(timeout: timeout, { !process.isRunning }) else {
            kill(process.processIdentifier, SIGKILL)
            throw ServiceProcessError(message: "\(name) ignored SIGTERM for \(timeout)")
        }
        return process.terminationStatus
    }

    /// Kills it with SIGKILL (no chance to flush anything) and waits for it to be gone.
    package func kill9() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await eventually(timeout: .seconds(10)) { !process.isRunning }
    }

    /// Waits for the process to exit on its own.
    package func waitForExit(timeout: Duration = .seconds(15)) async -> Int32? {
        guard await eventually(timeout: timeout, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        ChildProcesses.unregister(process.processIdentifier)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

package struct ServiceProcessError: Error, CustomStringConvertible {
    package let message: String
    package init(message: String) { self.message = message }
    package var description: String { message }
}

/// Plain HTTP calls for tests.
package enum HTTP {
    package struct Answer: Sendable {
        package let status: Int
        package let headers: HTTPHeaders
        package let body: ByteBuffer
        /// The protocol the answer came in (HTTP/2 when ALPN chose it).
        package var version: HTTPVersion = .http1_1
        package var text: String { String(buffer: body) }
        package var data: Data { Data(body.readableBytesView) }
    }

    package static func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.GET, url, headers: headers)
    }

    /// The tests' client: `HTTPClient.shared`'s configuration, but idle connections are let go after 20 s, before
    /// any of our servers closes them (their idle timeout is 60 s). With both at 60 s, a kept-alive connection could
    /// be reused the moment its server closed it (`remoteConnectionClosed`).
    package static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.idleTimeout = .seconds(20)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A client that hands bodies over as sent (no decompression) and follows no redirect.
    package static let raw = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: .init(redirectConfiguration: .disallow, decompression: .disabled)
    )

    package static func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)] = [],
        body: String? = nil,
        client: HTTPClient = HTTP.client
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        return Answer(
            status: Int(response.status.code),
            headers: response.headers,
            body: try await response.body.collect(upTo: 16 << 20),
            version: response.version
        )
    }
}

/// Runs a command with `input` on standard input and `environment` added to the test's; returns its exit status and
/// combined output.
package func run(_ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:])
    async throws -> (status: Int32, output: String)
{
    try await offloaded { try runBlocking(executable, arguments, input: input, environment: environment) }
}

private func runBlocking(_ executable: String, _ arguments: [String], input: Data?, environment: [String: String])
    throws -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
package func acceptsConnections(port: Int) -> Bool {
    guard let connection = try? RawHTTPConnection(port: port) else { return false }
    connection.close()
    return true
}

/// A blocking TCP client on loopback, for tests that need to stop reading or close mid-response.
package final class RawHTTPConnection: @unchecked Sendable {
    private let descriptor: Int32

    package init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            _ = Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    /// Reads until the server closes the connection (`closed`), or `timeout` passes with nothing new.
    package func receiveUntilClosed(timeout: Int = 20) -> (text: String, closed: Bool) {
        let (bytes, closed) = receiveBytesUntilClosed(timeout: timeout)
        return (String(decoding: bytes, as: UTF8.self), closed)
    }

    /// ``receiveUntilClosed(timeout:)`` as the bytes came (binary protocols: HTTP/2 frames).
    package func receiveBytesUntilClosed(timeout: Int = 20) -> (bytes: [UInt8], closed: Bool) {
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { return (received, count == 0) }
            received += buffer[0..<count]
        }
    }

    package func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw POSIXError(.EIO) }
    }

    /// Reads until at least `count` bytes have arrived.
    package func receive(atLeast count: Int) throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < count {
            let n = read(descriptor, &buffer, buffer.count)
            guard n > 0 else { throw POSIXError(.ECONNRESET) }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// An orderly close (FIN), as a browser tab or an app closing its connection.
    package func close() {
        _ = Glibc.close(descriptor)
    }
}

/// Every child process the tests started, killed when the test process exits: fixtures shared through statics are
/// never deinitialized, and their processes must not outlive the run.
package enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installed: Bool = {
        atexit { ChildProcesses.killAll() }
        return true
    }()

    package static func register(_ pid: Int32) {
        _ = installed
        pids.withLock { _ = $0.insert(pid) }
    }

    package static func unregister(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    package static func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
