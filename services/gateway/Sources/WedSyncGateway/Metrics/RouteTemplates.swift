import Synchronization
import WedSyncModels

/// The route templates the upstreams have answered with (``APIPath/routeHeader``), so that a request the gateway
/// answers itself (401, 429, 503) is labelled with the upstream's template too (`/api/clients/{id}`), not with the
/// routes file's pattern (`/api/**`): budgets, SLOs and regressions are per upstream route.
///
/// Bounded: at most ``maximumTemplates`` are learned (they come from the upstreams, whose route tables are small).
final class RouteTemplates: Sendable {
    static let maximumTemplates = 1_000

    private struct Template: Sendable {
        var text: String
        var segments: [Substring]
        /// Literal segments: the more, the more specific (`/api/clients/export` over `/api/clients/{id}`).
        var literals: Int
    }

    private let templates = Mutex<(known: Set<String>, bySegments: [Int: [Template]])>(([], [:]))

    /// Remembers a template an upstream answered with, if it is a valid route label.
    func learn(_ template: String) {
        guard MetricEventBounds.isValidRoute(template) else { return }
        templates.withLock { state in
            guard !state.known.contains(template), state.known.count < Self.maximumTemplates else { return }
            state.known.insert(template)
            let segments = template.split(separator: "/")
            let literals = segments.filter { !Self.isCapture($0) }.count
            state.bySegments[segments.count, default: []].append(
                Template(text: template, segments: segments, literals: literals)
            )
            state.bySegments[segments.count]!.sort { $0.literals > $1.literals }
        }
    }

    /// The most specific learned template `path` matches, if any.
    func match(_ path: Substring) -> String? {
        let segments = path.split(separator: "/")
        return templates.withLock { state in
            state.bySegments[segments.count]?.first { template in
                zip(template.segments, segments).allSatisfy { Self.isCapture($0) || $0 == $1 }
            }?.text
        }
    }

    private static func isCapture(_ segment: Substring) -> Bool {
        (segment.hasPrefix("{") && segment.hasSuffix("}")) || segment.hasPrefix(":") || segment == "*"
    }
}
