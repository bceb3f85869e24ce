/// Who is calling: the supplier a bearer token belongs to, and the organization every query is scoped to.
public struct Principal: Sendable, Hashable, Codable {
    public var supplierId: Int
    public var organizationId: Int
    /// `owner`, `admin` or `member`.
    public var role: String
    public var tokenId: Int

    public init(supplierId: Int, organizationId: Int, role: String, tokenId: Int) {
        self.supplierId = supplierId
        self.organizationId = organizationId
        self.role = role
        self.tokenId = tokenId
    }
}
