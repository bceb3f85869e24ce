import WedSyncModels

/// The cache service's own paths.
extension APIPath.Cache {
    public static let stats = "\(APIPath.v1)/stats"
}
