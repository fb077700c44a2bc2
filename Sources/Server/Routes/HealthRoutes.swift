import Bus
import EventLog
import Foundation
import HubCore
import Hummingbird

/// GET /healthz: that the hub runs, for load balancers and systemd checks; needs no token.
struct HealthRoutes: Sendable {
    let bus: Bus
    let started: Date

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/healthz", use: health)
    }

    @Sendable func health(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (_, last) = bus.log.sequenceBounds
        return .json(
            .object([
                "status": .string("ok"), "version": .string(StoreHubVersion.current),
                "uptimeSeconds": .int(Int64(Date().timeIntervalSince(started))),
                "lastSequence": .int(Int64(last)), "connections": .int(Int64(bus.sessionCount)),
            ]))
    }
}
