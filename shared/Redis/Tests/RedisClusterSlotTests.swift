import Testing
import WedSyncRedis
import WedSyncTestSupport

@Suite("Redis Cluster hash slots")
struct RedisClusterSlotTests {
    @Test("CRC16 (XMODEM) slots match the cluster specification's values")
    func slots() {
        // CLUSTER KEYSLOT answers these on any Redis Cluster.
        #expect(RedisClusterSlot.of("foo") == 12_182)
        #expect(RedisClusterSlot.of("bar") == 5_061)
        #expect(RedisClusterSlot.of("123456789") == 0x31C3 & 0x3FFF)
        #expect(RedisClusterSlot.of("") == 0)
    }

    @Test("A hash tag decides the slot; an empty tag or an unclosed brace does not")
    func hashTags() {
        #expect(RedisClusterSlot.of("{user1000}.following") == RedisClusterSlot.of("{user1000}.followers"))
        #expect(RedisClusterSlot.of("{user1000}.following") == RedisClusterSlot.of("user1000"))
        #expect(
            RedisClusterSlot.of("wsc:{schedules/2026-06-13}:m") == RedisClusterSlot.of("wsc:{schedules/2026-06-13}:d")
        )
        #expect(RedisClusterSlot.of("foo{}{bar}") == RedisClusterSlot.of("foo{}{bar}".utf8.map { $0 }))
        #expect(RedisClusterSlot.of("foo{}{bar}") != RedisClusterSlot.of("bar"))
        #expect(RedisClusterSlot.of("foo{{bar}}zap") == RedisClusterSlot.of("{bar"))
        #expect(RedisClusterSlot.of("foo{bar") != RedisClusterSlot.of("bar"))
    }
}
