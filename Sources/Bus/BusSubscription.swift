import Config
import EventLog
import HubCore
import Synchronization

/// A live subscription for code inside the hub: the accepted events whose topic matches one of its patterns, as
/// `StoredEvent`s, in sequence order.
///
/// It is a WebSocket client's live subscription without the protocol and without a token (in-process code is
/// trusted; what it reads was checked when it was published). Events arrive when the bus's live fan-out gets them
/// (see `Bus`). A consumer that does not keep up costs at most `bus.liveBuffer` events: past that the oldest go and
/// are counted in `dropped`, as a client's `dropped` message counts them. Retained device statuses are not replayed.
///
/// Iterate it from one task. Cancelling that task, or letting go of the subscription and its iterator, ends it and
/// removes it from the bus.
package struct BusSubscription: AsyncSequence, Sendable {
    package typealias Element = StoredEvent
    private let events: AsyncStream<StoredEvent>
    private let subscriber: LiveSubscriber

    fileprivate init(events: AsyncStream<StoredEvent>, subscriber: LiveSubscriber) {
        self.events = events
        self.subscriber = subscriber
    }

    package var patterns: [TopicPattern] { subscriber.patterns }

    /// Events that matched but were dropped, oldest first, because `bus.liveBuffer` of them were waiting already.
    package var dropped: Int { subscriber.dropped.load(ordering: .relaxed) }

    package func makeAsyncIterator() -> AsyncStream<StoredEvent>.Iterator { events.makeAsyncIterator() }
}

extension Bus {
    /// A live subscription to the events on topics matching any of `patterns`, from the next one the bus fans out.
    package func subscribe(to patterns: [TopicPattern]) -> BusSubscription {
        let (events, continuation) = AsyncStream.makeStream(
            of: StoredEvent.self, bufferingPolicy: .bufferingNewest(settings.liveBuffer))
        let subscriber = LiveSubscriber(patterns: patterns, continuation: continuation)
        let id = liveSubscribers.add(subscriber)
        continuation.onTermination = { [weak self] _ in self?.liveSubscribers.remove(id) }
        return BusSubscription(events: events, subscriber: subscriber)
    }

    /// In-process subscriptions (`subscribe(to:)`) not ended yet.
    package var subscriptionCount: Int { liveSubscribers.count }
}

/// The bus's in-process subscriptions. Mutex: subscribers come and go on any task while the log's fan-out reads.
final class LiveSubscribers: Sendable {
    private let state = Mutex<(next: UInt64, all: [UInt64: LiveSubscriber])>((0, [:]))

    func add(_ subscriber: LiveSubscriber) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.all[state.next] = subscriber
            return state.next
        }
    }

    func remove(_ id: UInt64) {
        state.withLock { _ = $0.all.removeValue(forKey: id) }
    }

    var count: Int { state.withLock { $0.all.count } }

    /// Called with each batch the live fan-out gets, in sequence order.
    func offer(_ events: [StoredEvent]) {
        let current = state.withLock { Array($0.all.values) }
        for subscriber in current { subscriber.offer(events) }
    }
}

/// One in-process subscription's end of the stream.
final class LiveSubscriber: Sendable {
    let patterns: [TopicPattern]
    private let continuation: AsyncStream<StoredEvent>.Continuation
    let dropped = Atomic<Int>(0)

    init(patterns: [TopicPattern], continuation: AsyncStream<StoredEvent>.Continuation) {
        self.patterns = patterns
        self.continuation = continuation
    }

    func offer(_ events: [StoredEvent]) {
        for event in events where patterns.contains(where: { $0.matches(event.topic) }) {
            if case .dropped = continuation.yield(event) { dropped.add(1, ordering: .relaxed) }
        }
    }
}
