import WedSyncModels

/// The metrics service's own paths: what operators, dashboards and its own CLI call.
extension APIPath.Metrics {
    public static let alerts = "\(APIPath.v1)/alerts"
    public static let capacity = "\(APIPath.v1)/capacity"
    public static let budgets = "\(APIPath.v1)/budgets"
    public static let regressions = "\(APIPath.v1)/regressions"
    public static let releases = "\(APIPath.v1)/releases"
}
