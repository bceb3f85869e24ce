import Foundation
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncTestSupport

/// Every route of every service of the running stack (from each service's own `/openapi.json`), called by an
/// anonymous caller, by suppliers of two organizations, and by a service identity the route is not for: no
/// cross-tenant body, no unauthorised read of monitoring data or cache entries, no unauthorised write, no 5xx.
extension StackTests {
    struct Operation: CustomStringConvertible {
        var service: ServiceProcess
        var method: HTTPMethod
        var template: String
        var access: String
        var description: String { "\(service.name) \(method.rawValue) \(template) (\(access))" }
    }

    /// The operations a service's OpenAPI document lists, with their `x-access`.
    static func operations(of service: ServiceProcess) async throws -> [Operation] {
        let document = try await HTTP.get(service.baseURL + "/openapi.json")
        let json = try #require(try JSONSerialization.jsonObject(with: document.data) as? [String: Any])
        let paths = try #require(json["paths"] as? [String: [String: Any]])
        var operations: [Operation] = []
        for (path, methods) in paths {
            for (method, operation) in methods {
                let access = (operation as? [String: Any])?["x-access"] as? String ?? "undeclared"
                operations.append(
                    Operation(
                        service: service,
                        method: HTTPMethod(rawValue: method.uppercased()),
                        template: path,
                        access: access
                    )
                )
            }
        }
        return operations.sorted { $0.description < $1.description }
    }

    /// A path for `template` that names organization A's resources (and the gateway's cached pages).
    static func path(_ template: String, clientOfA: Int, namespace: String = CacheAddressSample.gateway) -> String {
        var path = template
        let values = [
            "{id}": String(clientOfA), "{kind}": "clients", "{namespace}": namespace,
            "{key}": "api%7C1%7C%2Fapi%2Fdashboard",
            "{pool}": "api", "{address}": "127.0.0.1:9", "{path}": "x",
        ]
        for (parameter, value) in values { path = path.replacingOccurrences(of: parameter, with: value) }
        return path
    }

    enum CacheAddressSample {
        static let gateway = "gw"
    }

    /// The service identity a route with `access` is not for (an unknown token where every service may call it).
    static func wrongService(for access: String) -> [(String, String)] {
        let allowed =
            access.components(separatedBy: "service:").dropFirst().first.map {
                $0.split(separator: ",").map(String.init)
            } ?? []
        guard !allowed.contains("*"), let other = TestCredentials.services.first(where: { !allowed.contains($0) })
        else {
            return [("Authorization", "Bearer not-a-service-token-0123456789")]
        }
        return TestCredentials.asService(other)
    }

    @Test("Anonymous, tenant A, tenant B and a wrong service identity against every route of every service")
    func everyRoute() async throws {
        let stack = try await StackFixture.shared.value
        let asA = [("Authorization", "Bearer \(stack.tenantA)")]
        let asB = [("Authorization", "Bearer \(stack.tenantB)")]
        let clients = try WedSyncJSON.makeDecoder().decode(
            ClientPage.self,
            from: try await HTTP.get(
                stack.api.baseURL + "/api/clients?from=2025-01-01&to=2027-12-31&limit=50",
                headers: asA
            ).data
        ).clients
        let clientOfA = try #require(clients.first).id
        // What would show organization A's data: its clients' emails and names.
        let secrets = Set(
            clients.compactMap(\.email) + clients.map { "\($0.partner1FirstName) \($0.partner1LastName)" }
        ).filter { $0.count > 5 }
        #expect(!secrets.isEmpty)
        // Organization A's pages in the gateway's cache first, so a leak through the cache would show.
        for page in [
            "/api/dashboard", "/api/clients?from=2025-01-01&to=2027-12-31&limit=50", "/api/clients/\(clientOfA)",
        ] {
            _ = try await HTTP.get(stack.gateway.baseURL + page, headers: asA)
            _ = try await HTTP.get(stack.gateway.baseURL + page, headers: asA)
        }

        var operations: [Operation] = []
        for service in stack.services { operations += try await StackTests.operations(of: service) }
        // The API's tenant routes again through the gateway, where tenants come in.
        operations += operations.filter { $0.service === stack.api && $0.access == "tenant" }.map {
            Operation(service: stack.gateway, method: $0.method, template: $0.template, access: "tenant")
        }
        #expect(operations.count > 60, "every service's routes: \(operations.count)")
        #expect(
            !operations.contains { $0.access == "undeclared" },
            "\(operations.filter { $0.access == "undeclared" })"
        )

        var failures: [String] = []
        var requests = 0
        for operation in operations {
            let url = operation.service.baseURL + StackTests.path(operation.template, clientOfA: clientOfA)
            let body: String? =
                [.POST, .PUT, .PATCH].contains(operation.method)
                ? #"{"notes":"attack","tags":["org:1"],"level":"trace"}"# : nil
            let callers: [(String, [(String, String)])] =
                [
                    ("anonymous", []), ("tenant B", asB),
                    ("wrong service", StackTests.wrongService(for: operation.access)),
                ] + (operation.access == "tenant" ? [] : [("tenant A", asA)])
            for (caller, headers) in callers {
                let answer = try await HTTP.send(
                    operation.method,
                    url,
                    headers: headers + [("Content-Type", "application/json")],
                    body: body
                )
                requests += 1
                let label = "\(operation) as \(caller): \(answer.status)"
                if answer.status >= 500 { failures.append("\(label) (a 5xx)") }
                if let leaked = secrets.first(where: { answer.text.contains($0) }) {
                    failures.append("\(label) carries organization A's data (\(leaked.prefix(3))…)")
                }
                switch operation.access {
                case "public":
                    break
                case "tenant":
                    if caller != "tenant B", answer.status != 401 { failures.append("\(label), expected 401") }
                    if caller == "tenant B", (200..<300).contains(answer.status), operation.template.contains("{id}") {
                        failures.append("\(label): another organization's resource answered")
                    }
                default:
                    if !(answer.status == 401 || answer.status == 403) {
                        failures.append("\(label), expected 401 or 403")
                    }
                }
            }
        }
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(requests) requests:\n\(failures.prefix(40).joined(separator: "\n"))"
        )

        // Organization A's client is unchanged by tenant B's PATCH.
        let after = try WedSyncJSON.makeDecoder().decode(
            Client.self,
            from: try await HTTP.get(stack.api.baseURL + "/api/clients/\(clientOfA)", headers: asA).data
        )
        #expect(after.notes != "attack")
        // The gateway's stored pages are not readable through the cache service, with any identity at all.
        for headers in [[], asA, TestCredentials.asService("wedsync-gateway"), TestCredentials.asAdmin] {
            let read = try await HTTP.get(
                stack.cache.baseURL + "/v1/entries/gw/api%7C1%7C%2Fapi%2Fdashboard",
                headers: headers
            )
            #expect(read.status != 200, "the gateway's namespace answered \(read.status)")
        }
        // Tenant B's own dashboard through the gateway is B's, though A's is cached at the same URL.
        let dashboard = try WedSyncJSON.makeDecoder().decode(
            DashboardCounts.self,
            from: try await HTTP.get(stack.gateway.baseURL + "/api/dashboard", headers: asB).data
        )
        #expect(dashboard.organizationId == 2)
        print("attack: \(operations.count) operations, \(requests) requests, \(failures.count) failures")
    }
}
