import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

/// The service kit's HTTP behaviour, through Hummingbird's in-process router test client (no sockets).
@Suite("Service kit: routes, errors, auth, request ids")
struct ServiceKitRouterTests {
    static let token = "test-admin-token-0123456789"

    struct Echo: Codable, Sendable, OpenAPISchemaProviding {
        var name: String
        var count: Int
        static var openAPISchema: JSONSchema {
            .object(["name": .string(), "count": .integer()], required: ["name", "count"])
        }
    }

    struct Boom: Error {}

    static func makeService(maxBodyBytes: Int = 4096, adminToken: String? = token) async throws -> ServiceBuilder {
        var environment = ["WEDSYNC_HTTP_MAX_BODY_BYTES": String(maxBodyBytes)]
        if let adminToken { environment["WEDSYNC_ADMIN_TOKEN"] = adminToken }
        let configuration = try await ServiceConfiguration.load(
            service: "wedsync-test",
            defaultPort: 0,
            arguments: ["wedsync-test"],
            environment: environment
        )
        let service = ServiceBuilder(configuration: configuration, summary: "test")
        service.routes.post(
            "/v1/echo",
            RouteSpec(summary: "Echo a body", access: .admin, requestBody: .of(Echo.self), response: .of(Echo.self))
        ) { request, context in
            try await request.decodeJSON(Echo.self, context: context)
        }
        service.routes.post(
            "/v1/public-echo",
            RouteSpec(
                summary: "Echo without auth",
                access: .public,
                requestBody: .of(Echo.self),
                response: .of(Echo.self)
            )
        ) { request, context in
            try await request.decodeJSON(Echo.self, context: context)
        }
        service.routes.get("/v1/things/{id}", RouteSpec(summary: "A thing", access: .public)) { _, context -> Echo in
            guard let id = context.parameters.get("id", as: Int.self) else {
                throw ServiceError.badRequest("id: expected an integer", code: "invalid_parameter")
            }
            guard id == 1 else { throw ServiceError.notFound("no thing \(id)") }
            return Echo(name: "thing", count: id)
        }
        service.routes.get("/v1/boom", RouteSpec(summary: "Fails unexpectedly", access: .public)) { _, _ -> Echo in
            throw Boom()
        }
        service.routes.get(
            "/v1/request-id",
            RouteSpec(summary: "The request id as the handler sees it", access: .public)
        ) { _, context in
            ["context": context.requestID, "taskLocal": RequestID.current ?? ""]
        }
        return service
    }

