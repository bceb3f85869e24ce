import Logging
import NIOHTTP1
import WedSyncServiceKit

/// L3: purges the CDN by surrogate key (the tags of each invalidation) through a configured HTTP endpoint.
///
/// Every purge is queued and sent in batches by a ``BackgroundDelivery`` (retried with backoff, dropped and counted
/// only after its last attempt), so an invalidation never waits for the CDN. The request is a generic JSON body,
/// `POST <cache.cdn.purge-url>` with `{"surrogateKeys":["client:42","org:1"]}` and, when configured,
/// `Authorization: Bearer <cache.cdn.token>`; adapt it to a vendor with a small proxy or its generic webhook.
final class CDNPurger: Sendable {
    struct PurgeRequest: Codable, Sendable {
        var surrogateKeys: [String]
    }

    let delivery: BackgroundDelivery<[String]>

    init(
        url: String,
        token: String?,
        configuration: BackgroundDelivery<[String]>.Configuration = .init(batchSize: 64, maximumAttempts: 8),
        logger: Logger
    ) {
        let client = ServiceClient(name: "cdn", baseURL: url, token: token, timeout: .seconds(10))
        delivery = BackgroundDelivery(name: "cdn-purge", configuration: configuration, logger: logger) { batch in
            var seen = Set<String>()
            let unique = batch.joined().filter { seen.insert($0).inserted }
            _ = try await client.send(.POST, "", json: PurgeRequest(surrogateKeys: unique))
        }
    }

    /// Queues a purge of `tags` (sent together, in one request with any others queued); never waits.
    func purge(tags: [String]) {
        guard !tags.isEmpty else { return }
        delivery.submit(tags)
    }
}
