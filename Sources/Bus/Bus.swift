import EventLog
import Foundation
import HubCore
import Logging
import Synchronization

/// Checks bearer tokens; implemented by the server's token store.
public protocol Authenticator: Sendable {
    /// The principal a token stands for, or nil for an unknown or revoked token.
    func authenticate(token: String) -> Principal?
}

/// The pub/sub bus: fans committed events out to live subscriptions and feeds durable consumers from the log.
///
/// The bus never accepts an event itself: everything goes through the EventLog first and reaches the bus from
/// the log's commit callback, so what a subscriber sees is always already durable.
public final class Bus: Sendable {
    public let log: EventLog
    public let settings: HubConfig.BusSettings
    let hubID: String
    let authenticator: any Authenticator
    let logger: Logger
    private let sessions = Mutex<[ObjectIdentifier: BusSession]>([:])
    /// Set by `shutdown`: a page that reconnects while the hub stops must not hold its server open.
    private let stopping = Atomic<Bool>(false)
    /// Which session currently serves each durable consumer name; a new subscription takes the name over.
    private let durableOwners = Mutex<[String: ObjectIdentifier]>([:])
    /// Publishes per token per second (`bus.publishRatePerToken`).
    let publishRate: PublishRate

    public init(
        log: EventLog, settings: HubConfig.BusSettings, hubID: String, authenticator: any Authenticator,
        logger: Logger = Logger(label: "storehub.bus")
    ) {
        self.log = log
        self.settings = settings
        self.hubID = hubID
        self.authenticator = authenticator
        self.logger = logger
        publishRate = PublishRate(rate: settings.publishRatePerToken, burst: settings.publishBurst)
        // Live subscribers get events as soon as the log gives them out, before the fsync when it can; durable
        // consumers read the log after the commit.
        log.onCommit(live: { [weak self] events in self?.fanOut(events, live: true, durable: false) }) {
            [weak self] events in self?.fanOut(events, live: false, durable: true)
        }
    }

    /// A new connection's session. `principal` is set when the transport already authenticated it;
    /// `onRefusedToken` runs when the client's `auth` message carries a token that is not accepted.
    public func openSession(
        principal: Principal?, peer: String, onRefusedToken: (@Sendable () -> Void)? = nil
    ) -> BusSession {
        let session = BusSession(bus: self, principal: principal, peer: peer, onRefusedToken: onRefusedToken)
        let open = sessions.withLock { sessions -> Int in
            sessions[ObjectIdentifier(session)] = session
            return sessions.count
        }
        // Checked after the insert: either this sees the flag, or shutdown's list of sessions has this one.
        if stopping.load(ordering: .acquiring) {
            session.requestClose(code: 1001, reason: "hub shutting down")
        } else if open > settings.maxConnections {
            logger.warning(
                "bus connection from \(peer) refused: \(open - 1) connections open, bus.maxConnections is \(settings.maxConnections)"
            )
            session.refuse(
                .tooManyConnections,
                "the hub serves at most \(settings.maxConnections) bus connections (bus.maxConnections); try again later",
                closeCode: 1013, reason: "too many connections")
        }
        return session
    }

    /// Number of open sessions.
    public var sessionCount: Int { sessions.withLock { $0.count } }

    func closeSession(_ session: BusSession) {
        let id = ObjectIdentifier(session)
        sessions.withLock { _ = $0.removeValue(forKey: id) }
        durableOwners.withLock { owners in owners = owners.filter { $0.value != id } }
    }

    /// Records `session` as the owner of `consumer` and returns the session it took the name from, if any.
    func claimDurable(_ consumer: String, for session: BusSession) -> BusSession? {
        let id = ObjectIdentifier(session)
        let previous = durableOwners.withLock { owners -> ObjectIdentifier? in
            defer { owners[consumer] = id }
            return owners[consumer]
        }
        guard let previous, previous != id else { return nil }
        return sessions.withLock { $0[previous] }
    }

    func releaseDurable(_ consumer: String, for session: BusSession) {
        let id = ObjectIdentifier(session)
        durableOwners.withLock { owners in
            if owners[consumer] == id { owners[consumer] = nil }
        }
    }

    /// Called on the log's writer thread: `live` queues the events for live subscriptions, `durable` wakes durable
    /// ones to read the log.
    private func fanOut(_ events: [StoredEvent], live: Bool, durable: Bool) {
        let current = sessions.withLock { Array($0.values) }
        for session in current { session.offer(events, live: live, durable: durable) }
    }

    /// Refuses every session signed in with the token `tokenID` (error, close 4401): it was just revoked.
    public func disconnect(tokenID: String) {
        let current = sessions.withLock { Array($0.values) }
        for session in current where session.principal?.tokenID == tokenID {
            session.refuse(.unauthenticated, "token revoked", closeCode: 4401, reason: "token revoked")
        }
    }

    /// Says goodbye to every session (close code 1001) so their transports can finish.
    public func shutdown() {
        stopping.store(true, ordering: .releasing)
        let current = sessions.withLock { Array($0.values) }
        for session in current { session.requestClose(code: 1001, reason: "hub shutting down") }
    }
}
