import Foundation

/// A CloudEvents 1.0 event as StoreHub publishes it; `subject` is the bus topic.
public struct CloudEvent: Sendable, Codable, Equatable {
    public var specversion: String
    public var id: String
    public var source: String
    public var type: String
    public var subject: String
    public var time: String
    public var datacontenttype: String?
    public var data: JSONValue?

    public init(
        id: String = UUID().uuidString.lowercased(), source: String, type: String, subject: String,
        time: Date = Date(), data: JSONValue?
    ) {
        self.specversion = "1.0"
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = Timestamp.iso8601(time)
        self.datacontenttype = data == nil ? nil : "application/json"
        self.data = data
    }

    /// The event as compact JSON, the form the log stores and the bus delivers.
    public func encoded() throws -> [UInt8] {
        Array(try CloudEvent.encoder.encode(self))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}

/// Event types that the hub itself emits.
public enum EventType {
    public static let scan = "storehub.scan"
    public static let deviceStatus = "storehub.device.status"
}

/// Timestamps in the form events carry them.
public enum Timestamp {
    /// ISO 8601 in UTC with milliseconds, e.g. `2026-11-26T10:00:00.123Z`.
    public static func iso8601(_ date: Date) -> String {
        date.formatted(style)
    }

    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
