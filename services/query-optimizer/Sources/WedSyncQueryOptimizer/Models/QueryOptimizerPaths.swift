import WedSyncModels

/// The query optimizer's own paths: what operators call.
extension APIPath.QueryOptimizer {
    public static let analyze = "\(APIPath.v1)/analyze"
    public static let report = "\(APIPath.v1)/report"
    public static let nPlusOne = "\(APIPath.v1)/n-plus-one"
    public static let workload = "\(APIPath.v1)/workload"
    public static let indexes = "\(APIPath.v1)/indexes"
    public static let tables = "\(APIPath.v1)/tables"
    public static let connections = "\(APIPath.v1)/connections"
    public static let slowStatements = "\(APIPath.v1)/slow-statements"
    public static let apply = "\(APIPath.v1)/recommendations/apply"
    public static let jobs = "\(APIPath.v1)/jobs"
}
