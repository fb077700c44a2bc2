import EventLog
import Foundation
import HubCore

/// Encodes hub → client messages. Event messages are spliced from the stored JSON without re-encoding.
enum Wire {
    static func event(sub: String, _ event: StoredEvent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(event.body.count + sub.utf8.count + 64)
        out.append(contentsOf: #"{"op":"event","sub":""#.utf8)
        out.append(contentsOf: sub.utf8)  // subscription ids are validated to need no escaping
        out.append(contentsOf: #"","event":"#.utf8)
        event.appendJSON(to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func message(_ op: String, _ fields: [String: JSONValue]) -> [UInt8] {
        var object = fields
        object["op"] = .string(op)
        return JSONValue.object(object).jsonBytes
    }

    static func error(_ code: ErrorCode, _ message: String, ref: JSONValue? = nil) -> [UInt8] {
        var fields: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let ref { fields["ref"] = ref }
        return Self.message("error", fields)
    }
}

/// The `code` of an `error` message.
package enum ErrorCode: String, Sendable {
    case badJSON = "bad_json"
    case badRequest = "bad_request"
    case unknownOp = "unknown_op"
    case unauthenticated
    case forbidden
    case duplicateSubscription = "duplicate_subscription"
    case unknownSubscription = "unknown_subscription"
    case tooLarge = "too_large"
    case unavailable
    case takenOver = "taken_over"
    case tooManyConnections = "too_many_connections"
    case tooManySubscriptions = "too_many_subscriptions"
    case tooManyConsumers = "too_many_consumers"
    case rateLimited = "rate_limited"
    case slowConsumer = "slow_consumer"
}

/// A client message that could not be used: the code and what was wrong.
struct RequestError: Error {
    var code: ErrorCode
    var message: String
}

/// Typed access to the fields of a decoded client message, with errors that name the field.
struct Fields {
    let object: [String: JSONValue]
    let op: String

    init(text: String) throws(RequestError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw RequestError(code: .badJSON, message: "message is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw RequestError(code: .badRequest, message: "a message must be a JSON object")
        }
        guard let op = object["op"]?.stringValue else {
            throw RequestError(code: .badRequest, message: "field 'op' (a string) is missing")
        }
        self.object = object
        self.op = op
    }

    var ref: JSONValue? { object["ref"] }

    func string(_ key: String) throws(RequestError) -> String {
        guard let value = object[key] else {
            throw RequestError(code: .badRequest, message: "\(op): field '\(key)' is missing")
        }
        guard let text = value.stringValue else {
            throw RequestError(code: .badRequest, message: "\(op): field '\(key)' must be a string")
        }
        return text
    }

    func optionalString(_ key: String) throws(RequestError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else {
            throw RequestError(code: .badRequest, message: "\(op): field '\(key)' must be a string")
        }
        return text
    }

    func optionalUInt(_ key: String) throws(RequestError) -> UInt64? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.intValue, number >= 0 else {
            throw RequestError(code: .badRequest, message: "\(op): field '\(key)' must be a non-negative integer")
        }
        return UInt64(number)
    }

    /// A client-chosen name (subscription id, consumer name): 1 to 64 of `A-Z a-z 0-9 _ - . :`.
    func name(_ key: String) throws(RequestError) -> String {
        let text = try string(key)
        let valid =
            !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
                    || c == 0x2D
                    || c == 0x2E || c == 0x3A
            }
        guard valid else {
            throw RequestError(
                code: .badRequest, message: "\(op): field '\(key)' must be 1-64 characters of letters, digits, _ - . :")
        }
        return text
    }
}
