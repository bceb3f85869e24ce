import Testing
import WedSyncRedis
import WedSyncTestSupport

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test("A URL carries host, port, credentials and database")
    func parse() throws {
        let configuration = try RedisConfiguration(url: "redis://cache:s%3Acret@redis.internal:6380/2")
        #expect(configuration.host == "redis.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "cache")
        #expect(configuration.password == "s:cret")
        #expect(configuration.database == 2)
        #expect(!configuration.description.contains("s:cret"))
    }

    @Test("Several seed nodes are comma-separated")
    func seeds() throws {
        let seeds = try RedisConfiguration.seeds(from: "redis://a:7000, redis://b:7001")
        #expect(seeds.map(\.port) == [7000, 7001])
        #expect(throws: RedisError.self) { try RedisConfiguration.seeds(from: " , ") }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://host/notanumber") }
    }
}
