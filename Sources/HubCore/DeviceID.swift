/// A device's name on the bus: one topic segment, so lowercase letters, digits, `-` and `_` only.
public struct DeviceID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Fails with a reason when `rawValue` could not be a topic segment.
    public init(validating rawValue: String) throws(ValidationError) {
        guard !rawValue.isEmpty, rawValue.utf8.count <= Topic.maxSegmentBytes else {
            throw ValidationError("must be 1 to \(Topic.maxSegmentBytes) characters long")
        }
        guard Topic.isSegment(rawValue.utf8) else {
            throw ValidationError("may hold only lowercase letters, digits, '-' and '_' (it is a topic segment)")
        }
        self.rawValue = rawValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "device id \(error.reason)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: DeviceID, rhs: DeviceID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why a value was refused, in words for whoever wrote it.
public struct ValidationError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
