import Foundation

/// `tests/tools/latency-proxy.py` in front of a PostgreSQL URL's server: the same database, `delayMs` away each way.
package final class LatencyProxy: Sendable {
    /// The URL to connect to instead: the proxy's.
    package let url: String
    /// The port it listens on.
    package let port: Int
    private let process: Process
    private let input: Pipe

    /// Starts one on `listenPort` (a free port when `nil`).
    package init(to databaseURL: String, delayMs: Int, listenPort: Int? = nil) async throws {
        guard let components = URLComponents(string: databaseURL), let host = components.host,
            let port = components.port
        else { throw ServiceProcessError(message: "not a database URL") }
        let listen = try listenPort ?? freePort()
        let root = URL(fileURLWithPath: try TestEnvironment.scriptsDirectory()).deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            root.appendingPathComponent("tests/tools/latency-proxy.py").path, String(listen), host, String(port),
            String(delayMs),
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // "ready" once it listens.
        let line = output.fileHandleForReading.availableDataUntilNewline()
        guard line.hasPrefix("ready") else { throw ServiceProcessError(message: "latency proxy: \(line)") }
        self.process = process
        self.input = input
        self.url = databaseURL.replacingOccurrences(of: "\(host):\(port)", with: "127.0.0.1:\(listen)")
        self.port = listen
    }

    /// Closes its standard input and terminates it: its port and every connection through it close.
    package func stop() {
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}

extension FileHandle {
    /// Reads until a newline or the end.
    fileprivate func availableDataUntilNewline() -> String {
        var bytes = Data()
        while let byte = try? read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
