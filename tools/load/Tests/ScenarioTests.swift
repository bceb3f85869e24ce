import Foundation
import Testing
import WedSyncLoad

@Suite("Load tester: scenario files")
struct ScenarioTests {
    static let file = """
        name: vendor-management
        description: suppliers updating their vendors
        model:
          closed: {users: 25, duration: 3m, think: 1s..3s}
        requests:
          - name: vendors
            path: /api/vendors?limit=50
            weight: 3
            headers: {Authorization: "Bearer ${WEDSYNC_TOKEN}"}
          - method: patch
            path: /api/vendors/${VENDOR}
            body: '{"website":"https://example.com"}'
        thresholds:
          overall: ["p(95)<200", "rate<0.01"]
          vendors: ["p(99)<300"]
        """

    @Test("A file becomes a model, a weighted mix with the environment filled in, and scoped thresholds")
    func reads() throws {
        let scenario = try Scenario(
            yaml: Self.file,
            durationScale: 0.1,
            environment: ["WEDSYNC_TOKEN": "wsk_x", "VENDOR": "7"]
        )
        #expect(scenario.name == "vendor-management")
        #expect(
            scenario.model
                == .closed(
                    users: 25,
                    thinkTime: ThinkTime(minimum: .seconds(1), maximum: .seconds(3)),
                    duration: .seconds(18)
                )
        )
        #expect(scenario.templates.map(\.name) == ["vendors", "PATCH /api/vendors/${VENDOR}"])
        #expect(scenario.templates[0].headers == [.init("Authorization", "Bearer wsk_x")])
        #expect(scenario.templates[0].weight == 3 && scenario.templates[1].target == "/api/vendors/7")
        #expect(scenario.templates[1].method == "PATCH" && scenario.templates[1].body?.contains("example.com") == true)
        #expect(scenario.thresholds.map(\.scope) == [nil, nil, "vendors"])
        #expect(scenario.thresholds.map(\.threshold.description) == ["p(95)<200", "rate<0.01", "p(99)<300"])
    }

    @Test("File-wide headers go on every request under its own; routes and source addresses are read")
    func fileWide() throws {
        let scenario = try Scenario(
            yaml: """
                name: phones
                source-addresses: 40
                headers: {Authorization: "Bearer {{token}}", Accept-Encoding: gzip}
                model: {closed: {users: 40, duration: 1m}}
                requests:
                  - {name: client, path: '/api/clients/{{client}}', route: '/api/clients/{id}'}
                  - {name: other, path: /health, headers: {authorization: none}}
                """
        )
        #expect(scenario.sourceAddresses == 40)
        #expect(
            scenario.templates[0].headers == [
                .init("Accept-Encoding", "gzip"), .init("Authorization", "Bearer {{token}}"),
            ]
        )
        #expect(
            scenario.templates[0].route == "/api/clients/{id}"
                && scenario.templates[0].dataFields == ["client", "token"]
        )
        #expect(scenario.templates[1].headers == [.init("Accept-Encoding", "gzip"), .init("authorization", "none")])
    }

    /// The seeds' four scenarios as shipped: users and minutes as the seeds name them, every request counted under a
    /// route template, and a latency budget for each request from the tiers.
    @Test(
        "The four seed scenarios parse with the seeds' users and minutes",
        arguments: [
            ("wedding-planning", 50, 5), ("vendor-management", 25, 3), ("mobile-usage", 100, 4),
            ("analytics-dashboard", 10, 2),
        ] as [(String, Int, Int64)]
    )
    func seedScenarios(_ name: String, _ users: Int, _ minutes: Int64) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scenarios/\(name).yaml").path
        let scenario = try Scenario(yaml: try String(contentsOfFile: path, encoding: .utf8))
        #expect(scenario.name == name)
        guard case .closed(let count, _, let duration) = scenario.model else {
            Issue.record("\(name) is not a closed model")
            return
        }
        #expect(count == users && duration == .seconds(minutes * 60) && scenario.sourceAddresses == users)
        for template in scenario.templates {
            #expect(
                template.routeTemplate.hasPrefix("/api/") && !template.routeTemplate.contains("{{"),
                "\(template.name)"
            )
            #expect(template.dataFields.contains("token"), "\(template.name) sends no supplier's token")
            let latency = scenario.thresholds.contains {
                ($0.scope == template.name || $0.scope == nil) && $0.threshold.description.hasPrefix("p(95)<")
            }
            #expect(latency, "\(template.name) has no p95 budget")
        }
        #expect(scenario.thresholds.contains { $0.scope == nil && $0.threshold.description == "rate<0.01" })
    }

    @Test("Open models: a constant rate, or stages")
    func openModels() throws {
        let constant = try Scenario(
            yaml: "name: a\nmodel: {open: {rate: 50, duration: 2m}}\nrequests: [{path: /}]"
        )
        #expect(constant.model == .open(stages: RateStage.constant(50, for: .seconds(120))))
        let ramp = try Scenario(
            yaml:
                "name: b\nmodel: {open: {stages: [{duration: 30s, target: 100}, {duration: 1m, target: 100}]}}\nrequests: [{path: /}]"
        )
        #expect(ramp.model.duration == .seconds(90))
    }

    @Test(
        "Every mistake names its field",
        arguments: [
            ("name: a\nrequests: [{path: /}]", "model"),
            ("name: a\nmodel: {closed: {users: 0, duration: 1m}}\nrequests: [{path: /}]", "model.closed.users"),
            ("name: a\nmodel: {closed: {users: 2, duration: soon}}\nrequests: [{path: /}]", "model.closed.duration"),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m, think: x..y}}\nrequests: [{path: /}]",
                "model.closed.think"
            ),
            ("name: a\nmodel: {open: {rate: 5}}\nrequests: [{path: /}]", "model.open"),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}, open: {rate: 5, duration: 1m}}\nrequests: [{path: /}]",
                "model"
            ),
            (
                "name: a\nmodel: {open: {stages: [{duration: 1m, target: -1}]}}\nrequests: [{path: /}]",
                "model.open.stages[0].target"
            ),
            ("name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: []", "requests"),
            ("name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: x}]", "requests[0].path"),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /, method: TRACE}]",
                "requests[0].method"
            ),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /, weight: 0}]",
                "requests[0].weight"
            ),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: '/${MISSING}'}]",
                "requests[0].path"
            ),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /, name: x}, {path: /y, name: x}]",
                "requests[1].name"
            ),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /}]\nthresholds: {overall: [p95]}",
                "thresholds.overall[0]"
            ),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /}]\nthresholds: {nobody: [\"p(95)<1\"]}",
                "thresholds.nobody"
            ),
            ("name: a\nmodel: {closed: {users: two, duration: 1m}}\nrequests: [{path: /}]", "model.closed.users"),
            (
                "name: a\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /x, route: 'x?y'}]",
                "requests[0].route"
            ),
            (
                "name: a\nsource-addresses: 0\nmodel: {closed: {users: 2, duration: 1m}}\nrequests: [{path: /}]",
                "source-addresses"
            ),
        ] as [(String, String)]
    )
    func mistakes(_ yaml: String, _ field: String) {
        #expect(throws: Scenario.FileError.self) { try Scenario(yaml: yaml) }
        do {
            _ = try Scenario(yaml: yaml)
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }
}
