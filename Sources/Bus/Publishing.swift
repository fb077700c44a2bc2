import Config
import EventLog
import Foundation
import HubCore

/// An event a client asks to publish, as it came: on the bus (`publish`) or over REST (`POST /api/v1/events`).
package struct PublishRequest: Sendable {
    package var topic: String
    package var type: String
    package var data: JSONValue?
    /// The client's id for this event (it becomes the CloudEvent `id`): a repeat from the same token within the
    /// log's dedupe window is answered with the first event's sequence and not stored again.
    package var id: String?

    package init(topic: String, type: String, data: JSONValue?, id: String? = nil) {
        self.topic = topic
        self.type = type
        self.data = data
        self.id = id
    }
}

/// Why a publish was refused: the protocol's error code and what was wrong, naming the field.
package struct PublishRefusal: Error, Sendable, CustomStringConvertible {
    package var code: ErrorCode
    package var message: String

    package var description: String { message }
}

extension Bus {
    /// An answer to a scan counts in the insights as answered: `ok`, or refused (`error`, `warning`).
    static func insight(_ display: DisplayMessage) -> InsightFact? {
        guard let scan = display.answers, display.state != .info else { return nil }
        return .answer(scan: scan, ok: display.state == .ok)
    }

    /// Checks a publish at the edge, the same way for every transport: topic, the principal's right to it, type,
    /// client id, the data's schema for its topic (`display.*`, and the topics the hub reads: `checkData`), the size of
    /// a retained event, and the token's publish rate and byte budget. Returns the event to append.
    package func prepare(_ request: PublishRequest, by principal: Principal) throws(PublishRefusal) -> EventDraft {
        let topic = request.topic
        do {
            try Topic.validate(topic)
        } catch {
            throw PublishRefusal(code: .badRequest, message: "topic: \(error.reason)")
        }
        guard principal.mayPublish(topic) else {
            throw PublishRefusal(
                code: .forbidden, message: "a \(principal.description) may not publish on '\(topic.prefix(80))'")
        }
        guard !request.type.isEmpty, request.type.utf8.count <= 128 else {
            throw PublishRefusal(code: .badRequest, message: "type: must be 1 to 128 characters")
        }
        if let id = request.id, !DedupeKey.isValidID(id) {
            throw PublishRefusal(code: .badRequest, message: "id: \(DedupeKey.idRule)")
        }
        let display: DisplayMessage?
        do {
            display = try Topic.validateData(request.data, topic: topic)
        } catch {
            throw PublishRefusal(code: .badRequest, message: error.reason)
        }
        if let problem = problem(with: request.data, on: topic) {
            throw PublishRefusal(code: .badRequest, message: "data on '\(topic)': \(problem)")
        }
        if let wait = publishRate.take(principal.tokenID) {
            throw PublishRefusal(
                code: .rateLimited,
                message:
                    "this token publishes more than \(publishRate.rate.formatted()) events/s (bus.publishRatePerToken); retry in \(BusSession.milliseconds(wait)) ms"
            )
        }
        var event = CloudEvent(
            source: "storehub://\(hubID)/token/\(principal.tokenID)", type: request.type, subject: topic,
            data: request.data)
        if let id = request.id { event.id = id }
        let body: [UInt8]
        do {
            body = try event.encoded()
        } catch {
            throw PublishRefusal(code: .badRequest, message: "data: the event cannot be encoded: \(error)")
        }
        if log.isRetained(topic), body.count > settings.maxRetainedEventBytes {
            throw PublishRefusal(
                code: .tooLarge,
                message:
                    "a status event is kept for every new subscriber, so it may have at most \(settings.maxRetainedEventBytes) bytes (bus.maxRetainedEventBytes); this one has \(body.count)"
            )
        }
        let budget = byteBudget(for: principal)
        if let wait = budget.take(principal.tokenID, cost: Double(body.count)) {
            let setting = principal.role == .device ? "bus.devicePublishBytesPerSecond" : "bus.publishBytesPerSecond"
            throw PublishRefusal(
                code: .rateLimited,
                message:
                    "this token publishes more than \(Int(budget.rate)) bytes/s (\(setting)); retry in \(BusSession.milliseconds(wait)) ms"
            )
        }
        // An ok answer to a scan hands its order over: a later scan of the same signed code is `alreadyCollected`.
        let handover = display.flatMap { $0.state == .ok ? $0.answers.map(PickupFact.handedOver(scan:)) : nil }
        return EventDraft(
            topic: topic, body: body, dedupe: request.id.map { DedupeKey(scope: principal.tokenID, id: $0) },
            pickup: handover, insight: display.flatMap(Self.insight))
    }
}
