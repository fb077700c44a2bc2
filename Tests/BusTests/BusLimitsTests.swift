import Bus
import Config
import EventLog
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@Suite struct BusLimitsTests {
    @Test func publishRateLetsABurstThroughThenRefusesUntilTheBucketRefills() {
        let rate = PublishRate(rate: 10, burst: 3)
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(rate.take("token-a", now: start) == nil) }
        let wait = rate.take("token-a", now: start)
        #expect(wait == .milliseconds(100))
        // Another token has its own bucket.
        #expect(rate.take("token-b", now: start) == nil)
        // 100 ms later one publish is back, and only one.
        #expect(rate.take("token-a", now: start + .milliseconds(100)) == nil)
        #expect(rate.take("token-a", now: start + .milliseconds(100)) != nil)
    }

    @Test func subscriptionsOverTheLimitAreRefusedWithTheirRef() throws {
        let fixture = try BusFixture(settings: .init(maxSubscriptionsPerConnection: 2))
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"a","topic":"scan.a"}"#)
        session.receive(#"{"op":"subscribe","id":"b","topic":"scan.b"}"#)
        session.receive(#"{"op":"subscribe","id":"c","topic":"scan.c","ref":"third"}"#)
        let sent = try messages(session)
        #expect(ops(sent) == ["hello", "authenticated", "subscribed", "subscribed", "error"])
        #expect(sent[4]["code"] == .string("too_many_subscriptions"))
        #expect(sent[4]["ref"] == .string("third"))
    }

    @Test func connectionsOverTheLimitAreRefusedWith1013WhenTheyAuthenticate() throws {
        let fixture = try BusFixture(settings: .init(maxConnections: 1))
        let first = fixture.session(token: fixture.admin)
        let second = fixture.session(token: fixture.admin)
        #expect(first.principal != nil)
        #expect(second.principal == nil)
        let sent = try messages(second)
        #expect(ops(sent) == ["hello", "error"])
        #expect(sent.last?["code"] == .string("too_many_connections"))
        #expect(second.drain() == [.close(code: 1013, reason: "too many connections")])
    }

    @Test func connectionsWithoutATokenDoNotCountAgainstMaxConnections() throws {
        let fixture = try BusFixture(settings: .init(maxConnections: 2))
        let waiting = (0..<10).map { _ in fixture.session() }
        let first = fixture.session(token: fixture.admin)
        let second = fixture.session(token: fixture.admin)
        #expect(first.principal != nil && second.principal != nil)
        #expect(ops(try messages(second)) == ["hello", "authenticated"])
        for session in waiting { session.close() }
    }

    @Test func aLiveSubscriberThatDoesNotReadIsClosedWith4008AndItsQueueFreed() async throws {
        let fixture = try BusFixture(settings: .init(liveBuffer: 100_000, maxQueuedBytesPerConnection: 65536))
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"all","topic":">"}"#)
        let body = Array(#"{"pad":"\#(String(repeating: "x", count: 990))"}"#.utf8)
        // Nothing is drained: 100 events of 1000 bytes pass the limit.
        for _ in 0..<100 {
            _ = try await fixture.log.append([EventDraft(topic: "scan.k", body: body)])
        }
        #expect(session.queuedBytes < 4096)
        let sent = try messages(session)
        #expect(ops(sent) == ["error"])
        #expect(sent[0]["code"] == .string("slow_consumer"))
        #expect(session.drain() == [.close(code: 4008, reason: "slow consumer")])
        #expect(session.principal == nil)
    }

    @Test func aDurableSubscriptionPausesAtHalfTheLimitInsteadOfClosing() async throws {
        let fixture = try BusFixture(settings: .init(maxInFlight: 10_000, maxQueuedBytesPerConnection: 65536))
        let body = Array(#"{"pad":"\#(String(repeating: "x", count: 990))"}"#.utf8)
        _ = try await fixture.log.append((0..<300).map { _ in EventDraft(topic: "scan.k", body: body) })
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"d","topic":">","durable":"orders"}"#)
        // The writer takes a batch and has not written it yet (a stalled socket): no more is read from the log.
        let first = session.drain(max: 10_000).count
        let second = session.drain(max: 10_000).count
        #expect(first > 3 && first < 60)
        #expect(second == 0)
        #expect(session.queuedBytes < 65536)
        // Once written, reading goes on where it stopped.
        session.sent(session.queuedBytes)
        let next = try messages(session, max: 10_000)
        #expect(!next.isEmpty && ops(next).allSatisfy { $0 == "event" })
        #expect(next.first?["event"]?["sequence"] == .int(Int64(first - 3 + 1)))
    }
}
