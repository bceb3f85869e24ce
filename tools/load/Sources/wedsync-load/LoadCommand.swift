import Foundation
import WedSyncLoad

/// `wedsync-load`: offers load to an HTTP origin and reports latencies measured from each request's intended
/// start.
///
/// ```
/// wedsync-load --url http://127.0.0.1:8080 --get /api/dashboard --rate 200 --duration 30s
/// wedsync-load --url http://127.0.0.1:8080 --get clients=/api/clients --users 50 --think 1s..3s --duration 5m \
///     --header 'Authorization: Bearer wsk_...' --threshold 'p(95)<200' --threshold 'rate<0.01' --json
/// WEDSYNC_TOKEN=wsk_... wedsync-load --url http://127.0.0.1:8080 --scenario vendor-management.yaml --duration-scale 0.1
/// wedsync-api load-data > data.json
/// WEDSYNC_MONITOR_TOKEN=... wedsync-load --url http://127.0.0.1:8080 --scenario infrastructure/load/mobile-usage.yaml \
///     --data data.json --cross-check http://127.0.0.1:8092
/// ```
///
/// `--cross-check METRICS_URL` starts the run on a fresh 10-second bucket and afterwards compares, route by route,
/// what the metrics service counted in the run's window with what was sent (its monitor token from
/// `WEDSYNC_MONITOR_TOKEN`); a mismatch fails the run as a breached threshold does.
///
/// Exit status: 0 when every threshold holds, 99 when one is breached (as k6), 2 for a usage error (the message
/// names the flag).
@main
struct LoadCommand {
    struct UsageError: Error {
        let message: String
    }

    static let usage = """
        usage: wedsync-load --url http://HOST:PORT (--scenario FILE [--duration-scale X] | --get [NAME=]PATH... \
        (--rate N [--ramp DURATION] | --users N [--think MIN..MAX]) --duration DURATION) [--connections N] \
        [--timeout DURATION] [--header 'NAME: VALUE']... [--threshold [ENDPOINT:]RULE]... [--seed N] [--json] \
        [--ndjson FILE] [--data FILE] [--source-addresses N] [--cross-check METRICS_URL]
               wedsync-load --url ... (--scenario FILE | --get ...) --stress [--budget MS] [--start-rate N] \
        [--step-rate N] [--max-rate N] [--hold DURATION]
               wedsync-load --url ... (--scenario FILE | --get ...) --spike BASE_RATE [--spike-factor 5] \
        [--hold 60s] [--budget MS]
        """

