import Crypto
import Synchronization

/// What a service remembers about the bearer tokens it has checked: accepted tokens and refused ones in two
/// bounded LRUs, each entry for a while. Tokens are kept by their SHA-256 digests only.
///
/// The two are apart so that a flood of made-up tokens (each one refused) evicts only other refusals: the tokens
/// of the suppliers at work stay remembered, and the database or the API is not asked again for each of them.
public final class TokenVerdictCache<Accepted: Sendable>: Sendable {
    /// What is remembered about a token.
    public enum Verdict: Sendable {
        case accepted(Accepted)
        case refused
    }

    private struct Remembered<Value: Sendable>: Sendable {
        var value: Value
        var until: ContinuousClock.Instant
    }

    private struct State: Sendable {
        var accepted: LRUMap<SHA256.Digest, Remembered<Accepted>>
        var refused: LRUMap<SHA256.Digest, Remembered<Void>>
    }

    private let state: Mutex<State>
    private let acceptedFor: Duration
    private let refusedFor: Duration

    public init(
        acceptedCapacity: Int = 100_000,
        refusedCapacity: Int = 10_000,
        acceptedFor: Duration,
        refusedFor: Duration
    ) {
        self.state = Mutex(
            State(accepted: LRUMap(capacity: acceptedCapacity), refused: LRUMap(capacity: refusedCapacity))
        )
        self.acceptedFor = acceptedFor
        self.refusedFor = refusedFor
    }

    /// The digest a token is remembered by.
    public static func digest(of token: some StringProtocol) -> SHA256.Digest {
        SHA256.hash(data: Array(token.utf8))
    }

    /// What is remembered about the token with `digest`, if it is still fresh.
    public func verdict(for digest: SHA256.Digest, now: ContinuousClock.Instant = .now) -> Verdict? {
        state.withLock { state in
            if let accepted = state.accepted.value(for: digest) {
                if accepted.until > now { return .accepted(accepted.value) }
                state.accepted.remove(digest)
            }
            if let refused = state.refused.value(for: digest) {
                if refused.until > now { return .refused }
                state.refused.remove(digest)
            }
            return nil
        }
    }

    /// Remembers a verdict; an accepted token forgets an earlier refusal and the other way round.
    public func remember(_ verdict: Verdict, for digest: SHA256.Digest, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            switch verdict {
            case .accepted(let value):
                state.refused.remove(digest)
                if acceptedFor > .zero {
                    state.accepted.set(Remembered(value: value, until: now + acceptedFor), for: digest)
                }
            case .refused:
                state.accepted.remove(digest)
                if refusedFor > .zero { state.refused.set(Remembered(value: (), until: now + refusedFor), for: digest) }
            }
        }
    }

    /// How many accepted and refused tokens are remembered.
    public var counts: (accepted: Int, refused: Int) {
        state.withLock { ($0.accepted.count, $0.refused.count) }
    }

    /// Forgets everything (after revocations, in tests).
    public func removeAll() {
        state.withLock { state in
            state.accepted.removeAll()
            state.refused.removeAll()
        }
    }
}
