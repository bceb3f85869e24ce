extension Int {
    /// The largest integer every JSON client holds exactly (2^53 - 1): the bound of ids and counts in documents.
    public static let maximumJSONSafe = 9_007_199_254_740_991
}
