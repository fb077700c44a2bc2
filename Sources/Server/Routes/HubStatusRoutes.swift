import Bus
import EventLog
import Foundation
import HubCore
import Hummingbird

/// The MQTT uplink's health as the hub panel shows it; the hub's uplink provides it.
package protocol UplinkStatusProvider: Sendable {
    /// Connection state, what waits to be forwarded, the last error (a JSON object).
    func uplinkStatus() -> JSONValue
}

/// GET /api/v1/hub: the hub panel (version, log size, durable consumers and how far behind they are, the uplink).
struct HubStatusRoutes: Sendable {
    let bus: Bus
    let started: Date
    /// Nil when the hub has no uplink (the panel shows null).
    let uplink: (any UplinkStatusProvider)?
    let authorizer: RouteAuthorizer

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/api/v1/hub", use: hubStatus)
    }

    @Sendable func hubStatus(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.admin, .staff, .service])
        let log = bus.log
        let (first, last) = log.sequenceBounds
        let consumers = log.consumers().sorted { $0.key < $1.key }.map { name, acked -> JSONValue in
            .object([
                "name": .string(name), "acked": .int(Int64(acked)),
                "behind": .int(Int64(last > acked ? last - acked : 0)),
            ])
        }
        return .json(
            .object([
                "uplink": uplink?.uplinkStatus() ?? .null,
                "version": .string(StoreHubVersion.current),
                "uptimeSeconds": .int(Int64(Date().timeIntervalSince(started))),
                "lastSequence": .int(Int64(last)),
                "retainedEvents": .int(Int64(last >= first ? last - first + 1 : 0)),
                "logBytes": .int(Int64(log.sizeOnDisk)), "connections": .int(Int64(bus.sessionCount)),
                "consumers": .array(consumers),
            ]))
    }
}
