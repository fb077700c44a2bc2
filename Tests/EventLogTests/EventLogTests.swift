import Config
import EventLog
import Foundation
import HubCore
import SQLiteStore
import StoreHubTestSupport
import Synchronization
import Testing

func draft(_ topic: String, _ text: String = "x") -> EventDraft {
    EventDraft(topic: topic, body: Array(#"{"type":"test","data":"\#(text)"}"#.utf8))
}

@Suite struct EventLogTests {
    @Test func appendAssignsIncreasingSequencesAndReturnsAfterCommit() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let first = try await log.append(draft("scan.a"))
        let more = try await log.append([draft("scan.b"), draft("scan.c")])
        #expect(first.sequence == 1)
        #expect(more.map(\.sequence) == [2, 3])
        #expect(log.sequenceBounds.first == 1)
        #expect(log.sequenceBounds.last == 3)
        let (events, _) = try log.read(after: 0, limit: 10)
        #expect(events.map(\.topic) == ["scan.a", "scan.b", "scan.c"])
    }

    @Test func acceptedEventsSurviveReopening() async throws {
        let database = try TemporaryFolder("storehub-log")
        do {
            let log = try EventLog(path: database.databasePath)
            _ = try await log.append((0..<5).map { draft("scan.k", "\($0)") })
            log.close()
        }
        let reopened = try EventLog(path: database.databasePath)
        defer { reopened.close() }
        #expect(reopened.sequenceBounds.last == 5)
        let next = try await reopened.append(draft("scan.k", "after"))
        #expect(next.sequence == 6)
    }

    @Test func concurrentAppendsShareCommits() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<32 {
                group.addTask {
                    for index in 0..<20 { _ = try await log.append(draft("scan.p\(producer)", "\(index)")) }
                }
            }
            try await group.waitForAll()
        }
        let stats = log.stats
        #expect(stats.events == 640)
        #expect(stats.commits < 640, "32 concurrent producers must be grouped into fewer commits than events")
        let (events, _) = try log.read(after: 0, limit: 1000)
        #expect(events.map(\.sequence) == Array(1...640))
    }

    /// Two appends 100 ms apart, right after a commit: with a commit delay longer than that they share one flush,
    /// without one each gets its own. The second event is appended from the first one's completion, which runs as
    /// its commit ends, and the third from a thread of its own, so neither depends on when the test's task is next
    /// scheduled.
    @Test(arguments: [(5000.0, 1), (0.0, 2)])
    func appendsSoonAfterACommitShareTheNextCommitOnlyWithACommitDelay(delayMs: Double, commits: UInt64)
        async throws
    {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath, settings: .init(commitDelayMs: delayMs))
        defer { log.close() }
        let sequences = Mutex<[UInt64]>([])
        let before = Mutex<UInt64>(0)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            log.append([draft("scan.first")]) { _ in
                before.withLock { $0 = log.stats.commits }
                log.append([draft("scan.second")]) { result in
                    sequences.withLock { $0 += (try? result.get().map(\.sequence)) ?? [] }
                }
                let appender = Thread {
                    Thread.sleep(forTimeInterval: 0.1)
                    log.append([draft("scan.third")]) { result in
                        sequences.withLock { $0 += (try? result.get().map(\.sequence)) ?? [] }
                        done.resume()
                    }
                }
                appender.start()
            }
        }
        #expect(sequences.withLock { $0 } == [2, 3])
        #expect(log.stats.commits == before.withLock { $0 } + commits)
        #expect(log.stats.events == 3)
    }

    @Test func readFiltersByPatternAndReportsHowFarItScanned() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        _ = try await log.append([draft("scan.a"), draft("tryon.result.m"), draft("scan.b"), draft("tryon.result.m")])
        let pattern = try TopicPattern(validating: "scan.*")
        let (events, scanned) = try log.read(after: 0, matching: pattern, limit: 10)
        #expect(events.map(\.sequence) == [1, 3])
        #expect(scanned == 4)
        let (limited, through) = try log.read(after: 0, matching: pattern, limit: 1)
        #expect(limited.map(\.sequence) == [1])
        #expect(through == 1)
    }

    @Test func consumerCursorIsKeptAcrossRestartsAndNeverMovesBack() async throws {
        let database = try TemporaryFolder("storehub-log")
        do {
            let log = try EventLog(path: database.databasePath)
            _ = try await log.append((0..<10).map { draft("scan.k", "\($0)") })
            log.acknowledge(consumer: "order-service", sequence: 7)
            log.acknowledge(consumer: "order-service", sequence: 4)
            #expect(log.cursor(for: "order-service") == 7)
            log.close()
        }
        let reopened = try EventLog(path: database.databasePath)
        defer { reopened.close() }
        #expect(reopened.cursor(for: "order-service") == 7)
        #expect(reopened.cursor(for: "unknown") == nil)
    }

    @Test func retentionByCountDropsTheOldestAndSequencesAreNotReused() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(
            path: database.databasePath, settings: .init(maxAgeHours: 1, maxEvents: 1000, maxBytes: 1 << 30))
        defer { log.close() }
        _ = try await log.append((0..<1500).map { draft("scan.k", "\($0)") })
        let removed = try await log.applyRetention()
        #expect(removed == 500)
        #expect(log.sequenceBounds.first == 501)
        #expect(log.sequenceBounds.last == 1500)
        let later = try await log.applyRetention(now: Date().addingTimeInterval(7200))
        #expect(later == 1000)
        #expect(log.sequenceBounds.first == 1501)
        let next = try await log.append(draft("scan.k", "after"))
        #expect(next.sequence == 1501)
    }

    @Test func retainedKeepsTheLastStatusOfEachDevice() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
        defer { log.close() }
        _ = try await log.append([
            draft("device.status.a", "starting"), draft("device.status.b", "online"), draft("scan.a"),
            draft("device.status.a", "online"),
        ])
        let retained = log.retainedEvents()
        #expect(retained.map(\.sequence) == [2, 4])
    }

    @Test func commitListenerSeesEventsInOrder() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let seen = SeenSequences()
        log.onCommit { events in seen.add(events.map(\.sequence)) }
        for index in 0..<5 { _ = try await log.append(draft("scan.k", "\(index)")) }
        #expect(seen.all == [1, 2, 3, 4, 5])
    }

    /// Live subscribers need not wait for the fsync: once the log has sequences reserved (the first commit does
    /// it), an append's events go to `live` when it is made, before the commit; before that, right after it.
    @Test func liveGetsEventsBeforeTheirCommitOnceSequencesAreReserved() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let steps = Steps()
        log.onCommit(live: { events in steps.add("live \(events.map(\.sequence))") }) { events in
            steps.add("committed \(events.map(\.sequence))")
        }
        _ = try await log.append(draft("scan.k", "0"))
        steps.add("appended 1")
        let appended = Steps()
        log.append([draft("scan.k", "1"), draft("scan.k", "2")]) { result in
            appended.add("\((try? result.get())?.map(\.sequence) ?? [])")
        }
        steps.add("append 2 made")
        while appended.all.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        #expect(appended.all == ["[2, 3]"])
        let all = steps.all
        #expect(Array(all.prefix(4)) == ["live [1]", "committed [1]", "appended 1", "live [2, 3]"])
        // The second append's events went to `live` while the append was made, and were committed after.
        #expect(Set(all.dropFirst(4)) == ["append 2 made", "committed [2, 3]"])
    }

    /// A retained topic (device status) reaches `live` only once it is committed, so that a subscriber registering
    /// in between finds it among the retained events; other events go before their commit.
    @Test func retainedTopicsGoLiveOnlyOnceCommitted() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
        defer { log.close() }
        let steps = Steps()
        log.onCommit(live: { events in
            let stored = (try? log.read(after: events[0].sequence - 1, limit: 1).events.first?.sequence)
            steps.add("live \(events.map(\.sequence)) stored \(stored == events[0].sequence)")
        }) { _ in }
        _ = try await log.append(draft("scan.k", "0"))
        _ = try await log.append(draft("scan.k", "1"))
        _ = try await log.append(draft("device.status.a", "online"))
        _ = try await log.append(draft("scan.k", "2"))
        #expect(
            steps.all == [
                "live [1] stored true", "live [2] stored false", "live [3] stored true", "live [4] stored false",
            ])
    }

    /// After a crash the sequences reserved beyond the last commit may have reached live subscribers: the log goes
    /// on after them. After a clean close it goes on right after the last event.
    @Test func aLogNotClosedCleanlySkipsItsReservedSequences() async throws {
        let database = try TemporaryFolder("storehub-log")
        do {
            let log = try EventLog(path: database.databasePath)
            _ = try await log.append((0..<3).map { draft("scan.k", "\($0)") })
            log.close()
        }
        do {
            let reopened = try EventLog(path: database.databasePath)
            #expect(try await reopened.append(draft("scan.k", "after a clean close")).sequence == 4)
            reopened.close()
        }
        // What a crash leaves: the reservation that the last commits made, ahead of the last sequence.
        let connection = try SQLiteConnection(path: database.databasePath)
        try connection.execute("UPDATE meta SET value = 100004 WHERE key = 'reserved_through'")
        let afterCrash = try EventLog(path: database.databasePath)
        defer { afterCrash.close() }
        #expect(try await afterCrash.append(draft("scan.k", "after a crash")).sequence == 100_005)
        let (events, _) = try afterCrash.read(after: 0, limit: 10)
        #expect(events.map(\.sequence) == [1, 2, 3, 4, 100_005])
    }

    @Test func appendAfterCloseFailsClearly() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        log.close()
        await #expect(throws: LogClosedError.self) { try await log.append(draft("scan.k")) }
    }

    @Test func deliveredFormCarriesTheSequenceFirst() {
        let event = StoredEvent(sequence: 42, topic: "scan.k", body: Array(#"{"type":"t"}"#.utf8))
        #expect(String(decoding: event.json, as: UTF8.self) == #"{"sequence":42,"type":"t"}"#)
        let empty = StoredEvent(sequence: 7, topic: "scan.k", body: Array("{}".utf8))
        #expect(String(decoding: empty.json, as: UTF8.self) == #"{"sequence":7}"#)
    }

    /// The checkpoint runs beside the writer, and commits go on meanwhile; the log must still start over from its
    /// beginning, or the file grows by every commit (6000 commits of about two pages each would make ~50 MB).
    @Test func theWriteAheadLogStartsOverWhileCommitsContinue() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let body = String(repeating: "p", count: 400)
        var largest: UInt64 = 0
        for index in 0..<6000 {
            _ = try await log.append(draft("scan.wal", "\(index) \(body)"))
            if index % 100 == 0 {
                let wal =
                    (try? FileManager.default.attributesOfItem(atPath: database.databasePath + "-wal")[.size])
                    as? UInt64
                largest = max(largest, wal ?? 0)
            }
        }
        let frame: UInt64 = 4096 + 24
        #expect(largest > 0)
        #expect(largest < 3000 * frame, "the write-ahead log grew to \(largest) bytes")
        let (events, _) = try log.read(after: 5990, limit: 20)
        #expect(events.count == 10)
    }
}

final class Steps: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ step: String) { storage.withLock { $0.append(step) } }
    var all: [String] { storage.withLock { $0 } }
}

final class SeenSequences: Sendable {
    private let storage = Mutex<[UInt64]>([])
    func add(_ values: [UInt64]) { storage.withLock { $0 += values } }
    var all: [UInt64] { storage.withLock { $0 } }
}
