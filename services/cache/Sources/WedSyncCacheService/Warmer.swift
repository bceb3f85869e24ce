import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// Warming jobs: fetch a list of URLs in the background, at bounded concurrency, and store each answer in the
/// cache (L1 and L2) with the tags of its `Cache-Tag` header and the TTL of its `CDN-Cache-Control` or
/// `Cache-Control` header. Jobs report progress and can be cancelled; the last ``retainedJobs`` are kept.
///
/// Every URL must point at an allowed origin (`outbound.allowed-origins`: by default the stack's own services), and
/// redirects are not followed, so a caller cannot make the cache service connect anywhere else. Entries land only in
/// served namespaces (``ServedNamespaces``), which only services and the admin can read.
///
/// A gateway job (``WarmRequest/Gateway``) stores nothing here: it reads the day's targets from the API and fetches
/// each page through the gateway on its organization's behalf, with this service's own credential (never a
/// supplier's token) and `X-Tenant-Id`, as `no-cache` (so a page already stored is revalidated and kept for the
/// job's `ttl`). The gateway stores each answer under that tenant's key, where its suppliers' first reads find it.
final class Warmer: Service, Sendable {
    /// One fetch of a job.
    struct Fetch: Sendable {
        var key: String
        var url: String
        var headers: [String: String] = [:]
        /// Fetched through the gateway to fill its cache: nothing is stored here.
        var throughGateway = false
    }

    struct Plan: Sendable {
        var request: WarmRequest
        var fetches: [Fetch]
    }

    private struct Running {
        var job: WarmJob
        var cancelled = false
    }

    /// Every retained job, and their ids in submission order.
    private struct Jobs {
        var byID: [String: Running] = [:]
        var order: [String] = []
    }

    static let retainedJobs = 200
    static let maximumConcurrency = 64
    static let maximumItems = 100_000
    let cache: MultiTierCache
    let namespaces: ServedNamespaces
    let origins: AllowedOrigins
    let http: HTTPClient
    /// This service's own credential, sent to the API and the gateway by gateway jobs; never logged.
    let serviceToken: String?
    let maximumValueBytes: Int
    let logger: Logger
    private let jobs = Mutex(Jobs())
    private let queue: AsyncStream<(String, Plan)>
    private let enqueue: AsyncStream<(String, Plan)>.Continuation

