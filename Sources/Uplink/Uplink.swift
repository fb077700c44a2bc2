import Config
import EventLog
import Foundation
import HubCore
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Forwards accepted events to the chain's MQTT broker and republishes the broker's commands on the local bus.
///
/// The uplink is the event log's durable consumer `uplink`: it reads events after its cursor, sends each as a
/// QoS 1 PUBLISH and moves the cursor only over events whose PUBACK arrived (and over events of topics that do
/// not go up). So a broker outage, a WAN cut or a killed hub leaves the rest in the log, and it goes up in
/// order once a broker answers again; only events still unacknowledged at a cut can arrive twice.
package final class Uplink: Sendable, Service {
    /// The durable consumer name in the event log.
    package static let consumer = "uplink"
    /// Who broker commands act as on the local bus: the staff role, so they may publish `mirror.command.>` and
    /// `device.command.>` and nothing else, exactly like a staff member's client.
    package static let commandPrincipal = Principal(tokenID: "uplink", role: .staff)

    package let settings: UplinkSettings
    let hubID: String
    let log: EventLog
    let logger: Logger
    // Read once at start; never logged, never part of a description.
    let password: [UInt8]?
    let tls: NIOSSLContext?
    let forwarding: Mutex<Forwarding>
    let health = Mutex(Health())
    let stopping = Atomic<Bool>(false)
    let wake = Mutex<AsyncStream<Void>.Continuation?>(nil)
    /// Takes a command of this many bytes from the publish rate a staff client would have: nil when it may go,
    /// else the wait. Without it, commands from the broker are not rate limited.
    let admitCommand: (@Sendable (_ bytes: Int) -> Duration?)?

    /// How often an idle uplink looks for new events (the log has one commit listener, the bus).
    static let pollInterval: Duration = .milliseconds(20)

    /// A broker connection that ended while an event was the only one in flight counts against that event; after
    /// this many the event is set aside as a dead letter, so one event the broker refuses cannot wedge the uplink.
    package static let maxDeliveryAttempts = 3
    /// Dead letters listed in the hub's status (the newest); the count covers all of them.
    static let listedDeadLetters = 20

    /// Events sent and not yet acknowledged, in sequence order, and how far the log has been read.
    struct Forwarding {
        var pending: [Pending] = []
        var readThrough: UInt64
        var nextPacketID: UInt16 = 1
        var inUse: Set<UInt16> = []
        /// A connection ended with events unacknowledged: until they are all acknowledged, they go one at a time,
        /// so the one the broker refuses shows itself.
        var isolating = false
        var deadLetters: [DeadLetter] = []
        var deadLetterCount: UInt64 = 0
    }

    struct Pending {
        var sequence: UInt64
        var topic: String
        var publish: MQTTPacket.Publish
        var acknowledged = false
        /// Written on the current connection.
        var sent = false
        /// Connections that ended while this event was alone in flight.
        var failures = 0
    }

    /// An event the uplink gave up on: it stays in the log, the cursor moves past it.
    struct DeadLetter: Sendable {
        var sequence: UInt64
        var topic: String
        var reason: String
        var time: Date
    }

    /// What the status API and /metrics show.
    struct Health {
        var connected = false
        /// The broker confirmed the command subscription on this connection.
        var commandsSubscribed = false
        var broker: String?
        var lastPuback: Date?
        var acknowledged: UInt64 = 0
        var connects: UInt64 = 0
        var commandsAccepted: UInt64 = 0
        var commandsRejected: UInt64 = 0
        var lostToRetention: UInt64 = 0
        var lastError: String?
        var lastBacklogWarning: ContinuousClock.Instant?
    }

    /// Reads the password file and the pinned CA. `configDirectory` resolves their relative paths. `admitCommand`
    /// applies the bus's publish rate to broker commands.
    package init(
        settings: UplinkSettings, hubID: String, configDirectory: URL, log: EventLog, logger: Logger,
        admitCommand: (@Sendable (_ bytes: Int) -> Duration?)? = nil
    ) throws(ConfigError) {
        self.admitCommand = admitCommand
        self.settings = settings
        self.hubID = hubID
        self.log = log
        self.logger = logger
        if let file = settings.passwordFile {
            let path = URL(fileURLWithPath: file, relativeTo: configDirectory).standardizedFileURL.path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError(
                    file: path, keyPath: "uplink.passwordFile", problem: "cannot be read (the broker password file)")
            }
            password = Array((text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "").utf8)
        } else {
            password = nil
        }
        if settings.brokers.contains(where: \.tls) {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let file = settings.caFile {
                let path = URL(fileURLWithPath: file, relativeTo: configDirectory).standardizedFileURL.path
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
                } catch {
                    throw ConfigError(
                        file: path, keyPath: "uplink.caFile", problem: "not a readable PEM certificate file (\(error))")
                }
            }
            do {
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw ConfigError(file: "", keyPath: "uplink", problem: "TLS cannot be set up: \(error)")
            }
        } else {
            tls = nil
        }
        // A new uplink starts at the log's end: it forwards what is accepted from now on, not the week before.
        let start = log.cursor(for: Self.consumer) ?? log.sequenceBounds.last
        if log.cursor(for: Self.consumer) == nil { log.acknowledge(consumer: Self.consumer, sequence: start) }
        forwarding = Mutex(Forwarding(readThrough: start))
    }

    // MARK: service

    /// Connects, forwards and reconnects until graceful shutdown; then says offline and disconnects.
    package func run() async throws {
        await withGracefulShutdownHandler {
            await runConnections()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.wake.withLock { $0 }?.yield()
        }
    }

    private func runConnections() async {
        var backoff = Backoff(initial: 0.5, maximum: 15)
        var index = 0
        var failuresInRow = 0
        logger.info(
            "uplink: client \(settings.clientID(hub: hubID)) to \(settings.brokers.map(\.description).joined(separator: ", "))"
        )
        while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
            let broker = settings.brokers[index % settings.brokers.count]
            do {
                try await session(with: broker)
                return
            } catch {
                let reason = String(describing: error)
                connectionEnded(reason: reason)
                let wasConnected = health.withLock { health in
                    defer {
                        health.connected = false
                        health.commandsSubscribed = false
                        health.lastError = reason
                    }
                    return health.connected
                }
                if stopping.load(ordering: .relaxed) { return }
                if wasConnected {
                    failuresInRow = 0
                    backoff.reset()
                }
                failuresInRow += 1
                index += 1
                let next = settings.brokers[index % settings.brokers.count]
                if wasConnected {
                    logger.warning("uplink: lost \(broker): \(reason); trying \(next)")
                } else {
                    logger.warning("uplink: cannot connect to \(broker): \(reason)")
                }
            }
            if failuresInRow % settings.brokers.count == 0 {
                await sleepUnlessStopping(seconds: backoff.next())
            }
        }
    }

    private func sleepUnlessStopping(seconds: Double) async {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline && !stopping.load(ordering: .relaxed) {
            // The backlog grows while no broker answers: that is when the warning matters most.
            warnAboutBacklog(now: .now)
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: health

    /// Events in the log after the uplink's cursor: not yet acknowledged by the broker (or not yet looked at).
    package var backlog: UInt64 {
        let last = log.sequenceBounds.last
        let cursor = log.cursor(for: Self.consumer) ?? last
        return last > cursor ? last - cursor : 0
    }

    /// The uplink's part of GET /api/v1/hub.
    package func status() -> JSONValue {
        let health = self.health.withLock { $0 }
        let (inFlight, deadLetters, deadLetterCount) = forwarding.withLock {
            ($0.pending.count, $0.deadLetters, $0.deadLetterCount)
        }
        return .object([
            "connected": .bool(health.connected),
            "commandsSubscribed": .bool(health.commandsSubscribed),
            "broker": health.broker.map(JSONValue.string) ?? .null,
            "clientId": .string(settings.clientID(hub: hubID)),
            "backlog": .int(Int64(backlog)),
            "inFlight": .int(Int64(inFlight)),
            "acknowledged": .int(Int64(health.acknowledged)),
            "lastPubackAt": health.lastPuback.map { JSONValue.string(Timestamp.iso8601($0)) } ?? .null,
            "connects": .int(Int64(health.connects)),
            "commandsAccepted": .int(Int64(health.commandsAccepted)),
            "commandsRejected": .int(Int64(health.commandsRejected)),
            "lostToRetention": .int(Int64(health.lostToRetention)),
            "lastError": health.lastError.map(JSONValue.string) ?? .null,
            "deadLetterCount": .int(Int64(deadLetterCount)),
            "deadLetters": .array(
                deadLetters.reversed().map { letter in
                    .object([
                        "sequence": .int(Int64(letter.sequence)), "topic": .string(letter.topic),
                        "reason": .string(letter.reason), "time": .string(Timestamp.iso8601(letter.time)),
                    ])
                }),
        ])
    }

    /// The uplink's figures for GET /metrics, read now.
    package func metrics() -> UplinkMetrics {
        let health = self.health.withLock { $0 }
        let (inFlight, deadLetters) = forwarding.withLock { ($0.pending.count, $0.deadLetterCount) }
        return UplinkMetrics(
            connected: health.connected, backlog: backlog, inFlight: inFlight, acknowledged: health.acknowledged,
            lastPuback: health.lastPuback, connects: health.connects, commandsAccepted: health.commandsAccepted,
            commandsRejected: health.commandsRejected, lostToRetention: health.lostToRetention,
            deadLetters: deadLetters)
    }
}

/// What GET /metrics shows of the uplink; the hub's metrics export it.
package struct UplinkMetrics: Sendable {
    package var connected: Bool
    /// Events in the log the broker has not acknowledged.
    package var backlog: UInt64
    /// PUBLISH packets sent and waiting for their PUBACK.
    package var inFlight: Int
    package var acknowledged: UInt64
    /// When the last PUBACK arrived; nil for never.
    package var lastPuback: Date?
    package var connects: UInt64
    package var commandsAccepted: UInt64
    package var commandsRejected: UInt64
    /// Events removed by log retention before the broker acknowledged them.
    package var lostToRetention: UInt64
    package var deadLetters: UInt64
}