    static func decodeEnvelope(_ response: TestResponse) throws -> ErrorEnvelope {
        try WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: Data(response.body.readableBytesView))
    }

    static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static let authorized: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]

    @Test("An unknown route is a 404 in the error envelope")
    func unknownRoute() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/nowhere", method: .get)
            #expect(response.status == .notFound)
            let envelope = try Self.decodeEnvelope(response)
            #expect(envelope.error.code == "not_found")
            #expect(envelope.error.message.contains("/v1/nowhere"))
        }
    }

    @Test("A mutating route without the admin token is a 401 in the error envelope")
    func missingToken() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/echo",
                method: .post,
                body: Self.json(#"{"name":"a","count":1}"#)
            )
            #expect(response.status == .unauthorized)
            #expect(try Self.decodeEnvelope(response).error.code == "unauthorized")
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test(
        "A wrong token, or another scheme, is refused; the right one passes",
        arguments: [
            ("Bearer wrong-token-0123456789", HTTPResponse.Status.unauthorized),
            ("Bearer \(token)x", .unauthorized),
            ("Bearer \(String(token.dropLast()))", .unauthorized),
            ("Basic \(token)", .unauthorized),
            ("bearer \(token)", .ok),
            ("Bearer \(token)", .ok),
        ]
    )
    func tokenChecks(header: String, expected: HTTPResponse.Status) async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/echo",
                method: .post,
                headers: [.authorization: header],
                body: Self.json(#"{"name":"a","count":1}"#)
            )
            #expect(response.status == expected)
        }
    }

    @Test("Without a configured admin token, admin routes stay closed")
    func noConfiguredToken() async throws {
        try await Self.makeService(adminToken: nil).buildApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/echo",
                method: .post,
                headers: [.authorization: "Bearer anything-at-all-here"],
                body: Self.json(#"{"name":"a","count":1}"#)
            )
            #expect(response.status == .unauthorized)
            #expect(try Self.decodeEnvelope(response).error.message.contains("no admin.token"))
        }
    }

    @Test(
        "A malformed body is a 400 invalid_body that names the field",
        arguments: [
            (#"{"name":"a","count":"many"}"#, "count"),
            (#"{"name":"a"}"#, "count"),
            (#"{"name":"a","count":1"#, "JSON"),
            ("", "JSON body"),
        ]
    )
    func malformedBody(body: String, mention: String) async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/echo",
                method: .post,
                headers: Self.authorized,
                body: Self.json(body)
            )
            #expect(response.status == .badRequest)
            let envelope = try Self.decodeEnvelope(response)
            #expect(envelope.error.code == "invalid_body")
            #expect(envelope.error.message.contains(mention))
        }
    }

    @Test("A valid body passes through")
    func validBody() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/public-echo",
                method: .post,
                headers: [.contentType: "application/json"],
                body: Self.json(#"{"name":"Ava","count":3}"#)
            )
            #expect(response.status == .ok)
            let echo = try WedSyncJSON.makeDecoder().decode(Echo.self, from: Data(response.body.readableBytesView))
            #expect(echo.name == "Ava" && echo.count == 3)
        }
    }

    @Test("A body over the limit is a 413 in the error envelope")
    func bodyTooLarge() async throws {
        try await Self.makeService(maxBodyBytes: 1024).buildApplication().test(.router) { client in
            let large = #"{"name":""# + String(repeating: "x", count: 2000) + #"","count":1}"#
            let response = try await client.execute(uri: "/v1/public-echo", method: .post, body: Self.json(large))
            #expect(response.status == .contentTooLarge)
            #expect(try Self.decodeEnvelope(response).error.code == "payload_too_large")
        }
    }

    @Test("Handler errors keep their status; unexpected ones become a generic 500")
    func handlerErrors() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let missing = try await client.execute(uri: "/v1/things/2", method: .get)
            #expect(missing.status == .notFound)
            #expect(try Self.decodeEnvelope(missing).error.message == "no thing 2")

            let badID = try await client.execute(uri: "/v1/things/abc", method: .get)
            #expect(badID.status == .badRequest)
            #expect(try Self.decodeEnvelope(badID).error.code == "invalid_parameter")

            let boom = try await client.execute(uri: "/v1/boom", method: .get)
            #expect(boom.status == .internalServerError)
            let envelope = try Self.decodeEnvelope(boom)
            #expect(envelope.error.code == "internal_error")
            #expect(!envelope.error.message.contains("Boom"))
        }
    }

    @Test("The caller's x-request-id is adopted and echoed; a missing or unsafe one is replaced")
    func requestIDs() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let header = HTTPField.Name("x-request-id")!
            let adopted = try await client.execute(
                uri: "/v1/request-id",
                method: .get,
                headers: [header: "phone-42.abc"]
            )
            #expect(adopted.headers[header] == "phone-42.abc")
            let seen = try JSONDecoder().decode([String: String].self, from: Data(adopted.body.readableBytesView))
            #expect(seen == ["context": "phone-42.abc", "taskLocal": "phone-42.abc"])

            let generated = try await client.execute(uri: "/v1/request-id", method: .get)
            let id = try #require(generated.headers[header])
            #expect(id.count == 32)

            let unsafe = try await client.execute(
                uri: "/v1/request-id",
                method: .get,
                headers: [header: "bad id\r\nx: y"]
            )
            #expect(unsafe.headers[header] != "bad id\r\nx: y")
            #expect(unsafe.headers[header]?.count == 32)

            let onError = try await client.execute(uri: "/v1/nowhere", method: .get, headers: [header: "trace-1"])
            #expect(onError.headers[header] == "trace-1")
        }
    }

    @Test("The log level can be read and changed by an admin, and a bad level is a 400")
    func logLevel() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let anonymous = try await client.execute(uri: "/v1/admin/log-level", method: .get)
            #expect(anonymous.status == .unauthorized)

            let bad = try await client.execute(
                uri: "/v1/admin/log-level",
                method: .put,
                headers: Self.authorized,
                body: Self.json(#"{"level":"loud"}"#)
            )
            #expect(bad.status == .badRequest)
            #expect(try Self.decodeEnvelope(bad).error.code == "invalid_parameter")

            let previous = LogLevelControl.level
            defer { LogLevelControl.level = previous }
            let changed = try await client.execute(
                uri: "/v1/admin/log-level",
                method: .put,
                headers: Self.authorized,
                body: Self.json(#"{"level":"DEBUG"}"#)
            )
            #expect(changed.status == .ok)
            #expect(LogLevelControl.level == .debug)
        }
    }

    @Test("/metrics counts requests by route template, not raw path")
    func metricsByTemplate() async throws {
        // The registry is the process's, shared with every other test: this test's route is its own.
        let probe = "/v1/probe-\(UUID().uuidString.prefix(8).lowercased())"
        let service = try await Self.makeService()
        service.routes.get("\(probe)/{name}", RouteSpec(summary: "A probe", access: .public)) { _, context -> Echo in
            guard context.parameters.get("name") == "ok" else { throw ServiceError.notFound() }
            return Echo(name: "ok", count: 1)
        }
        try await service.buildApplication().test(.router) { client in
            _ = try await client.execute(uri: "\(probe)/ok", method: .get)
            _ = try await client.execute(uri: "\(probe)/ok", method: .get)
            _ = try await client.execute(uri: "\(probe)/guest-ann-smith", method: .get)
            _ = try await client.execute(uri: "\(probe)-nowhere/guest-bo-jones", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: metrics.body)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(text.contains(#"http_requests_total{route="\#(probe)/{name}",method="GET",status="200"} 2"#))
            #expect(text.contains(#"http_requests_total{route="\#(probe)/{name}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"http_request_duration_seconds_count{route="\#(probe)/{name}",method="GET"} 3"#))
            #expect(!text.contains("guest-ann") && !text.contains("guest-bo"))
            #expect(text.contains("# HELP http_request_duration_seconds"))
        }
    }

    @Test("/openapi.json lists every route, with admin routes secured and bodies described")
    func openAPIDocument() async throws {
        try await Self.makeService().buildApplication().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView))
            #expect(document["openapi"] == "3.1.0")
            let paths = try #require(document["paths"])
            for path in [
                "/health", "/ready", "/metrics", "/openapi.json", "/v1/admin/log-level", "/v1/echo", "/v1/things/{id}",
            ] {
                #expect(paths[path] != nil, "missing \(path)")
            }
            let echo = try #require(paths["/v1/echo"]?["post"])
            #expect(echo["security"] == [["adminToken": []]])
            #expect(
                echo["requestBody"]?["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/Echo"]
            )
            #expect(echo["responses"]?["401"] != nil)
            #expect(paths["/v1/public-echo"]?["post"]?["security"] == nil)
            let thing = try #require(paths["/v1/things/{id}"]?["get"])
            #expect(
                thing["parameters"] == [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]]
            )
            #expect(document["components"]?["schemas"]?["Echo"] != nil)
            #expect(document["components"]?["schemas"]?["ErrorEnvelope"] != nil)
        }
    }
}
