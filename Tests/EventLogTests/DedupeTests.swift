import Config
import EventLog
import Foundation
import HubCore
import StoreHubTestSupport
import Synchronization
import Testing

@Suite struct DedupeTests {
    func keyed(_ id: String, scope: String = "token-a", topic: String = "display.k") -> EventDraft {
        EventDraft(topic: topic, body: Array(#"{"type":"test"}"#.utf8), dedupe: DedupeKey(scope: scope, id: id))
    }

    @Test func aRepeatedIDIsAnsweredWithTheFirstSequenceAndNotStoredAgain() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let first = try await log.append(keyed("order-1"))
        let again = try await log.append(keyed("order-1"))
        #expect(!first.duplicate)
        #expect(again.duplicate && again.sequence == first.sequence)
        #expect(try log.read(after: 0, limit: 10).events.count == 1)
    }

    @Test func idsAreScopedToTheirToken() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let mine = try await log.append(keyed("same", scope: "token-a"))
        let theirs = try await log.append(keyed("same", scope: "token-b"))
        #expect(!theirs.duplicate && theirs.sequence != mine.sequence)
    }

    @Test func repeatsInOneCommitAreCaughtAndReachNoListener() async throws {
        let database = try TemporaryFolder("storehub-log")
        let log = try EventLog(path: database.databasePath)
        defer { log.close() }
        let heard = Mutex<[UInt64]>([])
        log.onCommit(live: { events in heard.withLock { $0 += events.map(\.sequence) } }) { _ in }
        let answers = try await log.append([keyed("twice"), keyed("twice"), draft("scan.x")])
        #expect(answers.map(\.duplicate) == [false, true, false])
        #expect(answers[1].sequence == answers[0].sequence)
        #expect(heard.withLock { $0 } == [answers[0].sequence, answers[2].sequence])
    }

    @Test func theFirstSequenceIsRememberedAcrossReopening() async throws {
        let database = try TemporaryFolder("storehub-log")
        let first: UInt64
        do {
            let log = try EventLog(path: database.databasePath)
            first = try await log.append(keyed("restart")).sequence
            log.close()
        }
        let reopened = try EventLog(path: database.databasePath)
        defer { reopened.close() }
        let again = try await reopened.append(keyed("restart"))
        #expect(again.duplicate && again.sequence == first)
    }

    @Test func anIDPastTheWindowIsANewEvent() async throws {
        let database = try TemporaryFolder("storehub-log")
        // 3.6 s: long enough for two appends, short enough to wait out.
        let log = try EventLog(path: database.databasePath, settings: .init(dedupeWindowHours: 0.001))
        defer { log.close() }
        let first = try await log.append(keyed("late"))
        try await Task.sleep(for: .seconds(4))
        let later = try await log.append(keyed("late"))
        #expect(!later.duplicate && later.sequence > first.sequence)
    }
}
