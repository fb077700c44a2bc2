/// A device's name on the bus: one topic segment, so lowercase letters, digits, `-` and `_` only.
package struct DeviceID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    package let rawValue: String

    /// Fails with a reason when `rawValue` could not be a topic segment.
    package init(validating rawValue: String) throws(ValidationError) {
        guard !rawValue.isEmpty, rawValue.utf8.count <= Topic.maxSegmentBytes else {
            throw ValidationError("must be 1 to \(Topic.maxSegmentBytes) characters long")
        }
        guard Topic.isSegment(rawValue.utf8) else {
            throw ValidationError("may hold only lowercase letters, digits, '-' and '_' (it is a topic segment)")
        }
        self.rawValue = rawValue
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "device id \(error.reason)")
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    package var description: String { rawValue }

    package static func < (lhs: DeviceID, rhs: DeviceID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why a value was refused, in words for whoever wrote it.
package struct ValidationError: Error, Sendable, CustomStringConvertible {
    package let reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}
