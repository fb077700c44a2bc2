import Config
import EventLog
import Foundation
import HubCore
import SQLiteStore
import StoreHubTestSupport
import Testing

/// What bounds the log: text stored whole, size enforced as it grows, retained topics capped, a probe that writes.
@Suite struct EventLogLimitsTests {
    @Test func textIsBoundWithItsByteLengthSoANulDoesNotCutIt() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
        defer { log.close() }
        // Below the bus's edge, which refuses such a topic: the log itself must not turn it into another one.
        let topic = "device.status.mirror-1\u{0}.dev1"
        _ = try await log.append(draft(topic))
        let (events, _) = try log.read(after: 0, limit: 10)
        #expect(events.map(\.topic) == [topic])
        #expect(log.retainedEvents().isEmpty, "a four-segment topic became a device's retained status")
    }

    @Test func onlyDeviceStatusTopicsOfExactlyThreeSegmentsAreRetained() throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
        defer { log.close() }
        #expect(log.isRetained("device.status.mirror-1"))
        #expect(!log.isRetained("device.status.mirror-1.dev1"))
        #expect(!log.isRetained("device.statusx.mirror-1"))
    }

    @Test func aLogOpenedWithoutARetainedPatternKeepsNoTopic() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        _ = try await log.append(draft("device.status.a", "1"))
        #expect(!log.isRetained("device.status.a"))
        #expect(log.retainedEvents().isEmpty)
    }

    @Test func retainedTopicsAreCappedAndTheCappedOnesStillLogged() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(
            path: database.databasePath, settings: .init(maxRetainedTopics: 2), retaining: .deviceStatus)
        defer { log.close() }
        _ = try await log.append([draft("device.status.a", "1"), draft("device.status.b", "1")])
        let third = try await log.append(draft("device.status.c", "1"))
        let again = try await log.append(draft("device.status.a", "2"))
        #expect(Set(log.retainedEvents().map(\.topic)) == ["device.status.a", "device.status.b"])
        #expect(log.retainedEvents().last?.sequence == again.sequence)
        let (events, _) = try log.read(after: third.sequence - 1, limit: 1)
        #expect(events.first?.topic == "device.status.c")
    }

    @Test func retainedStatusesSurviveReopening() async throws {
        let database = try TemporaryFolder("storehub-log")
        do {
            let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
            _ = try await log.append([draft("device.status.a", "1"), draft("device.status.a", "2")])
            log.close()
        }
        let log = try EventLog(path: database.databasePath, retaining: .deviceStatus)
        defer { log.close() }
        #expect(log.retainedEvents().map(\.sequence) == [2])
    }

    @Test func sizeIsEnforcedAtCommitTimeNotOnlyByThePeriodicPass() async throws {
        let database = try TemporaryFolder("storehub-log")
        let limit = 1 << 20
        let log = try EventLog(path: database.databasePath, settings: .init(maxBytes: limit))
        defer { log.close() }
        let body = Array(#"{"pad":"\#(String(repeating: "x", count: 32 << 10))"}"#.utf8)
        for _ in 0..<96 {
            _ = try await log.append([EventDraft(topic: "scan.k", body: body)])
        }
        let (first, last) = log.sequenceBounds
        #expect(last == 96)
        #expect(first > 1, "no event was removed although 3 MiB were written under a 1 MiB limit")
        let kept = Int(last - first + 1) * body.count
        #expect(kept <= limit, "\(kept) bytes of events kept under a \(limit)-byte limit")
    }

    @Test func theProbeWritesARowSoThatAFullDiskFailsIt() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let outcome: Result<Void, any Error> = await withCheckedContinuation { continuation in
            log.probe { continuation.resume(returning: $0) }
        }
        #expect(throws: Never.self) { try outcome.get() }
        let reader = try SQLiteConnection(path: database.databasePath, readOnly: true)
        #expect(try reader.scalar("SELECT value FROM meta WHERE key = 'probe'") != nil)
    }

    @Test func aCommitThatFailsRefusesItsAppendsAndTheNextCommitAcceptsAgain() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        _ = try await log.append(draft("scan.k", "before"))
        // Another process holds the write lock longer than the writer's busy timeout (5 s): the commit fails.
        let blocker = try SQLiteConnection(path: database.databasePath)
        try blocker.execute("BEGIN IMMEDIATE")
        await #expect(throws: (any Error).self) { try await log.append(draft("scan.k", "refused")) }
        try blocker.execute("ROLLBACK")
        let after = try await log.append(draft("scan.k", "after"))
        let (events, _) = try log.read(after: 0, limit: 10)
        #expect(events.map(\.sequence) == [1, after.sequence])
        #expect(after.sequence > 2, "the refused event's sequence was given to another event")
    }
}
