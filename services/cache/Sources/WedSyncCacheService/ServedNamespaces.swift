import HTTPTypes
import WedSyncCacheKit
import WedSyncServiceKit

/// The namespaces the cache service serves over HTTP: only those declared shareable in its configuration
/// (`cache.namespaces`, by default every namespace the configuration names: `cache.namespace-ttls`,
/// `cache.lock-namespaces` and the warming file's). The gateway's namespace is never one of them, whatever the
/// configuration says: its entries are tenants' pages.
struct ServedNamespaces: Sendable {
    let names: Set<String>

    init(_ names: some Sequence<String>) throws(ConfigurationError) {
        let names = Set(names)
        guard !names.contains(CacheAddress.gatewayNamespace) else {
            throw ConfigurationError(
                key: "cache.namespaces",
                message:
                    "\(CacheAddress.gatewayNamespace) holds the gateway's tenant pages and is never served by the cache service"
            )
        }
        self.names = names
    }

    /// Throws 404 for a namespace that is not served, so undeclared names read like absent entries.
    func check(_ namespace: String) throws(ServiceError) {
        guard names.contains(namespace) else {
            throw ServiceError(.notFound, code: "unknown_namespace", message: "this service serves no such namespace")
        }
    }
}
