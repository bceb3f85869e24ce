import WedSyncServiceKit

/// The credentials every service a test starts is configured with, as `scripts/stack` configures the stack: the
/// admin and monitor tokens, a token of its own per service, and every service's digest in `service.callers`.
package enum TestCredentials {
    package static let admin = "test-admin-token-0123456789abcdef"
    package static let monitor = "test-monitor-token-0123456789abcdef"
    package static let services = [
        "wedsync-api", "wedsync-cache", "wedsync-query-optimizer", "wedsync-metrics", "wedsync-autoscaler",
        "wedsync-gateway",
    ]

    /// The token of the service called `name`.
    package static func service(_ name: String) -> String {
        "test-service-token-\(name)-0123456789"
    }

    /// `service.callers`: every service, by the digest of its token.
    package static var callers: String {
        services.map { "\($0)=\(ServiceCredentials.digestText(of: service($0)))" }.joined(separator: ",")
    }

    /// The environment of a service called `name`.
    package static func environment(for name: String) -> [String: String] {
        [
            "WEDSYNC_ADMIN_TOKEN": admin,
            "WEDSYNC_MONITOR_TOKEN": monitor,
            "WEDSYNC_SERVICE_TOKEN": service(name),
            "WEDSYNC_SERVICE_CALLERS": callers,
        ]
    }

    /// `Authorization` headers of each kind of caller, for ``HTTP``.
    package static var asAdmin: [(String, String)] { [("Authorization", "Bearer \(admin)")] }
    package static var asMonitor: [(String, String)] { [("Authorization", "Bearer \(monitor)")] }
    package static func asService(_ name: String) -> [(String, String)] {
        [("Authorization", "Bearer \(service(name))")]
    }
}
