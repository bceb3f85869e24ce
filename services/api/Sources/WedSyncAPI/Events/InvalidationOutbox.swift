import Logging
import Metrics
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// The durable outbox of cache invalidations: each write records the tags it changed in
/// `cache_invalidation_outbox`, in the write's own transaction, and a relay sends them to the cache service
/// (`POST /v1/invalidations`) and deletes what was acknowledged.
///
/// So an invalidation is lost neither when the cache service is down (the relay retries for as long as it takes,
/// at most half a second apart, so it lands within a second of the cache service coming back) nor when the API itself
/// stops (the rows wait in PostgreSQL for the next relay). A write never waits for the cache service. Rows left by
/// a stopped replica are sent by any other, and sending one twice is harmless: an invalidation is idempotent.
public final class InvalidationOutbox: Service, Sendable {
    private let pool: PostgresPool
    private let client: ServiceClient
    private let logger: Logger
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation
    private let roundCount = Atomic<Int>(0)
    private let deliveredCounter = Counter(
        label: "wedsync_delivery_delivered_total",
        dimensions: [("queue", "cache-invalidations")]
    )
    private let rejectedCounter = Counter(
        label: "wedsync_delivery_dropped_total",
        dimensions: [("queue", "cache-invalidations"), ("reason", "rejected")]
    )
    private let failedCounter = Counter(
        label: "wedsync_delivery_failed_attempts_total",
        dimensions: [("queue", "cache-invalidations")]
    )

    /// Rows sent in one request.
    static let batchSize = 100
    /// How often the table is looked at without a wake-up (rows another replica left, rows from before a restart).
    static let pollInterval = Duration.seconds(1)
    /// Retries start at `initialBackoff` and double up to `maximumBackoff`.
    static let initialBackoff = Duration.milliseconds(50)
    static let maximumBackoff = Duration.milliseconds(500)

    public init(pool: PostgresPool, client: ServiceClient, logger: Logger) {
        self.pool = pool
        self.client = client
        var logger = logger
        logger[metadataKey: "delivery.queue"] = "cache-invalidations"
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        rejectedCounter.increment(by: 0)
    }

    /// Records the invalidation of `tags`, for `reason` (never personal data), inside a write's transaction: it is
    /// committed or rolled back with the write.
    static func record(_ transaction: RecordingDatabase.Transaction, tags: [String], reason: String) async throws {
        guard !tags.isEmpty else { return }
        _ = try await transaction.query(Self.insert(tags: tags, reason: reason))
    }

    /// Records an invalidation that belongs to no transaction (the dashboard's refresh), and sends it soon.
    func record(tags: [String], reason: String) async {
        do {
            _ = try await pool.query(Self.insert(tags: tags, reason: reason))
            wake()
        } catch {
            logger.warning("invalidation not recorded", metadata: ["error": "\(error)"])
        }
    }

    private static func insert(tags: [String], reason: String) -> PostgresQuery {
        // Tags never hold control characters (the cache service refuses them), so a newline separates them.
        let joined = tags.joined(separator: "\n")
        return "INSERT INTO cache_invalidation_outbox (tags, reason) VALUES (\(joined), \(reason))"
    }

    /// Sends what is waiting now rather than at the next poll (after a write commits).
    public func wake() {
        wakeUp.yield()
    }

    /// Relays until graceful shutdown; what is still waiting then stays in the table for the next relay.
    ///
    /// One loop consumes the wake-ups for the whole run, and a timer adds one every poll interval. (A wait that
    /// raced a timer against a fresh iteration of the wake-ups each time ended that iteration when the timer won,
    /// and cancelling an `AsyncStream`'s consumer finishes the stream: every later wait returned at once, and the
    /// relay read the table thousands of times a second.)
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.pollInterval)
                    self.wake()
                }
            }
            await cancelWhenGracefulShutdown {
                self.wake()
                for await _ in self.wakeUps {
                    var backoff = Self.initialBackoff
                    while !(await self.relay()), !Task.isCancelled {
                        try? await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, Self.maximumBackoff)
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Refusals that say the outbox is misconfigured (an unknown credential, a wrong URL), not that the request is
    /// bad: the rows stay, and are sent again once configuration is mended.
    static let refusalsFixedByConfiguration: Set<Int> = [401, 403, 404, 405]

    /// How many relay rounds have run: one a poll interval, and one a wake-up.
    public var rounds: Int { roundCount.load(ordering: .relaxed) }

    /// Sends and deletes every waiting row; `false` when the cache service or the database failed (try later).
    @discardableResult
    func relay() async -> Bool {
        roundCount.add(1, ordering: .relaxed)
        while !Task.isCancelled {
            let rows: [(id: Int, tags: [String], reason: String?)]
            do {
                rows = try await pool.query(
                    "SELECT id, tags, reason FROM cache_invalidation_outbox ORDER BY id LIMIT \(unescaped: String(Self.batchSize))"
                ).map { row in
                    let (id, tags, reason) = try row.decode((Int, String, String?).self)
                    return (id, tags.split(separator: "\n").map(String.init), reason)
                }
            } catch {
                logger.debug("outbox not readable", metadata: ["error": "\(error)"])
                return false
            }
            guard !rows.isEmpty else { return true }
            let request = Self.merge(rows.map { InvalidationRequest(tags: $0.tags, reason: $0.reason) })
            do {
                _ = try await client.send(.POST, APIPath.Cache.invalidations, json: request)
                deliveredCounter.increment(by: rows.count)
            } catch  where error.isPermanentRefusal && !Self.refusalsFixedByConfiguration.contains(error.status ?? 0) {
                // A request the cache service will never take (a tag it refuses): drop it, counted and said. A
                // credential it does not know, or a URL that is not its invalidations route, is not such a case:
                // that is fixed by configuration, so the rows wait.
                rejectedCounter.increment(by: rows.count)
                logger.error(
                    "invalidations refused by the cache service: dropped",
                    metadata: ["delivery.items": "\(rows.count)", "error": "\(error)"]
                )
            } catch {
                failedCounter.increment()
                logger.debug("invalidations not delivered yet", metadata: ["error": "\(error)"])
                return false
            }
            let ids = rows.map { String($0.id) }.joined(separator: ",")
            do {
                _ = try await pool.query("DELETE FROM cache_invalidation_outbox WHERE id IN (\(unescaped: ids))")
            } catch {
                // Sent but not deleted: sent again later, which is harmless.
                return false
            }
        }
        return true
    }

    /// One request naming every key, tag and prefix of `batch`, each once, in first-seen order.
    static func merge(_ batch: [InvalidationRequest]) -> InvalidationRequest {
        func unique(_ lists: [[String]]) -> [String] {
            var seen = Set<String>()
            return lists.flatMap { $0 }.filter { seen.insert($0).inserted }
        }
        let reasons = unique(batch.compactMap { $0.reason.map { [$0] } })
        return InvalidationRequest(
            keys: unique(batch.map(\.keys)),
            tags: unique(batch.map(\.tags)),
            prefixes: unique(batch.map(\.prefixes)),
            reason: reasons.count == 1 ? reasons[0] : "\(batch.count) writes"
        )
    }
}
