import HTTPTypes
import WedSyncModels

/// The response fields the gateway sets.
public enum GatewayHeaders {
    public static let cache = HTTPField.Name("x-cache")!
    public static let cacheTier = HTTPField.Name("x-cache-tier")!
    public static let responseTime = HTTPField.Name("x-response-time")!
    public static let serverTiming = HTTPField.Name("Server-Timing")!
    /// The upstream's route template (``APIPath/routeHeader``): read for the metrics, never passed on.
    public static let route = HTTPField.Name(APIPath.routeHeader)!
}
