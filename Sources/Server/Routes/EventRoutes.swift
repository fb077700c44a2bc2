import Bus
import EventLog
import HubCore
import Hummingbird

/// GET /api/v1/events: the event log read page by page; and a plain GET of the bus endpoint, which says what it is.
struct EventRoutes: Sendable {
    let bus: Bus
    let authorizer: RouteAuthorizer
    /// Events per page when the client names no limit, and the most it may ask for.
    static let defaultLimit: UInt64 = 100
    static let limits: ClosedRange<UInt64> = 1...1000

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/api/v1/events", use: events)
            .get(RouterPath(HubServer.busPath), use: busWithoutUpgrade)
    }

    /// `topic` (a pattern the token may subscribe to, default all), `after` (a sequence, default 0) and `limit`;
    /// `next` in the answer is the `after` of the next page.
    @Sendable func events(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context)
        let query = request.uri.queryParameters
        let topic = query.get("topic") ?? ">"
        let pattern: TopicPattern
        do {
            pattern = try TopicPattern(validating: topic)
        } catch {
            throw HTTPError(.badRequest, message: "topic: \(error)")
        }
        guard principal.maySubscribe(pattern) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may not read '\(topic)'")
        }
        guard let after = Self.number(query.get("after"), default: 0),
            let limit = Self.number(query.get("limit"), default: Self.defaultLimit), Self.limits.contains(limit)
        else {
            throw HTTPError(.badRequest, message: "after and limit must be whole numbers; limit 1 to 1000")
        }
        let (events, scanned) = try bus.log.read(after: after, matching: pattern, limit: Int(limit))
        var body = Array(#"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            event.appendJSON(to: &body)
        }
        body.append(contentsOf: #"],"next":\#(events.last?.sequence ?? scanned)}"#.utf8)
        return .json(bytes: body)
    }

    @Sendable func busWithoutUpgrade(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context)
        throw HTTPError(.badRequest, message: "this is the WebSocket bus: connect with a WebSocket client")
    }

    private static func number(_ text: String?, default value: UInt64) -> UInt64? {
        guard let text else { return value }
        return UInt64(text)
    }
}
