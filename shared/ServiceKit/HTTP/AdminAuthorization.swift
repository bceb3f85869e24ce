/// The admin bearer token check of admin and mutating routes.
enum AdminAuthorization {
    /// Passes when `header` is `Bearer <expected>`; the comparison takes the same time wherever the first
    /// difference is, so the token cannot be guessed byte by byte from response times.
    static func verify(_ header: String?, expected: String?) throws(ServiceError) {
        guard let expected else {
            throw ServiceError.unauthorized("admin routes are disabled: the service has no admin.token configured")
        }
        guard let header else {
            throw ServiceError.unauthorized("this route needs the admin bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServiceError.unauthorized("expected 'Authorization: Bearer <token>'")
        }
        guard constantTimeEquals(Array(parts[1].utf8), Array(expected.utf8)) else {
            throw ServiceError.unauthorized("the bearer token is not valid")
        }
    }

    /// Compares every byte of the longer input whatever the contents, folding a length difference into the result.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt64(lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= UInt64(left ^ right)
        }
        return difference == 0
    }
}
