import Foundation
import NIOHTTP1
import StoreHubTestSupport
import Testing

@testable import Sinks

@Suite struct SinkTests {
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

    /// The URL parser keeps an IPv6 address's brackets: the poster connects to the address without them (as the
    /// uplink does) and writes them only in the Host header.
    @Test func posterToAnIPv6AddressConnectsWithoutBracketsAndSendsThemInTheHostHeader() throws {
        let poster = try HTTPPoster(url: "http://[::1]:9000/hook", headers: [:], timeout: .seconds(1), caFile: nil)
        #expect(poster.host == "::1")
        #expect(poster.port == 9000)
        #expect(poster.authority == "[::1]:9000")
    }
}
