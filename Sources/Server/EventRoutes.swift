import Bus
import EventLog
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import NIOCore

/// `POST /api/v1/events`: publishing for services that do not keep a WebSocket open.
extension HubServer {
    /// Registers the REST publish route.
    func addEventRoutes(to router: Router<HubRequestContext>) {
        let server = self
        router.post("/api/v1/events") { request, context -> Response in
            let principal = try server.authorize(request, context)
            var request = request
            let limit = server.bus.settings.maxMessageBytes
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: limit)
            } catch {
                throw HTTPError(
                    .contentTooLarge, message: "the body may be at most \(limit) bytes (bus.maxMessageBytes)")
            }
            let publish = try Self.publishRequest(String(buffer: buffer))
            let draft: EventDraft
            do throws(PublishRefusal) {
                draft = try server.bus.prepare(publish, by: principal)
            } catch {
                throw HTTPError(Self.status(for: error.code), message: error.message)
            }
            let stored: StoredEvent
            do {
                stored = try await server.bus.log.append(draft)
            } catch {
                throw HTTPError(.serviceUnavailable, message: "event not accepted: \(error)")
            }
            var answer: [String: JSONValue] = ["sequence": .int(Int64(stored.sequence))]
            if stored.duplicate { answer["duplicate"] = .bool(true) }
            var response = Self.json(.object(answer))
            response.status = stored.duplicate ? .ok : .created
            return response
        }
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
