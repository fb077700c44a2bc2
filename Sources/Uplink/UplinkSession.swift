import Config
import EventLog
import Foundation
import HubCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One broker connection: CONNECT, forwarding the log's events as QoS 1 PUBLISH packets, the broker's commands.
extension Uplink {
    // MARK: one connection

    /// One connection: CONNECT, then forwarding until the connection fails (throws) or the hub stops (returns).
    func session(with broker: UplinkSettings.Broker) async throws {
        let channel = try await connect(broker)
        let (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake.withLock { $0 = continuation }
        defer {
            wake.withLock { $0 = nil }
            continuation.finish()
        }
        let link = LinkBox()
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await packet in inbound {
                        try self.receive(packet, link: link)
                        continuation.yield()
                    }
                    throw UplinkError("the broker closed the connection")
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: Self.pollInterval)
                        continuation.yield()
                    }
                }
                group.addTask {
                    try await self.send(broker: broker, link: link, wakeups: wakeups, outbound: outbound)
                }
                defer { group.cancelAll() }
                _ = try await group.next()
            }
        }
    }

    private func connect(_ broker: UplinkSettings.Broker) async throws -> NIOAsyncChannel<MQTTPacket, MQTTPacket> {
        let context = broker.tls ? tls : nil
        let serverName = settings.serverName ?? (IPAddress.isLiteral(broker.host) ? nil : broker.host)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: broker.host, port: broker.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MQTTDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(MQTTEncoder()))
                    return try NIOAsyncChannel<MQTTPacket, MQTTPacket>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// What one connection knows beyond the forwarding state.
    private struct Link {
        var connack: (sessionPresent: Bool, code: UInt8)?
        var started = false
        var pingSentAt: ContinuousClock.Instant?
        /// PUBACKs owed to the broker for commands now committed to the log, in order.
        var commandAcks: [UInt16] = []
        /// Packet ids of the online/offline status messages.
        var statusPacketIDs: Set<UInt16> = []
        var subscribePacketID: UInt16?
        var subscribed = false
    }

    /// The connection's Link, shared by its reader and sender tasks (a Mutex itself cannot be captured by them).
    private final class LinkBox: Sendable {
        private let state = Mutex(Link())

        func withLock<R: Sendable>(_ body: (inout Link) -> R) -> R {
            state.withLock { body(&$0) }
        }
    }

    /// Handles one packet from the broker (on the reader task).
    private func receive(_ packet: MQTTPacket, link: LinkBox) throws {
        switch packet {
        case .connack(let sessionPresent, let code):
            link.withLock { $0.connack = (sessionPresent, code) }
        case .puback(let packetID):
            if link.withLock({ $0.statusPacketIDs.remove(packetID) }) != nil {
                forwarding.withLock { _ = $0.inUse.remove(packetID) }
                return
            }
            acknowledge(packetID)
        case .suback(let packetID, let codes):
            guard link.withLock({ $0.subscribePacketID == packetID }) else { return }
            forwarding.withLock { _ = $0.inUse.remove(packetID) }
            if codes.contains(0x80) {
                throw UplinkError("the broker refused the subscription to \(commandFilter) (check the store's ACL)")
            }
            link.withLock { $0.subscribed = true }
            health.withLock { $0.commandsSubscribed = true }
        case .publish(let publish):
            command(publish, link: link)
        case .pingresp:
            link.withLock { $0.pingSentAt = nil }
        case .connect, .subscribe, .pingreq, .disconnect:
            throw UplinkError("the broker sent a client's packet (\(packet))")
        }
    }

    /// A PUBACK for an event: mark it and move the log cursor over the acknowledged prefix.
    private func acknowledge(_ packetID: UInt16) {
        let (acknowledged, cursor) = forwarding.withLock { state -> (Int, UInt64?) in
            guard let index = state.pending.firstIndex(where: { $0.publish.packetID == packetID && !$0.acknowledged })
            else { return (0, nil) }
            state.pending[index].acknowledged = true
            state.inUse.remove(packetID)
            let before = state.pending.count
            let cursor = Self.settle(&state)
            return (before - state.pending.count, cursor)
        }
        health.withLock { health in
            health.lastPuback = Date()
            health.acknowledged += UInt64(acknowledged)
        }
        if let cursor { log.acknowledge(consumer: Self.consumer, sequence: cursor) }
    }

    private var commandFilter: String { settings.topicPrefix + "command/#" }

    /// The sender: CONNECT, then on every wakeup send what is owed, fill the window from the log, keep alive.
    private func send(
        broker: UplinkSettings.Broker, link: LinkBox, wakeups: AsyncStream<Void>,
        outbound: NIOAsyncChannelOutboundWriter<MQTTPacket>
    ) async throws {
        let keepalive = Duration.seconds(settings.keepaliveSeconds)
        let opened = ContinuousClock.now
        var lastSent = opened
        try await outbound.write(
            .connect(
                MQTTPacket.Connect(
                    clientID: settings.clientID(hub: hubID), cleanSession: false,
                    keepaliveSeconds: UInt16(settings.keepaliveSeconds),
                    will: MQTTPacket.Publish(
                        topic: statusTopic, payload: statusPayload(online: false), qos: 1, retain: true),
                    username: settings.username, password: password)))
        for await _ in wakeups {
            let now = ContinuousClock.now
            if stopping.load(ordering: .relaxed) {
                try await sayGoodbye(link: link, outbound: outbound)
                return
            }
            guard let connack = link.withLock({ $0.connack }) else {
                if now - opened > .seconds(10) { throw UplinkError("no CONNACK within 10 s") }
                continue
            }
            guard connack.code == 0 else {
                throw UplinkError("the broker refused the connection: \(MQTTPacket.connackReason(connack.code))")
            }
            var packets: [MQTTPacket] = []
            if !link.withLock({ $0.started }) {
                packets += start(broker: broker, sessionPresent: connack.sessionPresent, link: link)
            }
            for packetID in link.withLock({ state in
                defer { state.commandAcks.removeAll() }
                return state.commandAcks
            }) {
                packets.append(.puback(packetID: packetID))
            }
            packets += fill()
            if packets.isEmpty, now - lastSent >= keepalive / 2, link.withLock({ $0.pingSentAt == nil }) {
                packets.append(.pingreq)
                link.withLock { $0.pingSentAt = now }
            }
            if let pingSentAt = link.withLock({ $0.pingSentAt }), now - pingSentAt > keepalive {
                throw UplinkError("no PINGRESP within \(settings.keepaliveSeconds) s")
            }
            if !packets.isEmpty {
                try await outbound.write(contentsOf: packets)
                lastSent = now
            }
            warnAboutBacklog(now: now)
        }
    }

    /// After CONNACK: the retained online status, the command subscription and every unacknowledged event again.
    private func start(broker: UplinkSettings.Broker, sessionPresent: Bool, link: LinkBox) -> [MQTTPacket] {
        var packets: [MQTTPacket] = []
        let (statusID, subscribeID, resend) = forwarding.withLock { state in
            let statusID = Self.nextPacketID(&state)
            let subscribeID = settings.commands ? Self.nextPacketID(&state) : nil
            return (statusID, subscribeID, Self.takeUnsent(&state))
        }
        link.withLock { state in
            state.started = true
            state.statusPacketIDs.insert(statusID)
            state.subscribePacketID = subscribeID
        }
        packets.append(
            .publish(
                MQTTPacket.Publish(
                    topic: statusTopic, payload: statusPayload(online: true), qos: 1, retain: true, packetID: statusID))
        )
        if let subscribeID {
            packets.append(
                .subscribe(packetID: subscribeID, filters: [MQTTPacket.Subscription(filter: commandFilter, qos: 1)]))
        }
        packets += resend
        let reconnect = health.withLock { health in
            health.connected = true
            health.broker = broker.description
            health.connects += 1
            health.lastError = nil
            return health.connects > 1
        }
        logger.notice(
            "uplink: connected to \(broker) (session \(sessionPresent ? "resumed" : "new"), \(resend.count) to resend)")
        if reconnect && !resend.isEmpty {
            logger.info("uplink: resending \(resend.count) events the broker had not acknowledged")
        }
        return packets
    }

    /// Reads the log after `readThrough` into free window slots; returns the PUBLISH packets to send.
    private func fill() -> [MQTTPacket] {
        let (first, last) = log.sequenceBounds
        var packets: [MQTTPacket] = []
        var lost: (from: UInt64, to: UInt64)?
        var cursor: UInt64?
        var refused: [DeadLetter] = []
        forwarding.withLock { state in
            if state.readThrough + 1 < first && state.pending.isEmpty {
                lost = (state.readThrough + 1, first - 1)
                state.readThrough = first - 1
            }
            while !state.isolating && state.readThrough < last && state.inUse.count < settings.maxInFlight {
                let room = settings.maxInFlight - state.inUse.count
                guard let (events, scanned) = try? log.read(after: state.readThrough, limit: room), scanned > 0 else {
                    break
                }
                for event in events where forwards(event.topic) {
                    // Logs written before the topic grammar may hold topics no broker should see (`#`, `+`, NUL).
                    do throws(ValidationError) {
                        try Topic.validate(event.topic)
                    } catch {
                        let letter = DeadLetter(
                            sequence: event.sequence, topic: event.topic, reason: error.reason, time: Date())
                        Self.setAside(letter, &state)
                        refused.append(letter)
                        continue
                    }
                    let publish = MQTTPacket.Publish(
                        topic: mqttTopic(event.topic), payload: event.json, qos: 1,
                        packetID: Self.nextPacketID(&state))
                    state.pending.append(Pending(sequence: event.sequence, topic: event.topic, publish: publish))
                }
                if scanned <= state.readThrough { break }
                state.readThrough = scanned
            }
            packets = Self.takeUnsent(&state)
            if state.pending.isEmpty { cursor = state.readThrough }
        }
        for letter in refused { reportDeadLetter(letter) }
        if let lost {
            health.withLock { $0.lostToRetention += lost.to - lost.from + 1 }
            logger.error(
                "uplink: events \(lost.from)-\(lost.to) were removed by the log's retention before the broker acknowledged them; they never reach the broker"
            )
        }
        if let cursor { log.acknowledge(consumer: Self.consumer, sequence: cursor) }
        return packets
    }

    private static func nextPacketID(_ state: inout Forwarding) -> UInt16 {
        while state.inUse.contains(state.nextPacketID) || state.nextPacketID == 0 {
            state.nextPacketID &+= 1
        }
        let id = state.nextPacketID
        state.inUse.insert(id)
        state.nextPacketID &+= 1
        return id
    }

    /// PUBLISH packets for pending events not yet written on this connection: all of them, or while isolating, the
    /// first one once nothing else is in flight.
    private static func takeUnsent(_ state: inout Forwarding) -> [MQTTPacket] {
        if state.isolating && !state.pending.contains(where: { !$0.acknowledged }) { state.isolating = false }
        var packets: [MQTTPacket] = []
        for index in state.pending.indices where !state.pending[index].acknowledged && !state.pending[index].sent {
            if state.isolating && state.pending.contains(where: { $0.sent && !$0.acknowledged }) { break }
            state.pending[index].sent = true
            var publish = state.pending[index].publish
            publish.dup = state.pending[index].failures > 0 || state.isolating
            packets.append(.publish(publish))
            if state.isolating { break }
        }
        return packets
    }

    /// The broker connection ended: what was in flight is sent again on the next one, one at a time; an event that
    /// was alone in flight for the `maxDeliveryAttempts`th time becomes a dead letter.
    func connectionEnded(reason: String) {
        let (letter, cursor) = forwarding.withLock { state -> (DeadLetter?, UInt64?) in
            let inFlight = state.pending.indices.filter { state.pending[$0].sent && !state.pending[$0].acknowledged }
            for index in state.pending.indices { state.pending[index].sent = false }
            guard !inFlight.isEmpty else { return (nil, nil) }
            state.isolating = true
            guard inFlight.count == 1, let index = inFlight.first else { return (nil, nil) }
            state.pending[index].failures += 1
            guard state.pending[index].failures >= Self.maxDeliveryAttempts else { return (nil, nil) }
            let pending = state.pending[index]
            state.pending[index].acknowledged = true
            state.inUse.remove(pending.publish.packetID ?? 0)
            let letter = DeadLetter(
                sequence: pending.sequence, topic: pending.topic,
                reason:
                    "the broker connection ended \(pending.failures) times with it alone in flight (last: \(reason))",
                time: Date())
            Self.setAside(letter, &state)
            return (letter, Self.settle(&state))
        }
        if let letter { reportDeadLetter(letter) }
        if let cursor { log.acknowledge(consumer: Self.consumer, sequence: cursor) }
    }

    private static func setAside(_ letter: DeadLetter, _ state: inout Forwarding) {
        state.deadLetterCount += 1
        state.deadLetters.append(letter)
        if state.deadLetters.count > listedDeadLetters { state.deadLetters.removeFirst() }
    }

    private func reportDeadLetter(_ letter: DeadLetter) {
        logger.error(
            "uplink: event \(letter.sequence) on \(Topic.quoted(letter.topic)) set aside as a dead letter, it does not go up: \(letter.reason)"
        )
    }

    /// Drops the acknowledged prefix of `pending`; the cursor the log may move to, if it moved.
    private static func settle(_ state: inout Forwarding) -> UInt64? {
        let prefix = state.pending.prefix { $0.acknowledged }.count
        guard prefix > 0 else { return nil }
        state.pending.removeFirst(prefix)
        return state.pending.first.map { $0.sequence - 1 } ?? state.readThrough
    }

    /// Whether a bus topic goes up: configured, and not in the prefix's reserved `command` and `hub` subtrees.
    func forwards(_ topic: String) -> Bool {
        guard !topic.hasPrefix("command."), !topic.hasPrefix("hub.") else { return false }
        return settings.topics.contains { $0.matches(topic) }
    }

    /// `scan.kiosk-1` → `chain/store-1/scan/kiosk-1`.
    func mqttTopic(_ topic: String) -> String {
        settings.topicPrefix + topic.replacingOccurrences(of: ".", with: "/")
    }

    var statusTopic: String { settings.topicPrefix + "hub/\(hubID)/status" }

    private func statusPayload(online: Bool) -> [UInt8] {
        JSONValue.object([
            "hub": .string(hubID), "store": .string(settings.store), "online": .bool(online),
            "time": .string(Timestamp.iso8601(Date())),
        ]).jsonBytes
    }

    /// Graceful stop: the retained offline status (the will is not sent after DISCONNECT), then DISCONNECT.
    private func sayGoodbye(link: LinkBox, outbound: NIOAsyncChannelOutboundWriter<MQTTPacket>) async throws {
        guard link.withLock({ $0.connack?.code == 0 }) else { return }
        let packetID = forwarding.withLock { Self.nextPacketID(&$0) }
        link.withLock { _ = $0.statusPacketIDs.insert(packetID) }
        try await outbound.write(
            .publish(
                MQTTPacket.Publish(
                    topic: statusTopic, payload: statusPayload(online: false), qos: 1, retain: true, packetID: packetID
                )))
        let deadline = ContinuousClock.now + .seconds(2)
        while link.withLock({ $0.statusPacketIDs.contains(packetID) }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await outbound.write(.disconnect)
        health.withLock { $0.connected = false }
        logger.info("uplink: disconnected (hub stopping)")
    }

    func warnAboutBacklog(now: ContinuousClock.Instant) {
        let backlog = self.backlog
        guard backlog > UInt64(settings.backlogWarning) else { return }
        let due = health.withLock { health -> Bool in
            if let last = health.lastBacklogWarning, now - last < .seconds(60) { return false }
            health.lastBacklogWarning = now
            return true
        }
        if due {
            logger.warning(
                "uplink: \(backlog) events wait for the broker (warning above \(settings.backlogWarning)); the log keeps them until its retention removes them"
            )
        }
    }

    // MARK: commands

    /// A PUBLISH under `<prefix>command/`: checked like a staff client's publish, committed, then acknowledged.
    private func command(_ publish: MQTTPacket.Publish, link: LinkBox) {
        let ack: @Sendable () -> Void = { [self] in
            guard let packetID = publish.packetID, publish.qos > 0 else { return }
            link.withLock { $0.commandAcks.append(packetID) }
            wake.withLock { $0 }?.yield()
        }
        let draft: EventDraft
        do throws(ValidationError) {
            draft = try commandEvent(publish)
            if let wait = admitCommand?(draft.body.count) {
                throw ValidationError(
                    "commands arrive faster than the bus's publish rate for a staff token; one would pass in \(wait)")
            }
        } catch {
            health.withLock { $0.commandsRejected += 1 }
            logger.warning("uplink: command on \(publish.topic.prefix(200)) refused: \(error.reason)")
            ack()  // a refused command is not redelivered: it would be refused again
            return
        }
        log.append([draft]) { [self] result in
            switch result {
            case .success:
                health.withLock { $0.commandsAccepted += 1 }
                ack()
            case .failure(let error):
                // Not acknowledged: the broker delivers it again after the reconnect.
                logger.error("uplink: command on \(draft.topic) not accepted by the event log: \(error)")
            }
        }
    }

    /// `<prefix>command/mirror/command/mirror-1` with `{"type": ..., "data": ...}` → the event on `mirror.command.mirror-1`.
    func commandEvent(_ publish: MQTTPacket.Publish) throws(ValidationError) -> EventDraft {
        let prefix = settings.topicPrefix + "command/"
        guard publish.topic.hasPrefix(prefix) else {
            throw ValidationError("not under \(prefix)")
        }
        let topic = publish.topic.dropFirst(prefix.count).replacingOccurrences(of: "/", with: ".")
        try Topic.validate(topic)
        guard Self.commandPrincipal.mayPublish(topic) else {
            throw ValidationError("a \(Self.commandPrincipal.description) may not publish on '\(topic)'")
        }
        guard let text = String(validating: publish.payload, as: UTF8.self),
            case .object(let object)? = try? JSONParser.parse(text)
        else {
            throw ValidationError("the payload must be a JSON object {\"type\": ..., \"data\": ...}")
        }
        guard let type = object["type"]?.stringValue, !type.isEmpty, type.utf8.count <= 128 else {
            throw ValidationError("'type' must be a string of 1 to 128 characters")
        }
        let event = CloudEvent(
            source: "storehub://\(hubID)/uplink", type: type, subject: topic, data: object["data"])
        guard let body = try? event.encoded() else { throw ValidationError("the event cannot be encoded") }
        return EventDraft(topic: topic, body: body)
    }
}

/// Why a broker connection ended.
struct UplinkError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
