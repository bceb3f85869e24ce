import NIOPosix

/// SQLite calls block their thread: request handlers and services run them on NIO's thread pool, so the two
/// threads of the Swift concurrency pool keep serving.
enum Blocking {
    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
