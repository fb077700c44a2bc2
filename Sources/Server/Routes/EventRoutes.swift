import Bus
import Config
import EventLog
import HTTPTypes
import HubCore
import Hummingbird
import NIOCore

/// GET /api/v1/events: the event log read page by page; POST /api/v1/events: publishing for services that do not
/// keep a WebSocket open; and a plain GET of the bus endpoint, which says what it is.
struct EventRoutes: Sendable {
    let bus: Bus
    let authorizer: RouteAuthorizer

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/api/v1/events", use: events)
            .post("/api/v1/events", use: publish)
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

    /// The body is `{"topic", "type", "data"?, "id"?}`, checked by `Bus.prepare` as a bus `publish` is. 201 with the
    /// new event's sequence; 200 with the first one's and `duplicate` for a repeated `id`.
    @Sendable func publish(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context)
        var request = request
        let limit = bus.settings.maxMessageBytes
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body may be at most \(limit) bytes (bus.maxMessageBytes)")
        }
        let publish = try Self.publishRequest(String(buffer: buffer))
        let draft: EventDraft
        do throws(PublishRefusal) {
            draft = try bus.prepare(publish, by: principal)
        } catch {
            throw HTTPError(Self.status(for: error.code), message: error.message)
        }
        let stored: StoredEvent
        do {
            stored = try await bus.log.append(draft)
        } catch {
            throw HTTPError(.serviceUnavailable, message: "event not accepted: \(error)")
        }
        var answer: [String: JSONValue] = ["sequence": .int(Int64(stored.sequence))]
        if stored.duplicate { answer["duplicate"] = .bool(true) }
        var response = Response.json(.object(answer))
        response.status = stored.duplicate ? .ok : .created
        return response
    }

    /// The body's fields: `topic`, `type`, optional `data` and `id`, nothing else.
    static func publishRequest(_ text: String) throws -> PublishRequest {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw HTTPError(.badRequest, message: "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw HTTPError(.badRequest, message: "the body must be a JSON object with topic, type, data and id")
        }
        let known: Set<String> = ["topic", "type", "data", "id"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw HTTPError(.badRequest, message: "\(unknown.prefix(40)): unknown field (known: data, id, topic, type)")
        }
        func string(_ key: String, required: Bool) throws -> String? {
            switch object[key] {
            case .string(let text)?: return text
            case nil, .null?:
                if required { throw HTTPError(.badRequest, message: "\(key): missing") }
                return nil
            default: throw HTTPError(.badRequest, message: "\(key): must be a string")
            }
        }
        return PublishRequest(
            topic: try string("topic", required: true) ?? "", type: try string("type", required: true) ?? "",
            data: object["data"], id: try string("id", required: false))
    }

    static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .forbidden: .forbidden
        case .rateLimited: .tooManyRequests
        case .tooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        default: .badRequest
        }
    }
}
