import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit
import WedSyncTestSupport

/// One WedSync API for the API tests: a database of its own on the test server, migrated and seeded (two
/// organizations, the first large enough that its exports outgrow every socket buffer), the API serving it on
/// loopback, and a receiver standing in for the cache and metrics services that records what the API sends them.
final class APIFixture: Sendable {
    let base: String
    let databaseName: String
    let database: PostgresPool
    let receiver: Receiver
    let components: APIApplication.Components
    /// Bearer tokens of a supplier of organization 1 and of organization 2.
    let tokenOne: String
    let tokenTwo: String

    static let adminToken = TestCredentials.admin

    private init(
        base: String,
        databaseName: String,
        database: PostgresPool,
        receiver: Receiver,
        components: APIApplication.Components,
        tokenOne: String,
        tokenTwo: String
    ) {
        self.base = base
        self.databaseName = databaseName
        self.database = database
        self.receiver = receiver
        self.components = components
        self.tokenOne = tokenOne
        self.tokenTwo = tokenTwo
    }

    private static let instance = Mutex<Task<APIFixture, any Error>?>(nil)

    /// The fixture, set up by the first test that asks.
    static func shared() async throws -> APIFixture {
        let task = instance.withLock { task in
            if let task { return task }
            let created = Task { try await APIFixture.start() }
            task = created
            return created
        }
        return try await task.value
    }

    private static func start() async throws -> APIFixture {
        let logger = Logger(label: "api-test")
        let serverURL = try TestEnvironment.databaseURL()
        let databaseName = "api_test_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = PostgresPool(
            name: "admin",
            configuration: try PostgresConfiguration(url: serverURL),
            logger: logger
        )
        try await admin.withConnection { connection in
            try await connection.simpleQuery("CREATE DATABASE \(databaseName)")
        }
        await admin.shutdown()
        let url = serverURL.replacingOccurrences(of: "/wedsync", with: "/\(databaseName)")
        let database = PostgresPool(name: "fixture", configuration: try PostgresConfiguration(url: url), logger: logger)
        try await Migrator(pool: database, logger: logger).migrate()
        let anchor = CalendarDay(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400))
        _ = try await SeedGenerator(
            options: SeedOptions(scale: 0.1, organizations: 2, anchor: anchor),
            pool: database,
            logger: logger
        ).run()

        let receiver = try await Receiver.start()
        let port = try freePort()
        let configuration = try await ServiceConfiguration.load(
            service: "wedsync-api",
            defaultPort: port,
            arguments: ["wedsync-api"],
            environment: [
                "WEDSYNC_ADMIN_TOKEN": adminToken,
                "WEDSYNC_SERVICE_CALLERS": TestCredentials.callers,
                // The API on PgBouncer's transaction pool, as in the scaled tier (the fixture itself seeds directly).
                "WEDSYNC_DATABASE_URL": TestEnvironment.throughPgBouncer(url),
                "WEDSYNC_CACHE_URL": receiver.base,
                "WEDSYNC_METRICS_URL": receiver.base,
                "WEDSYNC_OPTIMIZER_URL": receiver.base,
                "WEDSYNC_API_DASHBOARD_REFRESH_MS": "500",
                "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        let service = ServiceBuilder(configuration: configuration, summary: "test")
        let components = try await APIApplication.configure(service)
        let group = ServiceGroup(configuration: .init(services: [service.buildApplication()], logger: logger))
        Task { try await group.run() }
        let base = "http://127.0.0.1:\(port)"
        _ = await eventually { (try? await HTTP.get("\(base)/health").status) == 200 }

        let tokens = TokenStore(database: components.database)
        return APIFixture(
            base: base,
            databaseName: databaseName,
            database: database,
            receiver: receiver,
            components: components,
            tokenOne: try await tokens.issue(organization: 1),
            tokenTwo: try await tokens.issue(organization: 2)
        )
    }

    /// `GET` with a supplier's token (and any other headers).
    func get(_ path: String, token: String?, headers: [(String, String)] = []) async throws -> HTTP.Answer {
        try await HTTP.send(
            .GET,
            base + path,
            headers: (token.map { [("Authorization", "Bearer \($0)")] } ?? []) + headers
        )
    }

    func send(_ method: HTTPMethod, _ path: String, token: String?, body: String?, headers: [(String, String)] = [])
        async throws -> HTTP.Answer
    {
        try await HTTP.send(
            method,
            base + path,
            headers: (token.map { [("Authorization", "Bearer \($0)")] } ?? []) + [("Content-Type", "application/json")]
                + headers,
            body: body
        )
    }

    /// The first column of the first row of `sql`, run on the fixture's database.
    func scalar<Value: PostgresDecodable>(_ type: Value.Type, _ query: PostgresQuery) async throws -> Value {
        try await database.query(query)[0].decode(Value.self, at: 0)
    }
}

/// A stand-in for the cache and metrics services: answers every POST 200 and keeps the bodies by path.
final class Receiver: Sendable {
    let base: String
    private let bodies = Mutex<[(path: String, body: Data)]>([])

    private init(base: String) {
        self.base = base
    }

    static func start() async throws -> Receiver {
        let port = try freePort()
        let receiver = Receiver(base: "http://127.0.0.1:\(port)")
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        router.post("/**") { request, context -> String in
            let body = try await request.body.collect(upTo: 16 << 20)
            receiver.bodies.withLock { $0.append((request.uri.path, Data(body.readableBytesView))) }
            return "{}"
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        Task { try await app.runService() }
        _ = await eventually { (try? await HTTP.get("\(receiver.base)/health").status) == 200 }
        return receiver
    }

    /// The invalidation requests received so far.
    var invalidations: [InvalidationRequest] {
        bodies.withLock { $0 }.filter { $0.path == APIPath.Cache.invalidations }.compactMap {
            try? WedSyncJSON.makeDecoder().decode(InvalidationRequest.self, from: $0.body)
        }
    }

    /// The metric events received so far.
    var events: [MetricEvent] { events(at: APIPath.Metrics.events) }

    /// The events posted to `path` so far.
    func events(at path: String) -> [MetricEvent] {
        bodies.withLock { $0 }.filter { $0.path == path }.flatMap {
            (try? WedSyncJSON.makeDecoder().decode(MetricEventBatch.self, from: $0.body).events) ?? []
        }
    }
}
