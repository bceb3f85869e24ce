import Foundation
import Testing
import WedSyncPostgresService
import WedSyncRedisService
import WedSyncServiceKit
import WedSyncTestSupport

@Suite("Service configuration: flags, environment, YAML")
struct ConfigurationTests {
    private func load(
        arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws(ConfigurationError) -> ServiceConfiguration {
        try await ServiceConfiguration.load(
            service: "wedsync-test",
            defaultPort: 8099,
            arguments: ["wedsync-test"] + arguments,
            environment: environment
        )
    }

    @Test("Defaults apply when nothing is set")
    func defaults() async throws {
        let configuration = try await load()
        #expect(configuration.port == 8099)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.adminToken == nil)
        #expect(configuration.redisURL == "redis://127.0.0.1:6379")
        #expect(configuration.databaseReplicaURLs.isEmpty)
        #expect(configuration.logFormat == .text)
    }

    @Test("A key a.b maps to WEDSYNC_A_B, dashes included")
    func environmentMapping() async throws {
        let configuration = try await load(environment: [
            "WEDSYNC_PORT": "9001",
            "WEDSYNC_ADMIN_TOKEN": "0123456789abcdef0123",
            "WEDSYNC_DATABASE_REPLICA_URLS": "postgres://r1:5432/wedsync,postgres://r2:5432/wedsync",
            "WEDSYNC_LOG_FORMAT": "json",
            "WEDSYNC_METRICS_URL": "http://metrics.internal:8083/",
        ])
        #expect(configuration.port == 9001)
        #expect(configuration.adminToken == "0123456789abcdef0123")
        #expect(configuration.databaseReplicaURLs == ["postgres://r1:5432/wedsync", "postgres://r2:5432/wedsync"])
        #expect(configuration.logFormat == .json)
        #expect(configuration.metricsURL == "http://metrics.internal:8083")
    }

    @Test("Flags beat the environment, which beats the YAML file")
    func precedence() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wedsync-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("service.yaml")
        try """
        port: 7001
        http:
          max-body-bytes: 4096
        api:
          url: http://from-yaml:8090
        redis:
          url: redis://from-yaml:6379
        database:
          replica-urls:
            - postgres://yaml-replica:5432/wedsync
        """.write(to: file, atomically: true, encoding: .utf8)

        let fromFile = try await load(arguments: ["--config", file.path])
        #expect(fromFile.port == 7001)
        #expect(fromFile.maxBodyBytes == 4096)
        #expect(fromFile.apiURL == "http://from-yaml:8090")
        #expect(fromFile.databaseReplicaURLs == ["postgres://yaml-replica:5432/wedsync"])

        let environmentWins = try await load(
            arguments: ["--config", file.path],
            environment: ["WEDSYNC_PORT": "7002", "WEDSYNC_API_URL": "http://from-env:8090"]
        )
        #expect(environmentWins.port == 7002)
        #expect(environmentWins.apiURL == "http://from-env:8090")
        #expect(environmentWins.redisURL == "redis://from-yaml:6379")

        let flagsWin = try await load(
            arguments: ["--config", file.path, "--port", "7003"],
            environment: ["WEDSYNC_PORT": "7002", "WEDSYNC_CONFIG": "/nonexistent.yaml"]
        )
        #expect(flagsWin.port == 7003)
        #expect(flagsWin.maxBodyBytes == 4096)
    }

    @Test(
        "A bad value stops startup with an error naming the key, its flag and its variable",
        arguments: [
            (["WEDSYNC_PORT": "eighty"], "port"),
            (["WEDSYNC_PORT": "70000"], "port"),
            (["WEDSYNC_DATABASE_URL": "mysql://db/wedsync"], "database.url"),
            (["WEDSYNC_DATABASE_REPLICA_URLS": "postgres://ok/db,http://bad"], "database.replica-urls"),
            (["WEDSYNC_REDIS_URL": "http://not-redis"], "redis.url"),
            (["WEDSYNC_API_URL": "ftp://api"], "api.url"),
            (["WEDSYNC_LOG_LEVEL": "loud"], "log.level"),
            (["WEDSYNC_HTTP_MAX_BODY_BYTES": "10"], "http.max-body-bytes"),
        ]
    )
    func badValues(environment: [String: String], key: String) async throws {
        do {
            // The database and Redis URLs are checked by the libraries that connect to them, as a service starts.
            let configuration = try await load(environment: environment)
            _ = try configuration.postgresPrimary()
            _ = try configuration.postgresReplicas()
            _ = try configuration.redisSeeds()
            Issue.record("expected \(key) to be refused")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains("'\(key)'"))
            #expect(error.description.contains(ConfigurationError.environmentVariable(for: key)))
            #expect(error.description.contains(ConfigurationError.flag(for: key)))
        }
    }

    @Test("A short admin token is refused without being echoed")
    func shortSecret() async throws {
        do {
            _ = try await load(environment: ["WEDSYNC_ADMIN_TOKEN": "hunter2"])
            Issue.record("a 7-character admin token was accepted")
        } catch {
            #expect(error.key == "admin.token")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("A missing YAML file is a clear error")
    func missingFile() async throws {
        do {
            _ = try await load(arguments: ["--config", "/nonexistent/wedsync.yaml"])
            Issue.record("a missing config file was accepted")
        } catch {
            #expect(error.key == "config")
            #expect(error.description.contains("/nonexistent/wedsync.yaml"))
        }
    }

    @Test("Broken YAML is reported by position, without quoting the file (it may hold a secret)")
    func brokenYAML() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("wedsync-broken-\(UUID()).yaml")
        try "port: 8080\nadmin:\n  token: \"s3cret-token-value-123\n  x: [\n".write(
            to: file,
            atomically: true,
            encoding: .utf8
        )
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try await load(arguments: ["--config", file.path])
            Issue.record("broken YAML was accepted")
        } catch {
            #expect(error.key == "config")
            #expect(error.description.contains("not valid YAML"))
            #expect(!error.description.contains("s3cret"))
        }
    }

    @Test("A password in a database URL never appears in an error")
    func passwordNotEchoed() async throws {
        do {
            _ = try await load(environment: ["WEDSYNC_DATABASE_URL": "postgres://app:s3cretpass@/wedsync"])
                .postgresPrimary()
            Issue.record("a URL without a host was accepted")
        } catch {
            #expect(error.key == "database.url")
            #expect(!error.description.contains("s3cretpass"))
        }
    }
}
