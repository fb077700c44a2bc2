import Bus
import EventLog
import HubCore
import Hummingbird

/// GET /api/v1/events: the event log read page by page; and a plain GET of the bus endpoint, which says what it is.
struct EventRoutes: Sendable {
    let bus: Bus
    let authorizer: RouteAuthorizer

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/api/v1/events", use: events)
            .get(RouterPath(HubServer.busPath), use: busWithoutUpgrade)
    }

    /// `topic` (a pattern the token may subscribe to, default all), `after` (a sequence, default 0) and `limit`,
    /// checked by `EventsQuery`; the page is built by `EventsPage`.
    @Sendable func events(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context)
        let query = try EventsQuery(ClientQuery(request))
        guard principal.maySubscribe(query.pattern) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may not read '\(query.topic)'")
        }
        let body = try EventsPage.body(query, log: bus.log)
        return .json(bytes: body)
    }

    @Sendable func busWithoutUpgrade(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context)
        throw HTTPError(.badRequest, message: "this is the WebSocket bus: connect with a WebSocket client")
    }
}
