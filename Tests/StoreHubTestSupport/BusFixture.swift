import Bus
import Config
import EventLog
import Foundation
import HubCore
import Server

/// A bus on a real event log and token store, both in one database in a temporary folder, as a hub has them.
package final class BusFixture: Sendable {
    package let folder: TemporaryFolder
    package let log: EventLog
    package let tokens: TokenStore
    package let bus: Bus
    /// An admin token and a service token, made at the start.
    package let admin: String
    package let service: String

    package init(settings: HubConfig.BusSettings = .init()) throws {
        folder = try TemporaryFolder("bus")
        log = try EventLog(path: folder.databasePath, retaining: .deviceStatus)
        tokens = try TokenStore(path: folder.databasePath)
        bus = Bus(log: log, settings: settings, hubID: "test-hub", authenticator: tokens)
        admin = try tokens.create(role: .admin, label: "test").token
        service = try tokens.create(role: .service, label: "test").token
    }

    deinit {
        log.close()
    }

    /// A new token of `role` (device tokens name their `device`).
    package func token(_ role: Role, device: DeviceID? = nil) throws -> String {
        try tokens.create(role: role, label: "test", device: device).token
    }

    /// A session as a connection opens it; with `token`, it has sent its auth message.
    package func session(token: String? = nil) -> BusSession {
        let session = bus.openSession(principal: nil, peer: "test")
        if let token { session.receive(#"{"op":"auth","token":"\#(token)"}"#) }
        return session
    }

    /// Appends `count` events of type `test` on `topic` to the log.
    @discardableResult
    package func publish(_ topic: String, count: Int) async throws -> [StoredEvent] {
        let body = Array(#"{"type":"test"}"#.utf8)
        return try await log.append((0..<count).map { _ in EventDraft(topic: topic, body: body) })
    }
}
