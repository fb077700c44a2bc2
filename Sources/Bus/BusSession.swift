import Config
import EventLog
import Foundation
import HubCore
import Logging
import Synchronization

/// One client connection's view of the bus: its principal, subscriptions and queue of outgoing messages.
///
/// The transport feeds client messages to `receive(_:)` and runs one writer loop that waits on `wakeups` and
/// sends what `drain(max:)` returns. Only that loop calls `drain`, so durable consumers read the log there,
/// outside the lock, without racing one another.
package final class BusSession: Sendable {
    /// Yields whenever there may be something to send, unless a waker is set (`setWaker(_:)`).
    package let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Called instead of yielding on `wakeups` when set: a transport that writes from its own thread.
    /// (A struct around the closure: a bare closure in a Mutex is re-wrapped by every `withLock`.)
    private let waker = Mutex<Waker?>(nil)

    private struct Waker {
        let body: @Sendable () -> Void
    }
    private unowned let bus: Bus
    private let state: Mutex<State>
    package let peer: String

    /// What the writer loop should do next.
    package enum Outgoing: Sendable, Equatable {
        case message([UInt8])
        case close(code: UInt16, reason: String)
    }

    private struct State {
        var principal: Principal?
        var control: [[UInt8]] = []
        var subscriptions: [String: Subscription] = [:]
        var order: [String] = []
        var nextTurn = 0
        var close: (code: UInt16, reason: String)?
        var closed = false
        /// Bytes held for the client: queued control messages and events, and what the writer has taken but not
        /// yet written. Bounded by `bus.maxQueuedBytesPerConnection`.
        var queuedBytes = 0
        /// The client let too much pile up: everything queued was dropped and only the close remains.
        var overflowed = false
        /// When a close was asked for: a client that does not read its close within `closeGrace` is cut off.
        var closeRequested: ContinuousClock.Instant?

        mutating func pushControl(_ message: [UInt8]) {
            control.append(message)
            queuedBytes += message.count
        }
    }

    private struct Subscription {
        var pattern: TopicPattern
        var pending: [StoredEvent] = []
        var pendingHead = 0
        /// Live only: the retained events owed since the subscribe, sent before `pending` and only while the
        /// connection holds less than half of `bus.maxQueuedBytesPerConnection`, so they never count as a flood.
        var retained: [StoredEvent] = []
        var retainedHead = 0
        /// Live only: events dropped since the client was last told.
        var dropped = 0
        var durable: Durable?

        var pendingCount: Int { pending.count - pendingHead }
        var pendingBytes: Int { pending[pendingHead...].reduce(0) { $0 + $1.body.count } }

        /// Changes the subscription where it is stored: `state.subscriptions[id]?.update { ... }`. (A copy taken
        /// out of the dictionary shares its queues with the stored value, so appending to it copied the whole
        /// queue, and storing it back freed the old one: per event, per subscriber.)
        mutating func update<Result>(_ body: (inout Subscription) -> Result) -> Result {
            body(&self)
        }

        /// Queues the events a live subscription matches, dropping its oldest beyond `liveBuffer`. Returns the
        /// change in bytes it holds and whether it took any event.
        mutating func queue(_ events: [StoredEvent], liveBuffer: Int) -> (bytes: Int, taken: Bool) {
            var bytes = 0
            var taken = false
            for event in events where pattern.matches(event.topic) {
                if pendingCount >= liveBuffer {
                    bytes -= pending[pendingHead].body.count
                    pendingHead += 1
                    dropped += 1
                }
                pending.append(event)
                bytes += event.body.count
                taken = true
            }
            if taken, pendingHead > 4096 {
                pending.removeFirst(pendingHead)
                pendingHead = 0
            }
            return (bytes, taken)
        }

        /// One turn of `drain(max:)`: up to 32 messages into `out`, retained events first, then a `dropped` notice
        /// and queued events. `queuedBytes` is the connection's count. Returns whether the turn sent anything.
        mutating func drain(
            id: String, into out: inout [Outgoing], max: Int, queuedBytes: inout Int, retainedBudget: Int
        ) -> Bool {
            if retainedHead < retained.count {
                // Retained events go first, paced by what the client reads; live events wait behind them.
                var taken = 0
                while taken < 32 && out.count < max && queuedBytes < retainedBudget && retainedHead < retained.count {
                    let message = Wire.event(sub: id, retained[retainedHead])
                    retainedHead += 1
                    queuedBytes += message.count
                    out.append(.message(message))
                    taken += 1
                }
                if retainedHead == retained.count {
                    retained = []
                    retainedHead = 0
                }
                return taken > 0
            }
            guard pendingCount > 0 || dropped > 0 else { return false }
            if dropped > 0 {
                out.append(.message(Wire.message("dropped", ["sub": .string(id), "count": .int(Int64(dropped))])))
                dropped = 0
            }
            var taken = 0
            while taken < 32 && out.count < max && pendingCount > 0 {
                let event = pending[pendingHead]
                pendingHead += 1
                let message = Wire.event(sub: id, event)
                queuedBytes += message.count - event.body.count
                out.append(.message(message))
                if event.sequence > 0 { durable?.inFlight.append(event.sequence) }
                taken += 1
            }
            if pendingCount == 0 {
                pending.removeAll(keepingCapacity: true)
                pendingHead = 0
            }
            return true
        }
    }

    private struct Durable {
        /// The log's name for the consumer (`Principal.consumerName`).
        var consumer: String
        /// The name the client gave.
        var name: String
        /// Last sequence read from the log for this subscription.
        var readThrough: UInt64
        /// Sequences delivered and not yet acknowledged, ascending.
        var inFlight: [UInt64] = []
        var window: Int
    }

    /// Control messages a client may leave unread before the hub gives up on it.
    static let controlLimit = 4096

    /// Told about refused `auth` tokens, so the transport can slow down an address that guesses.
    private let onRefusedToken: (@Sendable () -> Void)?
    /// Subscribes, unsubscribes and pings of this connection (`bus.controlRatePerConnection`).
    private let controlRate: PublishRate

    init(bus: Bus, principal: Principal?, peer: String, onRefusedToken: (@Sendable () -> Void)?) {
        self.bus = bus
        self.peer = peer
        self.onRefusedToken = onRefusedToken
        controlRate = PublishRate(rate: bus.settings.controlRatePerConnection, burst: bus.settings.controlBurst)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var initial = State(principal: principal)
        initial.pushControl(
            Bus.hello(hub: bus.hubID, authenticated: principal != nil))
        state = Mutex(initial)
        wake.yield()
    }

    package var principal: Principal? { state.withLock { $0.principal } }

    /// Has `body` called, instead of a yield on `wakeups`, whenever there may be something to send; once at
    /// once, for what is already queued. It must not call `drain` itself (it is called with the session's work
    /// unfinished, on any thread): it schedules the writer. Cleared by `close()`.
    package func setWaker(_ body: @escaping @Sendable () -> Void) {
        waker.withLock { $0 = Waker(body: body) }
        body()
    }

    private func notify() {
        if let waker = waker.withLock({ $0 }) {
            waker.body()
        } else {
            wake.yield()
        }
    }

    // MARK: client → hub

    /// Handles one text message from the client.
    /// A refused request's `error` carries the request's `ref` when it had one, so clients can match it.
    package func receive(_ text: String) {
        // A connection that is being closed (refused, too slow, the hub stopping) handles nothing more it sent,
        // not even what it sent before it read its close.
        guard state.withLock({ $0.close == nil }) else { return }
        var ref: JSONValue?
        do {
            let fields = try Fields(text: text)
            ref = fields.object["ref"]
            try handle(fields)
        } catch {
            enqueueControl(Wire.error(error.code, error.message, ref: ref))
        }
    }

    private func handle(_ fields: Fields) throws(RequestError) {
        if fields.op == "auth" {
            try authenticate(fields)
            return
        }
        guard let principal = self.principal else {
            throw RequestError(code: .unauthenticated, message: "send {\"op\":\"auth\",\"token\":...} first")
        }
        if ["subscribe", "unsubscribe", "ping"].contains(fields.op), let wait = controlRate.take("connection") {
            throw RequestError(
                code: .rateLimited,
                message:
                    "\(fields.op): this connection sends more than \(controlRate.rate.formatted()) subscribes, unsubscribes and pings per second (bus.controlRatePerConnection); retry in \(Self.milliseconds(wait)) ms"
            )
        }
        switch fields.op {
        case "subscribe": try subscribe(fields, principal: principal)
        case "unsubscribe": try unsubscribe(fields)
        case "ack": try acknowledge(fields, principal: principal)
        case "publish": try publish(fields, principal: principal)
        case "ping":
            var reply: [String: JSONValue] = [:]
            if let ref = fields.ref { reply["ref"] = ref }
            enqueueControl(Wire.message("pong", reply))
        default:
            throw RequestError(
                code: .unknownOp,
                message:
                    "unknown op '\(fields.op.prefix(40))' (known: auth, subscribe, unsubscribe, ack, publish, ping)")
        }
    }

    private func authenticate(_ fields: Fields) throws(RequestError) {
        let token = try fields.string("token")
        guard let principal = bus.authenticator.authenticate(token: token) else {
            onRefusedToken?()
            refuseAuthentication("token not accepted")
            return
        }
        state.withLock { $0.principal = principal }
        guard bus.admit(self) else { return }
        enqueueControl(Wire.message("authenticated", ["role": .string(principal.role.rawValue)]))
    }

    private func subscribe(_ fields: Fields, principal: Principal) throws(RequestError) {
        let id = try fields.name("id")
        let topic = try fields.string("topic")
        let pattern: TopicPattern
        do {
            pattern = try TopicPattern(validating: topic)
        } catch {
            throw RequestError(code: .badRequest, message: "subscribe: \(error.reason)")
        }
        guard principal.maySubscribe(pattern) else {
            throw RequestError(
                code: .forbidden, message: "a \(principal.description) may not subscribe to '\(topic)'")
        }
        let consumer = fields.object["durable"] == nil ? nil : try fields.name("durable")
        let from = try fields.optionalUInt("from")
        let window = try fields.optionalUInt("window")
        if consumer == nil && (from != nil || window != nil) {
            throw RequestError(code: .badRequest, message: "subscribe: 'from' and 'window' need 'durable'")
        }
        if let window, window == 0 {
            throw RequestError(code: .badRequest, message: "subscribe: 'window' must be at least 1")
        }

        var subscription = Subscription(pattern: pattern)
        var reply: [String: JSONValue] = ["id": .string(id)]
        let logName = consumer.map(principal.consumerName)
        if let consumer, let logName {
            try admitConsumer(consumer, logName: logName, principal: principal)
            let start = from.map { $0 > 0 ? $0 - 1 : 0 } ?? bus.log.cursor(for: logName) ?? 0
            let limit = Int(min(window ?? UInt64(bus.settings.maxInFlight), UInt64(bus.settings.maxInFlight)))
            subscription.durable = Durable(consumer: logName, name: consumer, readThrough: start, window: limit)
            reply["durable"] = .string(consumer)
            reply["from"] = .int(Int64(start + 1))
        }
        let registeredThrough = bus.log.sequenceBounds.last
        let limit = bus.settings.maxSubscriptionsPerConnection
        let added = state.withLock { state -> Bool? in
            guard state.subscriptions[id] == nil else { return false }
            guard state.subscriptions.count < limit else { return nil }
            state.subscriptions[id] = subscription
            state.order.append(id)
            state.pushControl(Wire.message("subscribed", reply))
            return true
        }
        guard let added else {
            throw RequestError(
                code: .tooManySubscriptions,
                message: "a connection may hold at most \(limit) subscriptions (bus.maxSubscriptionsPerConnection)")
        }
        guard added else {
            throw RequestError(code: .duplicateSubscription, message: "subscription id '\(id)' is already in use")
        }
        if let logName, let previous = bus.claimDurable(logName, for: self) {
            previous.dropDurable(logName)
        }
        if consumer == nil { sendRetained(id: id, pattern: pattern, through: registeredThrough) }
        notify()
    }

    /// A durable consumer's name is its owner's (`Principal.consumerOwner`): a name this owner has not used yet
    /// counts against `bus.maxConsumersPerOwner`. A cursor kept under the bare name by a hub from before owners
    /// moves to the first non-device owner that asks for it.
    private func admitConsumer(_ name: String, logName: String, principal: Principal) throws(RequestError) {
        guard bus.log.cursor(for: logName) == nil else { return }
        let owned = bus.log.consumers().keys.filter { $0.hasPrefix(principal.consumerOwner + "/") }.count
        guard owned < bus.settings.maxConsumersPerOwner else {
            throw RequestError(
                code: .tooManyConsumers,
                message:
                    "subscribe: a \(principal.description) may own at most \(bus.settings.maxConsumersPerOwner) durable consumers (bus.maxConsumersPerOwner)"
            )
        }
        if principal.role != .device, name != "uplink", bus.log.cursor(for: name) != nil {
            bus.log.renameConsumer(name, to: logName)
        }
    }

    /// Gives a live subscription the last status of each matching device, to be sent before anything else it gets.
    private func sendRetained(id: String, pattern: TopicPattern, through sequence: UInt64) {
        let matching = bus.log.retainedEvents().filter { $0.sequence <= sequence && pattern.matches($0.topic) }
        guard !matching.isEmpty else { return }
        state.withLock { state in
            state.subscriptions[id]?.retained = matching
        }
    }

    private func unsubscribe(_ fields: Fields) throws(RequestError) {
        let id = try fields.name("id")
        let removed = state.withLock { state -> Subscription? in
            guard let removed = state.subscriptions.removeValue(forKey: id) else { return nil }
            state.order.removeAll { $0 == id }
            state.pushControl(Wire.message("unsubscribed", ["id": .string(id)]))
            state.queuedBytes -= removed.pendingBytes
            return removed
        }
        guard let removed else {
            throw RequestError(code: .unknownSubscription, message: "no subscription with id '\(id)'")
        }
        if let durable = removed.durable { bus.releaseDurable(durable.consumer, for: self) }
        notify()
    }

    private func acknowledge(_ fields: Fields, principal: Principal) throws(RequestError) {
        let name = try fields.name("durable")
        let consumer = principal.consumerName(name)
        guard let sequence = try fields.optionalUInt("sequence") else {
            throw RequestError(code: .badRequest, message: "ack: field 'sequence' is missing")
        }
        let outcome = state.withLock { state -> Result<Void, RequestError> in
            guard let id = state.order.first(where: { state.subscriptions[$0]?.durable?.consumer == consumer }) else {
                return .failure(
                    RequestError(code: .unknownSubscription, message: "ack: no durable subscription '\(name)' here")
                )
            }
            let lastSent = state.subscriptions[id]?.durable?.inFlight.last ?? 0
            let delivered = max(lastSent, bus.log.cursor(for: consumer) ?? 0)
            guard sequence <= delivered else {
                return .failure(
                    RequestError(
                        code: .badRequest,
                        message: "ack: sequence \(sequence) was not delivered yet (last delivered \(delivered))"))
            }
            state.subscriptions[id]?.durable?.inFlight.removeAll { $0 <= sequence }
            return .success(())
        }
        try outcome.get()
        bus.log.acknowledge(consumer: consumer, sequence: sequence)
        notify()
    }

    private func publish(_ fields: Fields, principal: Principal) throws(RequestError) {
        let request = PublishRequest(
            topic: try fields.string("topic"), type: try fields.string("type"), data: fields.object["data"],
            id: try fields.optionalString("id"))
        let draft: EventDraft
        do {
            draft = try bus.prepare(request, by: principal)
        } catch {
            throw RequestError(code: error.code, message: "publish: \(error.message)")
        }
        let ref = fields.ref
        bus.log.append([draft]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let events):
                var reply: [String: JSONValue] = ["sequence": .int(Int64(events[0].sequence))]
                if events[0].duplicate { reply["duplicate"] = .bool(true) }
                if let ref { reply["ref"] = ref }
                self.enqueueControl(Wire.message("published", reply))
            case .failure(let error):
                self.enqueueControl(Wire.error(.unavailable, "event not accepted: \(error)", ref: ref))
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The client cannot be let in (a wrong token, or none in time): an error, then close code 4401.
    package func refuseAuthentication(_ message: String) {
        enqueueControl(Wire.error(.unauthenticated, message))
        requestClose(code: 4401, reason: "authentication failed")
    }

    /// Refuses the connection: no principal any more, an error, then the close code.
    func refuse(_ code: ErrorCode, _ message: String, closeCode: UInt16, reason: String) {
        state.withLock { $0.principal = nil }
        enqueueControl(Wire.error(code, message))
        requestClose(code: closeCode, reason: reason)
    }

    /// A browser page from another site opened the connection (cross-site WebSocket hijacking): an error, then
    /// close code 4403, before any event.
    package func refuseOrigin(_ message: String) {
        enqueueControl(Wire.error(.forbidden, message))
        requestClose(code: 4403, reason: "origin not allowed")
    }

    /// Handles a binary message, which the protocol does not have.
    package func receiveBinary() {
        enqueueControl(Wire.error(.badRequest, "binary messages are not part of the protocol; send JSON text"))
    }

    // MARK: hub → client

    /// Queues a control message (replies, errors). A client that leaves thousands unread is disconnected.
    func enqueueControl(_ message: [UInt8]) {
        let overflow = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.control.count >= Self.controlLimit { return true }
            state.pushControl(message)
            return false
        }
        if overflow { requestClose(code: 1008, reason: "client does not read its messages") }
        checkQueuedBytes()
        notify()
    }

    /// Asks the writer loop to close the connection after what is queued.
    package func requestClose(code: UInt16, reason: String) {
        state.withLock { state in
            if state.close == nil {
                state.close = (code, reason)
                state.closeRequested = .now
            }
        }
        notify()
    }

    /// When the session asked to close, if it did.
    package var closeRequested: ContinuousClock.Instant? { state.withLock { $0.closeRequested } }

    /// The writer wrote `count` bytes that `drain` handed it.
    package func sent(_ count: Int) {
        state.withLock { $0.queuedBytes -= count }
    }

    /// Bytes held for this client now.
    package var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    /// A client that leaves more than `bus.maxQueuedBytesPerConnection` unread is closed with 4008: what was queued
    /// for it is dropped at once, so one stalled reader costs the hub at most that much. Live subscribers miss what
    /// was dropped; durable consumers get it again from their cursor when they come back.
    private func checkQueuedBytes() {
        let limit = bus.settings.maxQueuedBytesPerConnection
        let over = state.withLock { state -> Int? in
            guard !state.overflowed, !state.closed, state.queuedBytes > limit else { return nil }
            let queued = state.queuedBytes
            state.overflowed = true
            state.principal = nil
            for id in state.order {
                guard let subscription = state.subscriptions[id] else { continue }
                state.queuedBytes -= subscription.pendingBytes
            }
            state.subscriptions.removeAll()
            state.order.removeAll()
            state.queuedBytes -= state.control.reduce(0) { $0 + $1.count }
            state.control.removeAll()
            state.pushControl(
                Wire.error(
                    .slowConsumer,
                    "\(queued) bytes were queued unread, more than bus.maxQueuedBytesPerConnection (\(limit)); durable consumers resume from their last ack"
                ))
            if state.close == nil {
                state.close = (4008, "slow consumer")
                state.closeRequested = .now
            }
            return queued
        }
        guard let over else { return }
        bus.logger.warning(
            "bus connection from \(peer) closed (4008): \(over) bytes queued unread, over bus.maxQueuedBytesPerConnection \(limit)"
        )
        notify()
    }

    /// The log wrote or accepted `events`: `live` queues what live subscriptions match, `durable` wakes the writer
    /// for durable ones (they read the log).
    func offer(_ events: [StoredEvent], live: Bool, durable: Bool) {
        let liveBuffer = bus.settings.liveBuffer
        let wanted = state.withLock { state -> Bool in
            guard !state.closed, state.principal != nil, !state.subscriptions.isEmpty else { return false }
            var wanted = false
            for id in state.order {
                let queued = state.subscriptions[id]?.update { subscription -> (bytes: Int, taken: Bool) in
                    if subscription.durable != nil { return (0, durable) }
                    return live ? subscription.queue(events, liveBuffer: liveBuffer) : (0, false)
                }
                guard let queued else { continue }
                state.queuedBytes += queued.bytes
                wanted = wanted || queued.taken
            }
            return wanted
        }
        checkQueuedBytes()
        if wanted { notify() }
    }

    /// Another session subscribed under `consumer`: stop serving it here.
    func dropDurable(_ consumer: String) {
        state.withLock { state in
            for id in state.order where state.subscriptions[id]?.durable?.consumer == consumer {
                let name = state.subscriptions[id]?.durable?.name ?? consumer
                state.queuedBytes -= state.subscriptions[id]?.pendingBytes ?? 0
                state.subscriptions[id] = nil
                state.order.removeAll { $0 == id }
                state.pushControl(
                    Wire.error(.takenOver, "durable consumer '\(name)' was taken over by another connection"))
            }
        }
        notify()
    }

    /// The next messages to send, at most `max`, fairly across subscriptions; control messages first.
    package func drain(max: Int = 256) -> [Outgoing] {
        refillDurables()
        let retainedBudget = bus.settings.maxQueuedBytesPerConnection / 2
        return state.withLock { state -> [Outgoing] in
            guard !state.closed else { return [] }
            var out: [Outgoing] = []
            let controlCount = min(state.control.count, max)
            for message in state.control.prefix(controlCount) { out.append(.message(message)) }
            state.control.removeFirst(controlCount)
            let count = state.order.count
            var idle = 0
            while out.count < max && count > 0 && idle < count {
                let id = state.order[state.nextTurn % count]
                state.nextTurn = (state.nextTurn + 1) % count
                var queuedBytes = state.queuedBytes
                let progressed = state.subscriptions[id]?.update { subscription in
                    subscription.drain(
                        id: id, into: &out, max: max, queuedBytes: &queuedBytes, retainedBudget: retainedBudget)
                }
                state.queuedBytes = queuedBytes
                idle = progressed == true ? 0 : idle + 1
            }
            if out.isEmpty, let close = state.close {
                state.closed = true
                out.append(.close(code: close.code, reason: close.reason))
            }
            return out
        }
    }

    /// Reads the log for durable subscriptions that have room in their window and unread events.
    ///
    /// Durable subscriptions are never a reason to close: they read no further while the connection holds half of
    /// `bus.maxQueuedBytesPerConnection` (a stalled reader pauses them) and go on from where they were.
    private func refillDurables() {
        let (first, last) = bus.log.sequenceBounds
        let budget = bus.settings.maxQueuedBytesPerConnection / 2
        let wants = state.withLock { state -> [(id: String, after: UInt64, room: Int, pattern: TopicPattern)] in
            guard state.queuedBytes < budget else { return [] }
            return state.order.compactMap { id in
                guard let subscription = state.subscriptions[id], let durable = subscription.durable else { return nil }
                let room = durable.window - durable.inFlight.count - subscription.pendingCount
                guard room > 0, durable.readThrough < last else { return nil }
                return (id, durable.readThrough, room, subscription.pattern)
            }
        }
        for want in wants {
            var after = want.after
            var gap: (from: UInt64, to: UInt64)?
            if after + 1 < first {
                gap = (after + 1, first - 1)
                after = first - 1
            }
            guard let (events, scanned) = try? bus.log.read(after: after, matching: want.pattern, limit: want.room)
            else {
                continue
            }
            state.withLock { state in
                guard state.subscriptions[want.id]?.durable?.readThrough == want.after else { return }
                // Keep what fits in the byte budget (always one event, so a large one cannot stall the consumer).
                var events = events
                var scanned = scanned
                var room = budget - state.queuedBytes
                if let fit = events.indices.first(where: { index in
                    room -= events[index].body.count
                    return room < 0 && index > 0
                }) {
                    events.removeSubrange(fit...)
                    scanned = events[fit - 1].sequence
                }
                if let gap {
                    state.pushControl(
                        Wire.message(
                            "gap", ["sub": .string(want.id), "from": .int(Int64(gap.from)), "to": .int(Int64(gap.to))]))
                }
                state.subscriptions[want.id]?.update { subscription in
                    subscription.durable?.readThrough = scanned
                    subscription.pending.append(contentsOf: events)
                }
                state.queuedBytes += events.reduce(0) { $0 + $1.body.count }
            }
        }
        checkQueuedBytes()
    }

    /// The transport is gone: forget the session.
    package func close() {
        state.withLock { state in
            state.closed = true
            state.subscriptions.removeAll()
            state.order.removeAll()
            state.control.removeAll()
            state.queuedBytes = 0
        }
        waker.withLock { $0 = nil }
        wake.finish()
        bus.closeSession(self)
    }
}

extension Bus {
    static func hello(hub: String, authenticated: Bool) -> [UInt8] {
        Wire.message(
            "hello",
            ["hub": .string(hub), "version": .string(StoreHubVersion.current), "authenticated": .bool(authenticated)])
    }
}
