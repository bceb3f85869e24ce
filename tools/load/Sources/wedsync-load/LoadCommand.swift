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
/// ```
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
        [--ndjson FILE]
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
                case "--users":
                    let number = try positive(flag)
                    guard number == number.rounded(), number <= 100_000 else {
                        throw UsageError(message: "--users: a whole number up to 100000")
                    }
                    users = Int(number)
                case "--think":
                    let text = try value(flag)
                    guard let parsed = ThinkTime(parsing: text) else {
                        throw UsageError(message: "--think: \(text) is not MIN..MAX (1s..3s)")
                    }
                    think = parsed
                case "--duration": duration = try durationValue(flag)
                case "--connections":
                    let number = try positive(flag)
                    guard number == number.rounded(), number <= 10_000 else {
                        throw UsageError(message: "--connections: a whole number up to 10000")
                    }
                    connections = Int(number)
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
                case "--json": json = true
                case "--ndjson": ndjson = try value(flag)
                default: throw UsageError(message: "unknown flag \(flag)")
                }
            }
            guard target != nil else { throw UsageError(message: "--url is required") }
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
                    thresholds = file.thresholds.map { ($0.scope, $0.threshold) } + thresholds
                } catch {
                    throw UsageError(message: "\(scenario): \(error)")
                }
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
        }
    }

    static func run(_ options: Options) async -> Int32 {
        guard let target = options.target else { return 2 }
        let model = options.model
        let runner = LoadRunner(
            target: target,
            mix: RequestMix(options.templates),
            model: model,
            connections: options.connections,
            timeout: options.timeout,
            seed: options.seed
        )
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
        let summary = LoadSummary(
            scenario: options.name,
            model: model,
            facts: facts,
            recorder: recorder,
            thresholds: options.thresholds
        )
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(summary) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
        } else {
            print(summary.table)
        }
        return summary.passed ? 0 : 99
    }
}
