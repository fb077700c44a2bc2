import Config
import EventLog
import Foundation
import HubCore
import Logging
import Synchronization

/// Checks bearer tokens; implemented by the server's token store.
package protocol Authenticator: Sendable {
    /// The principal a token stands for, or nil for an unknown or revoked token.
    func authenticate(token: String) -> Principal?
}

/// The pub/sub bus: fans committed events out to live subscriptions and feeds durable consumers from the log.
///
/// The bus never accepts an event itself: everything goes through the EventLog first and reaches the bus from
/// the log's commit callback, so what a subscriber sees is always already durable.
package final class Bus: Sendable {
    package let log: EventLog
    package let settings: HubConfig.BusSettings
    let hubID: String
    let authenticator: any Authenticator
    let logger: Logger
    private let sessions = Mutex<[ObjectIdentifier: BusSession]>([:])
    /// The authenticated sessions: only they count against `bus.maxConnections`, so connections that never show a
    /// token cannot fill it (the transport bounds those per address).
    private let admitted = Mutex<Set<ObjectIdentifier>>([])
    /// Set by `shutdown`: a page that reconnects while the hub stops must not hold its server open.
    private let stopping = Atomic<Bool>(false)
    /// Which session currently serves each durable consumer name; a new subscription takes the name over.
    private let durableOwners = Mutex<[String: ObjectIdentifier]>([:])
    /// Publishes per token per second (`bus.publishRatePerToken`).
    let publishRate: PublishRate
    /// Bytes published per token per second: `bus.devicePublishBytesPerSecond` for device tokens,
    /// `bus.publishBytesPerSecond` for the others.
    let publishBytes: PublishRate
    let devicePublishBytes: PublishRate
    /// Checks of event `data` on topics the hub itself reads (`checkData(on:_:)`).
    private let dataChecks = Mutex<[DataCheck]>([])
    /// In-process subscriptions (`subscribe(to:)`), fed by the live fan-out beside the sessions.
    let liveSubscribers = LiveSubscribers()

    private struct DataCheck {
        let pattern: TopicPattern
        let problem: @Sendable (JSONValue?) -> String?
    }

    package init(
        log: EventLog, settings: HubConfig.BusSettings, hubID: String, authenticator: any Authenticator,
        logger: Logger = Logger(label: "storehub.bus")
    ) {
        self.log = log
        self.settings = settings
        self.hubID = hubID
        self.authenticator = authenticator
        self.logger = logger
        publishRate = PublishRate(rate: settings.publishRatePerToken, burst: settings.publishBurst)
        publishBytes = Self.byteBudget(settings.publishBytesPerSecond, settings)
        devicePublishBytes = Self.byteBudget(settings.devicePublishBytesPerSecond, settings)
        // Live subscribers get events as soon as the log gives them out, before the fsync when it can; durable
        // consumers read the log after the commit.
        log.onCommit(live: { [weak self] events in self?.fanOut(events, live: true, durable: false) }) {
            [weak self] events in self?.fanOut(events, live: false, durable: true)
        }
    }

    /// Has every publish on a topic matching `pattern` checked by `problem`, which returns what is wrong with the
    /// event's `data` (nil when it may be used): a client then gets `bad_request` instead of an event the hub would
    /// refuse later, when it reads it.
    package func checkData(on pattern: TopicPattern, _ problem: @escaping @Sendable (JSONValue?) -> String?) {
        dataChecks.withLock { $0.append(DataCheck(pattern: pattern, problem: problem)) }
    }

    /// What the first matching `checkData` check finds wrong with `data` on `topic`.
    func problem(with data: JSONValue?, on topic: String) -> String? {
        let checks = dataChecks.withLock { $0.filter { $0.pattern.matches(topic) } }
        return checks.lazy.compactMap { $0.problem(data) }.first
    }

    /// Four seconds' worth, and at least one largest message.
    private static func byteBudget(_ perSecond: Int, _ settings: HubConfig.BusSettings) -> PublishRate {
        PublishRate(rate: Double(perSecond), burst: max(4 * perSecond, settings.maxMessageBytes))
    }

    /// The byte budget that `principal`'s publishes are taken from.
    func byteBudget(for principal: Principal) -> PublishRate {
        principal.role == .device ? devicePublishBytes : publishBytes
    }

    /// Takes one publish of `bytes` from `principal`'s publish rate and byte budget, as a client's publish would:
    /// nil when it may go, else the wait. For publishers that are not bus clients (the uplink's commands).
    package func admitPublish(by principal: Principal, bytes: Int) -> Duration? {
        publishRate.take(principal.tokenID) ?? byteBudget(for: principal).take(principal.tokenID, cost: Double(bytes))
    }

    /// A new connection's session. `principal` is set when the transport already authenticated it;
    /// `onRefusedToken` runs when the client's `auth` message carries a token that is not accepted.
    package func openSession(
        principal: Principal?, peer: String, onRefusedToken: (@Sendable () -> Void)? = nil
    ) -> BusSession {
        let session = BusSession(bus: self, principal: principal, peer: peer, onRefusedToken: onRefusedToken)
        sessions.withLock { sessions in sessions[ObjectIdentifier(session)] = session }
        // Checked after the insert: either this sees the flag, or shutdown's list of sessions has this one.
        if stopping.load(ordering: .acquiring) {
            session.requestClose(code: 1001, reason: "hub shutting down")
        } else if principal != nil {
            admit(session)
        }
        return session
    }

    /// Counts an authenticated session against `bus.maxConnections`; one past it is refused (1013). False then.
    @discardableResult
    func admit(_ session: BusSession) -> Bool {
        let open = admitted.withLock { admitted -> Int in
            admitted.insert(ObjectIdentifier(session))
            return admitted.count
        }
        guard open > settings.maxConnections else { return true }
        admitted.withLock { _ = $0.remove(ObjectIdentifier(session)) }
        logger.warning(
            "bus connection from \(session.peer) refused: \(open - 1) connections open, bus.maxConnections is \(settings.maxConnections)"
        )
        session.refuse(
            .tooManyConnections,
            "the hub serves at most \(settings.maxConnections) bus connections (bus.maxConnections); try again later",
            closeCode: 1013, reason: "too many connections")
        return false
    }

    /// Number of open sessions.
    package var sessionCount: Int { sessions.withLock { $0.count } }

    func closeSession(_ session: BusSession) {
        let id = ObjectIdentifier(session)
        sessions.withLock { _ = $0.removeValue(forKey: id) }
        admitted.withLock { _ = $0.remove(id) }
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
        if live { liveSubscribers.offer(events) }
    }

    /// Refuses every session signed in with the token `tokenID` (error, close 4401): it was just revoked.
    package func disconnect(tokenID: String) {
        let current = sessions.withLock { Array($0.values) }
        for session in current where session.principal?.tokenID == tokenID {
            session.refuse(.unauthenticated, "token revoked", closeCode: 4401, reason: "token revoked")
        }
    }

    /// Says goodbye to every session (close code 1001) so their transports can finish.
    package func shutdown() {
        stopping.store(true, ordering: .releasing)
        let current = sessions.withLock { Array($0.values) }
        for session in current { session.requestClose(code: 1001, reason: "hub shutting down") }
    }
}
