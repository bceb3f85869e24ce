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
