// wedsync-bench: programs that print figures (scripts/bench runs them beside pgbench and redis-benchmark).
//
//   wedsync-bench postgres --database-url URL [--seconds 5] [--concurrency 1,32]
//   wedsync-bench redis --redis-url URL [--seconds 5] [--concurrency 1,32]
//   wedsync-bench cursor-memory --database-url URL [--rows 1000000] [--buffered]
//   wedsync-bench api-clients --database-url URL --api-url URL [--samples 1000]
//   wedsync-bench api-export --database-url URL --api-url URL --format csv|ndjson --pid PID [--org 1]
//   wedsync-bench cache-l1 --redis-url URL [--seconds 5]
//   wedsync-bench cache-l2 --redis-url URL [--samples 20000]
//   wedsync-bench cache-warming --database-url URL --api-url URL --gateway-url URL --cache-url URL --admin-token T [--suppliers 1000]
//   wedsync-bench metrics-ingest --metrics-url URL --pid PID [--seconds 10] [--concurrency 4] [--batch 1000]
//   wedsync-bench optimizer --database-url URL --optimizer-url URL --admin-token T [--samples 20] [--rounds 3]
//   wedsync-bench redis-failover --redis-urls URL,URL,... [--seconds 30] [--until-file F] [--writers 8]
//
// Each prints one JSON object per measurement on standard output.
import Foundation

let arguments = BenchArguments(CommandLine.arguments)
do {
    switch arguments.command {
    case "postgres":
        try await PoolBenchmark.postgres(arguments)
    case "redis":
        try await PoolBenchmark.redis(arguments)
    case "cursor-memory":
        try await CursorMemoryProbe.run(arguments)
    case "api-clients":
        try await APIBenchmark.clients(arguments)
    case "api-export":
        try await APIBenchmark.export(arguments)
    case "cache-l1":
        try await CacheBenchmark.l1(arguments)
    case "cache-l2":
        try await CacheBenchmark.l2(arguments)
    case "cache-warming":
        try await CacheBenchmark.warming(arguments)
    case "metrics-ingest":
        try await MetricsBenchmark.ingest(arguments)
    case "optimizer":
        try await OptimizerBenchmark.run(arguments)
    case "optimizer-olap":
        try await OptimizerOlapBenchmark.run(arguments)
    case "redis-failover":
        try await RedisFailoverProbe.run(arguments)
    default:
        FileHandle.standardError.write(
            Data(
                "usage: wedsync-bench postgres|redis|cursor-memory|api-clients|api-export|cache-l1|cache-l2|cache-warming|metrics-ingest|optimizer|optimizer-olap|redis-failover [options]\n"
                    .utf8
            )
        )
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("wedsync-bench: \(error)\n".utf8))
    exit(1)
}
