import Logging
import NIOHTTP1
import WedSyncModels
import WedSyncServiceKit

/// Tells the cache service (`POST /v1/invalidations`) which tags each committed write changed, in the
/// background: a write never waits for it and never fails because of it. Invalidations queued together are sent
/// as one request; a full queue drops (and counts) rather than grow.
public final class InvalidationNotifier: Sendable {
    public let delivery: BackgroundDelivery<InvalidationRequest>

    public init(client: ServiceClient, configuration: BackgroundDelivery<InvalidationRequest>.Configuration = .init(batchSize: 100), logger: Logger) {
        delivery = BackgroundDelivery(name: "cache-invalidations", configuration: configuration, logger: logger) { batch in
            let merged = InvalidationNotifier.merge(batch)
            _ = try await client.send(.POST, APIPath.Cache.invalidations, json: merged)
        }
    }

    /// Queues the invalidation of `tags`, for `reason` (never personal data).
    public func invalidate(tags: [String], reason: String) {
        guard !tags.isEmpty else { return }
        delivery.submit(InvalidationRequest(tags: tags, reason: reason))
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
