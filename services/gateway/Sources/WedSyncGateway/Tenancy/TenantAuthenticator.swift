import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Turns a supplier's bearer token into its organization, through the API's `GET /api/auth/introspect`.
///
/// Answers are cached briefly by the token's SHA-256 (the token itself is never kept, logged or used as a key):
/// an active token for `validFor`, a refused one for `refusedFor`, in two bounded LRUs so that a flood of made-up
/// tokens evicts only refusals (``TokenVerdictCache``). Concurrent checks of one token share one call.
public final class TenantAuthenticator: Sendable {
    /// What a token stands for.
    public enum Verdict: Sendable, Equatable {
        case tenant(TokenIntrospection)
        case refused
    }

    let client: UpstreamClient
    let pools: UpstreamRegistry
    /// The pool asked, whatever route the request came by.
    let pool: String
    let path: String
    let timeout: Duration

    private let remembered: TokenVerdictCache<TokenIntrospection>
    private let flights = Mutex<[SHA256.Digest: Task<Verdict, any Error>]>([:])

    public init(
        client: UpstreamClient,
        pools: UpstreamRegistry,
        pool: String = "api",
        path: String = "/api/auth/introspect",
        validFor: Duration = .seconds(30),
        refusedFor: Duration = .seconds(5),
        maximumEntries: Int = 100_000,
        maximumRefusals: Int = 10_000,
        timeout: Duration = .seconds(2)
    ) {
        self.client = client
        self.pools = pools
        self.pool = pool
        self.path = path
        self.remembered = TokenVerdictCache(
            acceptedCapacity: maximumEntries,
            refusedCapacity: maximumRefusals,
            acceptedFor: validFor,
            refusedFor: refusedFor
        )
        self.timeout = timeout
    }

    /// How many accepted and refused tokens are remembered.
    public var rememberedCounts: (accepted: Int, refused: Int) { remembered.counts }

    /// The bearer token of an `Authorization` value, if it is one.
    public static func bearerToken(_ authorization: String?) -> Substring? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty, parts[1].count <= 4096 else {
            return nil
        }
        return parts[1]
    }

    /// What `token` stands for, asking the auth pool when it is not remembered. Throws (503) when the API cannot say.
    /// The verdict remembered for `token`, without asking the API: `nil` when none is.
    func rememberedVerdict(token: Substring) -> Verdict? {
        switch remembered.verdict(for: TokenVerdictCache<TokenIntrospection>.digest(of: token)) {
        case .accepted(let introspection): .tenant(introspection)
        case .refused: .refused
        case nil: nil
        }
    }

    public func verify(token: Substring) async throws(ServiceError) -> Verdict {
        let key = TokenVerdictCache<TokenIntrospection>.digest(of: token)
        switch remembered.verdict(for: key) {
        case .accepted(let introspection): return .tenant(introspection)
        case .refused: return .refused
        case nil: break
        }
        let task = flights.withLock { flights -> Task<Verdict, any Error> in
            if let running = flights[key] { return running }
            let authorization = "Bearer \(token)"
            let task = Task { try await self.introspect(authorization: authorization) }
            flights[key] = task
            return task
        }
        do {
            let verdict = try await task.value
            switch verdict {
            case .tenant(let introspection): remembered.remember(.accepted(introspection), for: key)
            case .refused: remembered.remember(.refused, for: key)
            }
            flights.withLock { $0[key] = nil }
            return verdict
        } catch {
            flights.withLock { $0[key] = nil }
            throw (error as? ServiceError)
                ?? ServiceError.unavailable(
                    "the token could not be checked: the API did not answer",
                    code: "auth_unavailable",
                    retryAfterSeconds: 1
                )
        }
    }

    private func introspect(authorization: String) async throws -> Verdict {
        guard let pool = pools[self.pool] else {
            throw ServiceError.unavailable(
                "no upstream pool \(self.pool) to check tokens with",
                code: "auth_unavailable"
            )
        }
        var headers = HTTPHeaders()
        headers.add(name: "authorization", value: authorization)
        headers.add(name: "accept", value: "application/json")
        let response = try await client.send(
            ForwardRequest(method: .GET, target: path, headers: headers, isReplayable: true),
            to: pool,
            timeout: timeout,
            retries: 1
        )
        let body = try await response.body.collect(upTo: 64 << 10)
        switch response.status {
        case 200:
            guard
                let introspection = try? WedSyncJSON.makeDecoder().decode(
                    TokenIntrospection.self,
                    from: Data(body.readableBytesView)
                )
            else {
                throw ServiceError.unavailable(
                    "the API's introspection answer was not understood",
                    code: "auth_unavailable"
                )
            }
            return introspection.active ? .tenant(introspection) : .refused
        case 401, 403, 404:
            return .refused
        default:
            throw ServiceError.unavailable(
                "the token could not be checked: the API answered \(response.status)",
                code: "auth_unavailable",
                retryAfterSeconds: 1
            )
        }
    }
}
