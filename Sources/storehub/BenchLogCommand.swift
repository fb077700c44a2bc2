import ArgumentParser
import EventLog
import Foundation
import HubCore

/// Measures the event log alone: appends from concurrent producers, each waiting for its commit.
struct BenchLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-log", abstract: "Benchmark the event log's group commit (prints JSON).",
        shouldDisplay: false)

    @Option(help: "Events to append.") var events: Int = 50_000
    @Option(help: "Concurrent producers, each awaiting its own commit.") var producers: Int = 64
    @Option(help: "Payload bytes per event.") var payload: Int = 256
    @Option(help: "Folder for the temporary database.") var directory: String = NSTemporaryDirectory()

    func run() async throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("bench-\(getpid()).sqlite").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let log = try EventLog(path: path)
        let body =
            Array(#"{"specversion":"1.0","type":"bench","data":""#.utf8) + [UInt8](repeating: 0x61, count: payload)
            + Array(#""}"#.utf8)
        let perProducer = events / producers
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = await withTaskGroup(of: [Double].self) { group in
            for _ in 0..<producers {
                group.addTask {
                    var latencies: [Double] = []
                    latencies.reserveCapacity(perProducer)
                    for _ in 0..<perProducer {
                        let began = clock.now
                        _ = try? await log.append(EventDraft(topic: "bench.topic", body: body))
                        let elapsed = began.duration(to: clock.now)
                        latencies.append(
                            Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for await part in group { all += part }
            return all.sorted()
        }
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let stats = log.stats
        log.close()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let commits = stats.recentDurations.sorted()
        let result: [String: Double] = [
            "events": Double(latencies.count), "seconds": seconds, "eventsPerSecond": Double(latencies.count) / seconds,
            "appendP50ms": percentile(0.5), "appendP99ms": percentile(0.99), "commits": Double(stats.commits),
            "eventsPerCommit": Double(stats.events) / Double(max(1, stats.commits)),
            "commitP50ms": commits[commits.count / 2] * 1000,
            "commitP99ms": commits[min(commits.count - 1, commits.count * 99 / 100)] * 1000,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
