import Crypto
import Foundation
import Synchronization
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Suppliers' bearer tokens: issued at random, stored as SHA-256 digests only, looked up by digest.
///
/// Lookups are cached in process for a short time (`cacheTTL`), so a busy phone does not cost a database round
/// trip per request; a revoked token stops working within that time. Known and unknown tokens are remembered in
/// two bounded LRUs (``TokenVerdictCache``), so made-up tokens evict only each other.
///
/// A lookup runs through the ``RecordingDatabase``: made during a request (``APIEnvironment``'s authentication), it
/// is timed into that request's ``QueryLog`` like the route's own statements, so it shows in `Server-Timing` and in
/// the query events.
public final class TokenStore: Sendable {
    /// The prefix of every token, so a leaked one is recognisable to secret scanners.
    public static let prefix = "wsk_"

    private let database: RecordingDatabase
    private let cache: TokenVerdictCache<Principal>

    /// A store whose lookups are recorded through `database` (the one the routes use).
    public init(
        database: RecordingDatabase,
        cacheTTL: Duration = .seconds(30),
        cacheCapacity: Int = 10_000,
        refusalCapacity: Int = 10_000
    ) {
        self.database = database
        self.cache = TokenVerdictCache(
            acceptedCapacity: cacheCapacity,
            refusedCapacity: refusalCapacity,
            acceptedFor: cacheTTL,
            refusedFor: cacheTTL
        )
    }

    /// A store on `database`, for issuing tokens outside any request (`wedsync-api token`, tests, benchmarks).
    public convenience init(
        database: PostgresDatabase,
        cacheTTL: Duration = .seconds(30),
        cacheCapacity: Int = 10_000,
        refusalCapacity: Int = 10_000
    ) {
        self.init(
            database: RecordingDatabase(database: database),
            cacheTTL: cacheTTL,
            cacheCapacity: cacheCapacity,
            refusalCapacity: refusalCapacity
        )
    }

    /// How many known and unknown tokens are remembered.
    public var cachedCounts: (accepted: Int, refused: Int) { cache.counts }

    /// The digest a token is stored and looked up by.
    static func digest(of token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    /// Issues a new token for the owner (else the first supplier) of `organization` and returns it: the only
    /// time the token itself exists outside the caller. Written on the primary, outside any request.
    public func issue(organization: Int, label: String = "cli") async throws -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = Self.prefix + Data(bytes).base64URLEncodedString()
        let digest = Self.digest(of: token)
        let inserted = try await database.database.write.execute(
            """
            INSERT INTO api_tokens (supplier_id, token_hash, label)
            SELECT id, \(digest), \(label) FROM suppliers
            WHERE organization_id = \(organization)
            ORDER BY (role = 'owner') DESC, id
            LIMIT 1
            """
        )
        guard inserted == 1 else { throw ServiceError.notFound("organization \(organization) has no suppliers") }
        return token
    }

    /// The principal of `token`, or `nil` when it is unknown or revoked. A lookup that misses the cache is one
    /// statement, recorded into the current request's ``QueryLog``.
    public func authenticate(_ token: String) async throws -> Principal? {
        guard token.hasPrefix(Self.prefix), token.utf8.count <= 128 else { return nil }
        // One hash serves both: the verdict cache's key, and (as bytes) the stored digest the query compares.
        let key = TokenVerdictCache<Principal>.digest(of: token)
        switch cache.verdict(for: key) {
        case .accepted(let principal): return principal
        case .refused: return nil
        case nil: break
        }
        let digest = Data(key)
        // A token issued a moment ago may not have reached the replica yet: a miss asks the primary.
        let principal = try await database.readConfirmingMiss(
            """
            SELECT s.id, s.organization_id, s.role, t.id
            FROM api_tokens t JOIN suppliers s ON s.id = t.supplier_id
            WHERE t.token_hash = \(digest) AND t.revoked_at IS NULL
            """
        ).first.map { row in
            let (supplier, organization, role, tokenID) = try row.decode((Int, Int, String, Int).self)
            return Principal(supplierId: supplier, organizationId: organization, role: role, tokenId: tokenID)
        }
        cache.remember(principal.map { .accepted($0) } ?? .refused, for: key)
        return principal
    }

    /// Forgets every cached lookup (tests, and after revocations).
    public func clearCache() {
        cache.removeAll()
    }
}