    init(
        cache: MultiTierCache,
        namespaces: ServedNamespaces,
        origins: AllowedOrigins,
        http: HTTPClient = ServiceClient.sharedHTTPClient,
        serviceToken: String? = nil,
        maximumValueBytes: Int,
        logger: Logger
    ) {
        self.cache = cache
        self.namespaces = namespaces
        self.origins = origins
        self.http = http
        self.serviceToken = serviceToken
        self.maximumValueBytes = maximumValueBytes
        self.logger = logger
        (queue, enqueue) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Runs queued jobs, two at a time, until graceful shutdown (running jobs are cancelled).
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await (id, plan) in self.queue {
                    if running >= 2 {
                        await group.next()
                        running -= 1
                    }
                    group.addTask { await self.execute(id, plan) }
                    running += 1
                }
            }
        }
    }

    // MARK: Jobs

    /// Validates a request, resolves its keys and URLs, and queues it. Throws a 400 naming what is wrong.
    func submit(_ request: WarmRequest) async throws(ServiceError) -> WarmJob {
        let plan = try await resolve(request)
        let id = UUID().uuidString.lowercased()
        let job = WarmJob(
            id: id,
            name: request.name,
            namespace: request.namespace,
            state: .queued,
            total: plan.fetches.count,
            createdAt: Date()
        )
        jobs.withLock { jobs in
            jobs.byID[id] = Running(job: job)
            jobs.order.append(id)
            // Only finished jobs are forgotten: a running one stays until it ends and a later submission evicts it.
            while jobs.order.count > Self.retainedJobs, let oldest = jobs.order.first,
                jobs.byID[oldest].map({ ![.queued, .running].contains($0.job.state) }) ?? true
            {
                jobs.order.removeFirst()
                jobs.byID.removeValue(forKey: oldest)
            }
        }
        enqueue.yield((id, plan))
        logger.info(
            "cache warming queued",
            metadata: [
                "cache.job": "\(id)", "cache.namespace": "\(request.namespace)", "cache.items": "\(plan.fetches.count)",
            ]
        )
        return job
    }

    func job(_ id: String) -> WarmJob? {
        jobs.withLock { $0.byID[id]?.job }
    }

    var all: [WarmJob] {
        jobs.withLock { jobs in jobs.order.compactMap { jobs.byID[$0]?.job } }
    }

    /// Stops a job and forgets it: no new fetch starts, fetches in flight finish, and it is no longer listed.
    /// Returns the job as it was when cancelled; `nil` for an unknown job.
    func cancel(_ id: String) -> WarmJob? {
        jobs.withLock { jobs -> WarmJob? in
            guard var running = jobs.byID.removeValue(forKey: id) else { return nil }
            jobs.order.removeAll { $0 == id }
            if [.queued, .running].contains(running.job.state) {
                running.job.state = .cancelled
                running.job.finishedAt = Date()
            }
            return running.job
        }
    }

    /// A forgotten job is a cancelled one.
    private func isCancelled(_ id: String) -> Bool {
        jobs.withLock { $0.byID[id]?.cancelled ?? true }
    }

    private func update(_ id: String, _ change: (inout WarmJob) -> Void) {
        jobs.withLock { jobs in
            if var running = jobs.byID[id] {
                change(&running.job)
                jobs.byID[id] = running
            }
        }
    }

    private func execute(_ id: String, _ plan: Plan) async {
        guard !isCancelled(id) else { return }
        update(id) {
            $0.state = .running
            $0.startedAt = Date()
        }
        let concurrency = min(Self.maximumConcurrency, max(1, plan.request.concurrency ?? 8))
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            var running = 0
            while next < plan.fetches.count || running > 0 {
                while running < concurrency, next < plan.fetches.count, !isCancelled(id), !Task.isCancelled {
                    let fetch = plan.fetches[next]
                    next += 1
                    running += 1
                    group.addTask { await self.warm(fetch, job: id, request: plan.request) }
                }
                guard running > 0 else { break }
                await group.next()
                running -= 1
            }
        }
        let cancelled = isCancelled(id) || Task.isCancelled
        update(id) { job in
            job.finishedAt = Date()
            if cancelled {
                job.state = .cancelled
            } else {
                job.state = job.succeeded == 0 && job.failed > 0 ? .failed : .completed
            }
        }
        if let job = job(id) {
            logger.info(
                "cache warming finished",
                metadata: [
                    "cache.job": "\(id)", "cache.state": "\(job.state.rawValue)", "cache.stored": "\(job.succeeded)",
                    "cache.failed": "\(job.failed)",
                ]
            )
        }
    }

    private func warm(_ fetch: Fetch, job id: String, request: WarmRequest) async {
        do {
            var outgoing = HTTPClientRequest(url: fetch.url)
            outgoing.headers.add(name: "accept", value: "application/json")
            for (name, value) in (request.headers ?? [:]).merging(fetch.headers, uniquingKeysWith: { _, own in own }) {
                outgoing.headers.replaceOrAdd(name: name, value: value)
            }
            let response = try await http.execute(outgoing, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: maximumValueBytes)
            guard response.status == .ok else { throw WarmFailure("HTTP \(response.status.code)") }
            if fetch.throughGateway {
                // The gateway stored it (its x-cache says how it answered); nothing is kept here.
                guard response.headers.first(name: "x-cache") != nil else { throw WarmFailure("not through a gateway") }
                update(id) {
                    $0.succeeded += 1
                    $0.bytes += body.readableBytes
                }
                return
            }
            let tags = response.headers["cache-tag"].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
            let ttl = request.ttl ?? Self.sharedMaxAge(response.headers)
            let address: CacheAddress
            do {
                address = try CacheAddress(namespace: request.namespace, key: fetch.key)
            } catch {
                throw WarmFailure("invalid key")
            }
            let tiers = try await cache.set(
                address,
                body: body,
                contentType: response.headers.first(name: "content-type") ?? "application/octet-stream",
                tags: tags,
                ttl: ttl
            )
            guard !tiers.isEmpty else { throw WarmFailure("not stored") }
            update(id) {
                $0.succeeded += 1
                $0.bytes += body.readableBytes
            }
        } catch {
            let reason = (error as? WarmFailure)?.reason ?? "\(type(of: error))"
            update(id) { job in
                job.failed += 1
                if job.errors.count < 10 { job.errors.append("\(fetch.key): \(reason)") }
            }
        }
    }

    /// The shared TTL a response asks for: `CDN-Cache-Control` (RFC 9213) first, then `Cache-Control`'s
    /// `s-maxage` or `max-age`; `nil` when it says nothing (the namespace's TTL applies).
    static func sharedMaxAge(_ headers: HTTPHeaders) -> Double? {
        func directive(_ name: String, in field: String) -> Double? {
            for part in field.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespaces).lowercased()
                }
                if pair.count == 2, pair[0] == name, let seconds = Double(pair[1]), seconds > 0 { return seconds }
            }
            return nil
        }
        if let targeted = headers.first(name: "cdn-cache-control"), let seconds = directive("max-age", in: targeted) {
            return seconds
        }
        guard let field = headers.first(name: "cache-control") else { return nil }
        return directive("s-maxage", in: field) ?? directive("max-age", in: field)
    }

    // MARK: Validation

    private func resolve(_ request: WarmRequest) async throws(ServiceError) -> Plan {
        if let gateway = request.gateway { return try await resolve(request, through: gateway) }
        guard namespaces.names.contains(request.namespace) else {
            throw ServiceError.badRequest(
                "namespace: not one this service serves (cache.namespaces)",
                code: "unknown_namespace"
            )
        }
        if let concurrency = request.concurrency, !(1...Self.maximumConcurrency).contains(concurrency) {
            throw ServiceError.badRequest("concurrency: 1 to \(Self.maximumConcurrency)", code: "invalid_body")
        }
        if let ttl = request.ttl, !(ttl.isFinite && ttl > 0) {
            throw ServiceError.badRequest("ttl: a positive number of seconds", code: "invalid_body")
        }
        if let name = request.name { try CacheFields.jobName.check(name, "name") }
        try Self.check(headers: request.headers, field: "headers")
        let most = CacheFields.maximumWarmList
        guard (request.requests?.count ?? 0) <= most, (request.urls?.count ?? 0) <= most,
            (request.keys?.count ?? 0) <= most
        else {
            throw ServiceError.badRequest("requests, urls, keys: at most \(most) each", code: "invalid_body")
        }
        var fetches: [Fetch] = []
        for (index, item) in (request.requests ?? []).enumerated() {
            try CacheFields.key.check(item.key, "requests[\(index)].key")
            try check(url: item.url, field: "requests[\(index)].url")
            try Self.check(headers: item.headers, field: "requests[\(index)].headers")
            fetches.append(Fetch(key: item.key, url: item.url, headers: item.headers ?? [:]))
        }
        for (index, url) in (request.urls ?? []).enumerated() {
            try check(url: url, field: "urls[\(index)]")
            guard let components = URLComponents(string: url) else { continue }
            let key = components.percentEncodedPath + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
            fetches.append(Fetch(key: key.isEmpty ? "/" : key, url: url))
        }
        var keys = request.keys ?? []
        for (index, key) in keys.enumerated() { try CacheFields.key.check(key, "keys[\(index)]") }
        if let template = request.loaderURL {
            guard template.contains("{key}") else {
                throw ServiceError.badRequest("loaderURL: must contain {key}", code: "invalid_body")
            }
            try check(url: template.replacingOccurrences(of: "{key}", with: "k"), field: "loaderURL")
        }
        if let pattern = request.pattern {
            try CacheFields.pattern.check(pattern, "pattern")
            guard request.loaderURL != nil else {
                throw ServiceError.badRequest("pattern: needs a loaderURL", code: "invalid_body")
            }
            do {
                keys += try await cache.keys(in: request.namespace, matching: pattern)
            } catch {
                throw ServiceError.unavailable(
                    "pattern: the keys could not be listed from L2",
                    code: "l2_unavailable",
                    retryAfterSeconds: 1
                )
            }
        }
        if !keys.isEmpty || request.keys != nil {
            guard let template = request.loaderURL else {
                throw ServiceError.badRequest("loaderURL: required with keys or a pattern", code: "invalid_body")
            }
            for key in keys {
                let encoded =
                    key.addingPercentEncoding(
                        withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?#"))
                    ) ?? key
                fetches.append(Fetch(key: key, url: template.replacingOccurrences(of: "{key}", with: encoded)))
            }
        }
        guard request.pattern != nil || !fetches.isEmpty else {
            throw ServiceError.badRequest(
                "name what to warm: requests, urls, or keys/pattern with a loaderURL",
                code: "invalid_body"
            )
        }
        guard fetches.count <= Self.maximumItems else {
            throw ServiceError.badRequest("at most \(Self.maximumItems) items a job", code: "invalid_body")
        }
        for fetch in fetches where (try? CacheAddress(namespace: request.namespace, key: fetch.key)) == nil {
            throw ServiceError.badRequest(
                "a key is 1 to \(CacheAddress.maximumKeyBytes) bytes without control characters",
                code: "invalid_body"
            )
        }
        return Plan(request: request, fetches: fetches)
    }

    /// A gateway job: the targets the API names for the day, each page of each organization (in the job's time
    /// zones) fetched through the gateway on its behalf.
    private func resolve(_ request: WarmRequest, through gateway: WarmRequest.Gateway) async throws(ServiceError)
        -> Plan
    {
        guard request.requests == nil, request.urls == nil, request.keys == nil, request.pattern == nil,
            request.loaderURL == nil, request.headers == nil
        else {
            throw ServiceError.badRequest(
                "gateway: a gateway job names its pages through targetsURL alone",
                code: "invalid_body"
            )
        }
        guard let serviceToken else {
            throw ServiceError.unavailable(
                "gateway: this service has no credential of its own (service.token) to warm with",
                code: "no_service_token"
            )
        }
        if let concurrency = request.concurrency, !(1...Self.maximumConcurrency).contains(concurrency) {
            throw ServiceError.badRequest("concurrency: 1 to \(Self.maximumConcurrency)", code: "invalid_body")
        }
        if let ttl = request.ttl, !(ttl.isFinite && ttl >= 1 && ttl <= 31_536_000) {
            throw ServiceError.badRequest("ttl: 1 to 31536000 seconds", code: "invalid_body")
        }
        if let name = request.name { try CacheFields.jobName.check(name, "name") }
        try check(url: gateway.url, field: "gateway.url")
        try check(url: gateway.targetsURL, field: "gateway.targetsURL")
        let zones = gateway.timezones.map(Set.init)
        if let zones, zones.count > 1_000 || zones.contains(where: { TimeZone(identifier: $0) == nil }) {
            throw ServiceError.badRequest("gateway.timezones: at most 1000 IANA time zones", code: "invalid_body")
        }
        let targets: WarmingTargets
        do {
            var outgoing = HTTPClientRequest(url: gateway.targetsURL)
            outgoing.headers.add(name: "accept", value: "application/json")
            outgoing.headers.add(name: "authorization", value: "Bearer \(serviceToken)")
            let response = try await http.execute(outgoing, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else { throw WarmFailure("HTTP \(response.status.code)") }
            targets = try WedSyncJSON.makeDecoder().decode(WarmingTargets.self, from: Data(body.readableBytesView))
        } catch {
            let reason = (error as? WarmFailure)?.reason ?? "\(type(of: error))"
            throw ServiceError.unavailable(
                "gateway.targetsURL: the warming targets could not be read (\(reason))",
                code: "targets_unavailable",
                retryAfterSeconds: 5
            )
        }
        let base = gateway.url.hasSuffix("/") ? String(gateway.url.dropLast()) : gateway.url
        var headers = [
            "Authorization": "Bearer \(serviceToken)", "Cache-Control": "no-cache",
            "Accept-Encoding": "gzip",
        ]
        if let ttl = request.ttl { headers[WarmingHeaders.ttl] = String(Int(ttl)) }
        var fetches: [Fetch] = []
        for organization in targets.organizations where zones?.contains(organization.timezone) ?? true {
            for path in organization.paths where path.hasPrefix("/") && !path.hasPrefix("//") {
                var own = headers
                own[WarmingHeaders.tenant] = String(organization.organizationId)
                fetches.append(
                    Fetch(
                        key: "org:\(organization.organizationId)\(path)",
                        url: base + path,
                        headers: own,
                        throughGateway: true
                    )
                )
            }
        }
        guard fetches.count <= Self.maximumItems else {
            throw ServiceError.badRequest("at most \(Self.maximumItems) pages a job", code: "invalid_body")
        }
        return Plan(request: request, fetches: fetches)
    }

    private static func check(headers: [String: String]?, field: String) throws(ServiceError) {
        guard (headers?.count ?? 0) <= 32 else {
            throw ServiceError.badRequest("\(field): at most 32", code: "invalid_body")
        }
        for (name, value) in headers ?? [:] {
            guard (1...64).contains(name.unicodeScalars.count),
                name.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                })
            else {
                throw ServiceError.badRequest(
                    "\(field): names are 1 to 64 ASCII letters, digits and '-'",
                    code: "invalid_body"
                )
            }
            try CacheFields.headerValue.check(value, "\(field).\(name)")
        }
    }

    private func check(url: String, field: String) throws(ServiceError) {
        guard url.unicodeScalars.count <= CacheFields.maximumURLLength, let components = URLComponents(string: url),
            ["http", "https"].contains(components.scheme ?? ""), components.host?.isEmpty == false
        else {
            throw ServiceError.badRequest("\(field): expected an http:// or https:// URL", code: "invalid_body")
        }
        try origins.check(url, field: field)
    }
}

private struct WarmFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
