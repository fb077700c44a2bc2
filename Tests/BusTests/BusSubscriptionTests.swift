import Bus
import Config
import EventLog
import HubCore
import StoreHubTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct BusSubscriptionTests {
    func patterns(_ texts: String...) throws -> [TopicPattern] {
        try texts.map { try TopicPattern(validating: $0) }
    }

    @Test func eventsArriveTypedAndInSequenceOrder() async throws {
        let fixture = try BusFixture()
        let subscription = fixture.bus.subscribe(to: try patterns("scan.>"))
        let published = try await fixture.publish("scan.kiosk-1", count: 3)
        var iterator = subscription.makeAsyncIterator()
        var received: [StoredEvent] = []
        for _ in 0..<3 { received.append(try #require(await iterator.next())) }
        #expect(received == published)
        #expect(received.map(\.sequence) == [1, 2, 3])
    }

    @Test func onlyEventsOnTopicsMatchingAPatternArrive() async throws {
        let fixture = try BusFixture()
        let subscription = fixture.bus.subscribe(to: try patterns("scan.kiosk-1", "mirror.command.*"))
        _ = try await fixture.publish("scan.kiosk-1", count: 1)
        _ = try await fixture.publish("scan.kiosk-2", count: 1)
        _ = try await fixture.publish("mirror.command.m1", count: 1)
        _ = try await fixture.publish("mirror.landmarks.m1", count: 1)
        _ = try await fixture.publish("scan.kiosk-1", count: 1)
        var iterator = subscription.makeAsyncIterator()
        var received: [StoredEvent] = []
        for _ in 0..<3 { received.append(try #require(await iterator.next())) }
        #expect(received.map(\.topic) == ["scan.kiosk-1", "mirror.command.m1", "scan.kiosk-1"])
        #expect(received.map(\.sequence) == [1, 3, 5])
    }

    @Test func cancellingTheConsumingTaskUnsubscribes() async throws {
        let fixture = try BusFixture()
        let subscription = fixture.bus.subscribe(to: try patterns(">"))
        #expect(fixture.bus.subscriptionCount == 1)
        let consumer = Task {
            var count = 0
            for await _ in subscription { count += 1 }
            return count
        }
        _ = try await fixture.publish("scan.k", count: 1)
        consumer.cancel()
        _ = await consumer.value
        #expect(fixture.bus.subscriptionCount == 0)
    }

    @Test func aSubscriptionLetGoIsRemovedFromTheBus() throws {
        let fixture = try BusFixture()
        do {
            let subscription = fixture.bus.subscribe(to: try patterns(">"))
            #expect(subscription.patterns.map(\.text) == [">"])
            #expect(fixture.bus.subscriptionCount == 1)
        }
        #expect(fixture.bus.subscriptionCount == 0)
    }

    @Test func aSlowConsumerHoldsAtMostTheLiveBufferAndTheOldestAreDroppedAndCounted() async throws {
        let fixture = try BusFixture(settings: .init(liveBuffer: 4))
        let subscription = fixture.bus.subscribe(to: try patterns("scan.>"))
        _ = try await fixture.publish("scan.k", count: 1000)
        #expect(subscription.dropped == 996)
        var iterator = subscription.makeAsyncIterator()
        var received: [UInt64] = []
        for _ in 0..<4 { received.append(try #require(await iterator.next()).sequence) }
        #expect(received == [997, 998, 999, 1000])
        // Nothing else was kept: the next event is the next one published.
        _ = try await fixture.publish("scan.k", count: 1)
        #expect(await iterator.next()?.sequence == 1001)
        #expect(subscription.dropped == 996)
    }
}
