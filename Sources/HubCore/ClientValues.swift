import Foundation

/// A value a client sent in a query string or path that is not what the API takes. The transport answers it with
/// 400 and a JSON error that names the parameter.
package struct ClientValueError: Error, Equatable, CustomStringConvertible {
    /// The query or path parameter, as the API spells its name.
    package let parameter: String
    /// What was wrong and what is taken instead; never the client's value itself.
    package let message: String

    package init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    package var description: String { "\(parameter): \(message)" }
}

/// The query parameters of one request, read only through typed accessors that check each value into its range.
///
/// Every number, topic and ticket a client puts in a query goes through here, so a value out of range is refused in
/// one place instead of reaching a conversion that could trap. A parameter given twice is refused too: which of the
/// two a route would use is not something to guess.
package struct ClientQuery: Sendable {
    /// Longest query value the hub reads; longer ones are refused before they are looked at.
    package static let maxValueBytes = 1024

    private let parameters: [(name: Substring, value: Substring)]

    /// Parameters as the transport decoded them from the query string, in order.
    package init(_ parameters: [(name: Substring, value: Substring)]) {
        self.parameters = parameters
    }

    /// The single value of `name`, or nil when it is absent.
    package func value(_ name: String) throws(ClientValueError) -> Substring? {
        var found: Substring?
        for parameter in parameters where parameter.name == name {
            guard found == nil else { throw ClientValueError(name, "given more than once") }
            found = parameter.value
        }
        if let found, found.utf8.count > Self.maxValueBytes {
            throw ClientValueError(name, "longer than \(Self.maxValueBytes) bytes")
        }
        return found
    }

    /// A whole number in `range` written in decimal digits only (no sign, no spaces), or `fallback` when absent.
    package func integer(
        _ name: String, in range: ClosedRange<UInt64>, default fallback: UInt64
    ) throws(ClientValueError) -> UInt64 {
        guard let text = try value(name) else { return fallback }
        let digitsOnly = !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digitsOnly, let number = UInt64(text, radix: 10), range.contains(number) else {
            throw ClientValueError(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// A topic pattern (`scan.*`, `device.status.>`), or the pattern `fallback` when absent.
    package func topicPattern(_ name: String, default fallback: String) throws(ClientValueError) -> TopicPattern {
        let text = try value(name).map(String.init) ?? fallback
        do {
            return try TopicPattern(validating: text)
        } catch {
            throw ClientValueError(name, "not a topic pattern: \(error.reason)")
        }
    }
}

/// Values of a route's path, each checked into its grammar in one place.
package enum PathValue {
    /// A device id or another name with the topic-segment grammar (sink names): lowercase letters, digits, `-`, `_`.
    package static func name(_ text: String?, parameter: String) throws(ClientValueError) -> DeviceID {
        guard let text else { throw ClientValueError(parameter, "missing from the path") }
        do {
            return try DeviceID(validating: text)
        } catch {
            throw ClientValueError(parameter, error.reason)
        }
    }

    /// The id of a path segment `<id><suffix>` (such as `<snapshot id>.jpg`) whose id is 32 lowercase hex digits.
    package static func hexID(_ text: String?, suffix: String, parameter: String) throws(ClientValueError) -> String {
        guard let text, text.hasSuffix(suffix), isHexID(text.dropLast(suffix.count)) else {
            throw ClientValueError(parameter, "must be <32 hex digits>\(suffix)")
        }
        return String(text.dropLast(suffix.count))
    }

    /// True for the 32 lowercase hex digits of the hub's random ids (snapshots, stream tickets).
    package static func isHexID(_ text: Substring) -> Bool {
        text.utf8.count == 32
            && text.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= 97 && $0 <= 102) }
    }
}

/// What `GET /api/v1/events` was asked for: `topic`, `after` and `limit`, each checked into its range.
package struct EventsQuery: Sendable {
    /// Events per page when the client names no `limit`, and the most it may ask for.
    package static let defaultLimit: UInt64 = 100
    package static let maxLimit: UInt64 = 1000
    /// Sequences are SQLite integers: nothing above Int64.max exists, so nothing above it is taken.
    package static let afterRange: ClosedRange<UInt64> = 0...UInt64(Int64.max)

    package var topic: String
    package var pattern: TopicPattern
    package var after: UInt64
    package var limit: Int

    package init(_ query: ClientQuery) throws(ClientValueError) {
        topic = try query.value("topic").map(String.init) ?? ">"
        pattern = try query.topicPattern("topic", default: ">")
        after = try query.integer("after", in: Self.afterRange, default: 0)
        limit = try Int(query.integer("limit", in: 1...Self.maxLimit, default: Self.defaultLimit))
    }
}

extension ClientQuery {
    /// An ISO 8601 time (`2026-12-02T10:00:00Z`, fractions allowed) between 1970 and the year 5138, or nil when
    /// absent.
    package func instant(_ name: String) throws(ClientValueError) -> Date? {
        guard let text = try value(name) else { return nil }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard text.utf8.count <= 40, let date = plain.date(from: String(text)) ?? fractional.date(from: String(text)),
            date.timeIntervalSince1970 > 0, date.timeIntervalSince1970 < 1e11
        else { throw ClientValueError(name, "expected an ISO 8601 time such as 2026-12-02T10:00:00Z") }
        return date
    }
}

/// What `GET /api/v1/insights` was asked for: `from` and `to`, at most `maxRange` apart; by default the last day.
package struct InsightsQuery: Sendable {
    /// Longest range one request may cover.
    package static let maxRange: TimeInterval = 92 * 24 * 3600

    package var from: Date
    package var to: Date

    package init(_ query: ClientQuery, now: Date = Date()) throws(ClientValueError) {
        to = try query.instant("to") ?? now
        from = try query.instant("from") ?? to.addingTimeInterval(-24 * 3600)
        guard from < to, to.timeIntervalSince(from) <= Self.maxRange else {
            throw ClientValueError("from", "must be before to, at most 92 days apart")
        }
    }
}
