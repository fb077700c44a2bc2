import Foundation
import NIOHTTP1
import StoreHubTestSupport
import Testing

@testable import Sinks

@Suite struct SinkTests {
    @Test func backoffDoublesWithJitterAndStopsAtTheCap() {
        var backoff = RetryBackoff(initial: 0.5, maximum: 3)
        let bases = [0.5, 1, 2, 3, 3, 3]
        for base in bases {
            let delay = backoff.next()
            #expect(delay >= base / 2 && delay <= base, "delay \(delay) outside [\(base / 2), \(base)]")
        }
    }

    @Test func deadLettersAreStoredOnceAndListedNewestFirst() throws {
        let folder = try TemporaryFolder("dead-letters")
        let store = try DeadLetters(path: folder.databasePath)
        for sequence in [UInt64(4), 9, 4] {
            try store.add(
                .init(
                    sink: "orders", sequence: sequence, topic: "scan.k1", attempts: 3, lastError: "HTTP 500",
                    failedMs: 1, event: Array(#"{"sequence":\#(sequence)}"#.utf8)))
        }
        try store.add(
            .init(sink: "other", sequence: 5, topic: "scan.k1", attempts: 1, lastError: "x", failedMs: 1, event: []))
        let (count, newest) = try store.list(sink: "orders", limit: 10)
        #expect(count == 2)
        #expect(newest.map(\.sequence) == [9, 4])
        #expect(newest.last?.attempts == 6)
        // A new connection (a restart) sees the same list.
        let reopened = try DeadLetters(path: folder.databasePath)
        #expect(try reopened.list(sink: "orders", limit: 10).count == 2)
    }

    @Test func posterBuildsTheRequestTargetAndBasicAuthFromTheURL() throws {
        let poster = try HTTPPoster(
            url: "http://svc:pw@127.0.0.1:9000/hooks/a?x=1", headers: ["X-Key": "k"], timeout: .seconds(1), caFile: nil)
        #expect(poster.target == "/hooks/a?x=1")
        #expect(poster.authority == "127.0.0.1:9000")
        #expect(poster.headers["Authorization"].first?.hasPrefix("Basic ") == true)
        #expect(poster.headers["X-Key"] == ["k"])
    }
}