    static func main() async {
        do {
            let options = try Options(CommandLine.arguments.dropFirst())
            exit(await run(options))
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("wedsync-load: \(error.message)\n\(usage)\n".utf8))
            exit(2)
        } catch {
            FileHandle.standardError.write(Data("wedsync-load: \(error)\n".utf8))
            exit(2)
        }
    }

    struct Options {
        var target: LoadTarget?
        var templates: [RequestTemplate] = []
        var headers: [RequestTemplate.Header] = []
        var rate: Double?
        var ramp: Duration = .zero
        var users: Int?
        var think = ThinkTime.none
        var duration: Duration?
        var connections = 64
        var timeout: Duration = .seconds(30)
        var thresholds: [(scope: String?, threshold: Threshold)] = []
        var seed: UInt64 = 1
        var json = false
        var ndjson: String?
        var scenario: String?
        var durationScale = 1.0
        var data: LoadData?
        var sourceAddresses: Int?
        /// The metrics service to compare with, and its monitor token.
        var crossCheck: (target: LoadTarget, token: String)?
        /// `--stress` (find the knee) or `--spike BASE` instead of the model.
        var stress = false
        var spikeBase: Double?
        var spikeFactor = 5.0
        var budget = 200.0
        var startRate = 50.0
        var stepRate: Double?
        var maximumRate = 20_000.0
        var hold: Duration?
        /// The run's name, model and requests: from the flags or the scenario file.
        var name = "command line"
        var model = LoadModel.closed(users: 1, thinkTime: .none, duration: .zero)

        init(_ arguments: ArraySlice<String>) throws {
            var arguments = arguments
            func value(_ flag: String) throws -> String {
                guard let value = arguments.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
                return value
            }
            func durationValue(_ flag: String) throws -> Duration {
                let text = try value(flag)
                guard let duration = DurationText.parse(text) else {
                    throw UsageError(message: "\(flag): \(text) is not a duration (500ms, 30s, 2m)")
                }
                return duration
            }
            func whole(_ flag: String, upTo limit: Int) throws -> Int {
                let number = try positive(flag)
                guard number == number.rounded(), number <= Double(limit) else {
                    throw UsageError(message: "\(flag): a whole number up to \(limit)")
                }
                return Int(number)
            }
            func positive(_ flag: String) throws -> Double {
                let text = try value(flag)
                guard let number = Double(text), number > 0, number.isFinite else {
                    throw UsageError(message: "\(flag): \(text) is not a positive number")
                }
                return number
            }
            while let flag = arguments.popFirst() {
                switch flag {
                case "--url":
                    let text = try value(flag)
                    guard let target = LoadTarget(url: text) else {
                        throw UsageError(message: "--url: \(text) is not http://HOST[:PORT]")
                    }
                    self.target = target
                case "--get":
                    let text = try value(flag)
                    let (name, path) =
                        text.firstIndex(of: "=").map {
                            (String(text[..<$0]), String(text[text.index(after: $0)...]))
                        } ?? ("GET \(text)", text)
                    guard path.hasPrefix("/") else { throw UsageError(message: "--get: \(text) has no /path") }
                    templates.append(RequestTemplate(name: name, target: path))
                case "--header":
                    let text = try value(flag)
                    guard let colon = text.firstIndex(of: ":"), colon > text.startIndex else {
                        throw UsageError(message: "--header: \(text) is not NAME: VALUE")
                    }
                    headers.append(
                        .init(
                            String(text[..<colon]),
                            String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                        )
                    )
                case "--rate": rate = try positive(flag)
                case "--ramp": ramp = try durationValue(flag)
                case "--users": users = try whole(flag, upTo: 100_000)
                case "--think":
                    let text = try value(flag)
                    guard let parsed = ThinkTime(parsing: text) else {
                        throw UsageError(message: "--think: \(text) is not MIN..MAX (1s..3s)")
                    }
                    think = parsed
                case "--duration": duration = try durationValue(flag)
                case "--connections": connections = try whole(flag, upTo: 10_000)
                case "--timeout": timeout = try durationValue(flag)
                case "--threshold":
                    let text = try value(flag)
                    // `ENDPOINT:RULE`, or a rule for the whole run.
                    let split = text.lastIndex(of: ":")
                    let scope = split.map { String(text[..<$0]) }
                    let rule = split.map { String(text[text.index(after: $0)...]) } ?? text
                    guard let threshold = Threshold(rule) else {
                        throw UsageError(message: "--threshold: \(rule) is not a rule (p(95)<200, avg<100, rate<0.01)")
                    }
                    thresholds.append((scope, threshold))
                case "--seed":
                    let text = try value(flag)
                    guard let number = UInt64(text) else {
                        throw UsageError(message: "--seed: \(text) is not a number")
                    }
                    seed = number
                case "--scenario": scenario = try value(flag)
                case "--duration-scale": durationScale = try positive(flag)
                case "--data":
                    let path = try value(flag)
                    guard let bytes = FileManager.default.contents(atPath: path) else {
                        throw UsageError(message: "--data: cannot read \(path)")
                    }
                    do {
                        data = try LoadData(json: bytes)
                    } catch {
                        throw UsageError(message: "--data: \(path): \(error)")
                    }
                case "--source-addresses": sourceAddresses = try whole(flag, upTo: 60_000)
                case "--cross-check":
                    let text = try value(flag)
                    guard let metrics = LoadTarget(url: text) else {
                        throw UsageError(message: "--cross-check: \(text) is not http://HOST[:PORT]")
                    }
                    guard let token = ProcessInfo.processInfo.environment["WEDSYNC_MONITOR_TOKEN"], !token.isEmpty
                    else {
                        throw UsageError(
                            message:
                                "--cross-check: WEDSYNC_MONITOR_TOKEN (the metrics service's monitor token) is not set"
                        )
                    }
                    crossCheck = (metrics, token)
                case "--stress": stress = true
                case "--spike": spikeBase = try positive(flag)
                case "--spike-factor": spikeFactor = try positive(flag)
                case "--budget": budget = try positive(flag)
                case "--start-rate": startRate = try positive(flag)
                case "--step-rate": stepRate = try positive(flag)
                case "--max-rate": maximumRate = try positive(flag)
                case "--hold": hold = try durationValue(flag)
                case "--json": json = true
                case "--ndjson": ndjson = try value(flag)
                default: throw UsageError(message: "unknown flag \(flag)")
                }
            }
            guard target != nil else { throw UsageError(message: "--url is required") }
            if stress || spikeBase != nil {
                guard !(stress && spikeBase != nil), rate == nil, users == nil, duration == nil else {
                    throw UsageError(
                        message:
                            "--stress and --spike set the rates themselves (no --rate, --users or --duration), one of them"
                    )
                }
            }
            if let scenario {
                guard templates.isEmpty, rate == nil, users == nil, duration == nil else {
                    throw UsageError(
                        message:
                            "--scenario: its file says the requests and the model (no --get, --rate, --users or --duration)"
                    )
                }
                let text: String
                do {
                    text = try String(contentsOfFile: scenario, encoding: .utf8)
                } catch {
                    throw UsageError(message: "--scenario: cannot read \(scenario)")
                }
                do {
                    let file = try Scenario(
                        yaml: text,
                        durationScale: durationScale,
                        environment: ProcessInfo.processInfo.environment
                    )
                    name = file.name
                    model = file.model
                    templates = file.templates
                    if sourceAddresses == nil { sourceAddresses = file.sourceAddresses }
                    thresholds = file.thresholds.map { ($0.scope, $0.threshold) } + thresholds
                } catch {
                    throw UsageError(message: "\(scenario): \(error)")
                }
            } else if stress || spikeBase != nil {
                guard !templates.isEmpty else { throw UsageError(message: "--get or --scenario is required") }
            } else {
                guard !templates.isEmpty else { throw UsageError(message: "--get is required (at least one path)") }
                guard let duration = duration.map({ $0 * durationScale }) else {
                    throw UsageError(message: "--duration is required")
                }
                guard (rate == nil) != (users == nil) else {
                    throw UsageError(message: "--rate (open model) or --users (closed model), one of them")
                }
                if let rate {
                    model = .open(
                        stages: ramp > .zero
                            ? [RateStage(duration: ramp, target: rate), RateStage(duration: duration, target: rate)]
                            : RateStage.constant(rate, for: duration)
                    )
                } else {
                    model = .closed(users: users ?? 1, thinkTime: think, duration: duration)
                }
            }
            for (scope, _) in thresholds {
                if let scope, !templates.contains(where: { $0.name == scope }) {
                    throw UsageError(message: "--threshold: no endpoint named \(scope)")
                }
            }
            let extra = headers
            templates = templates.map { template in
                var template = template
                template.headers += extra
                return template
            }
            let named = templates.filter { !$0.dataFields.isEmpty }.map(\.name)
            if let data {
                do {
                    try data.check(templates)
                } catch {
                    throw UsageError(message: "--data: \(error)")
                }
            } else if let first = named.first {
                throw UsageError(message: "--data is required: \(first) names {{fields}} of a user's row")
            }
            if let count = sourceAddresses, let target, LoadRunner.loopbackSources(count, for: target) == nil {
                throw UsageError(message: "--source-addresses: only for a target on loopback (127.x.x.x or localhost)")
            }
        }
    }

    static func run(_ options: Options) async -> Int32 {
        guard let target = options.target else { return 2 }
        if options.stress || options.spikeBase != nil { return await stressOrSpike(options, target: target) }
        let model = options.model
        let runner = LoadRunner(
            target: target,
            mix: RequestMix(options.templates),
            model: model,
            connections: options.connections,
            timeout: options.timeout,
            seed: options.seed,
            data: options.data,
            sourceAddresses: options.sourceAddresses.flatMap { LoadRunner.loopbackSources($0, for: target) } ?? []
        )
        // The cross-check reads the run's own window: it starts on a fresh 10-second bucket of the metrics service.
        if options.crossCheck != nil {
            let now = Date().timeIntervalSince1970
            let wait = 10 - now.truncatingRemainder(dividingBy: 10)
            FileHandle.standardError.write(
                Data(String(format: "wedsync-load: starting on the next 10 s bucket (%.1f s)\n", wait).utf8)
            )
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 20))
        }
        let windowStart = Int64(Date().timeIntervalSince1970)

        let recorder = LatencyRecorder(endpoints: options.templates.map(\.name))
        let points = options.ndjson.map { FileManager.default.createFile(atPath: $0, contents: nil) }
        let output = points == true ? options.ndjson.flatMap { FileHandle(forWritingAtPath: $0) } : nil
        if points == false {
            FileHandle.standardError.write(Data("wedsync-load: --ndjson: cannot write \(options.ndjson ?? "")\n".utf8))
            return 2
        }
        let live = isatty(STDERR_FILENO) == 1
        let total = Int(model.duration.components.seconds)
        let facts = await runner.run(recorder: recorder) { tick in
            let second = Int(tick.elapsed.components.seconds)
            let p95 = tick.interval.milliseconds(at: 95)
            if let output {
                let point =
                    "{\"t\":\(second),\"requests\":\(tick.interval.requests),\"failures\":\(tick.interval.failures),"
                    + "\"p50\":\(tick.interval.milliseconds(at: 50)),\"p95\":\(p95),"
                    + "\"p99\":\(tick.interval.milliseconds(at: 99)),\"queued\":\(tick.queued)}\n"
                output.write(Data(point.utf8))
            }
            if live {
                let line = String(
                    format: "\r%4ds/%ds  %6d req/s  p95 %8.2f ms  errors %d  queued %d   ",
                    second,
                    total,
                    tick.interval.requests,
                    p95,
                    tick.interval.failures,
                    tick.queued
                )
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        if live { FileHandle.standardError.write(Data("\n".utf8)) }
        try? output?.close()
        var crossCheck: CrossCheck?
        if let (metrics, token) = options.crossCheck {
            crossCheck = await CrossCheck.check(
                metrics: metrics,
                token: token,
                from: windowStart,
                to: Int64(Date().timeIntervalSince1970.rounded(.up)),
                expected: CrossCheck.expected(templates: options.templates, recorder: recorder),
                hops: recorder.hops
            )
        }
        let summary = LoadSummary(
            scenario: options.name,
            model: model,
            facts: facts,
            recorder: recorder,
            thresholds: options.thresholds,
            crossCheck: crossCheck
        )
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(summary) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
        } else {
            print(summary.table)
            if let crossCheck { print(crossCheck.table) }
        }
        return summary.passed ? 0 : 99
    }

    /// `--stress`: the knee; `--spike BASE`: the spike and the recovery. Both in the open model, with the mix (and
    /// data) of the flags or the scenario; exit 0 with the figures (a knee is found, not held), 2 on a usage error.
    static func stressOrSpike(_ options: Options, target: LoadTarget) async -> Int32 {
        let runner = LoadRunner(
            target: target,
            mix: RequestMix(options.templates),
            model: .open(stages: []),
            connections: options.connections,
            timeout: options.timeout,
            seed: options.seed,
            data: options.data,
            sourceAddresses: options.sourceAddresses.flatMap { LoadRunner.loopbackSources($0, for: target) } ?? []
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let base = options.spikeBase {
            let result = await SpikeTest(
                runner: runner,
                baseRate: base,
                factor: options.spikeFactor,
                hold: options.hold ?? .seconds(60),
                budget: options.budget
            ).run()
            if options.json, let data = try? encoder.encode(result) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                print(result.summary)
            }
            return 0
        }
        let live = isatty(STDERR_FILENO) == 1
        let result = await StressTest(
            runner: runner,
            startRate: options.startRate,
            stepRate: options.stepRate ?? options.startRate,
            maximumRate: options.maximumRate,
            hold: options.hold ?? .seconds(10),
            budget: options.budget
        ).run { step in
            guard live else { return }
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "%6.0f req/s offered: p95 %8.2f ms, %.2f%% failed\n",
                        step.rate,
                        step.p95,
                        step.failureRate * 100
                    ).utf8
                )
            )
        }
        if options.json, let data = try? encoder.encode(result) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            print(result.table)
        }
        return 0
    }
}
