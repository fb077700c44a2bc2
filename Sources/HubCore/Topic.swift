/// The topic grammar, in one place for every way a topic enters the hub (publish, subscribe, REST, the uplink,
/// device ids): dot-separated segments of lowercase ASCII letters, digits, `-` and `_`, at most `maxBytes` in all.
/// Patterns may also hold `*` (one segment) and a final `>` (the rest), each only as a whole segment.
///
/// Anything else is refused, control characters included: SQLite, MQTT topic filters and the status page each
/// read some other character as special (NUL ends C strings, `#` and `+` are MQTT wildcards, `/` an MQTT level).
package enum Topic {
    /// Longest topic or pattern, in bytes.
    package static let maxBytes = 256
    /// Longest segment (a device id is one), in bytes.
    package static let maxSegmentBytes = 64

    /// Validates a topic that an event is published on: no wildcards.
    package static func validate(_ topic: String) throws(ValidationError) {
        try check(topic, kind: "topic", wildcards: false)
    }

    /// Whether `bytes` may be one segment of a concrete topic (and so a device id).
    package static func isSegment(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.count <= maxSegmentBytes && bytes.allSatisfy(isSegmentByte)
    }

    package static func scan(_ device: DeviceID) -> String { "scan.\(device)" }
    package static func deviceStatus(_ device: DeviceID) -> String { "device.status.\(device)" }

    /// `text` for an error message or a log line: quoted, cut short, control characters escaped.
    package static func quoted(_ text: String) -> String {
        text.utf8.count <= 80 ? text.debugDescription : String(text.prefix(80)).debugDescription + "..."
    }

    private static func isSegmentByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    static func check(_ text: String, kind: String, wildcards: Bool) throws(ValidationError) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= maxBytes else {
            throw ValidationError("\(kind) must be 1 to \(maxBytes) bytes long")
        }
        let segments = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            // Made only for an error: every publish's topic is checked here.
            var position: String { "segment \(index + 1) of \(kind) \(quoted(text))" }
            if segment.isEmpty { throw ValidationError("\(position) is empty") }
            if wildcards, segment.count == 1, segment.first == UInt8(ascii: "*") { continue }
            if wildcards, segment.count == 1, segment.first == UInt8(ascii: ">") {
                guard index == segments.count - 1 else {
                    throw ValidationError("'>' may only be the last segment of a topic pattern, not \(position)")
                }
                continue
            }
            guard segment.count <= maxSegmentBytes else {
                throw ValidationError("\(position) is longer than \(maxSegmentBytes) bytes")
            }
            guard segment.allSatisfy(isSegmentByte) else {
                throw ValidationError(
                    "\(position) may hold only lowercase letters, digits, '-' and '_'"
                        + (wildcards ? " (or be '*' or a final '>')" : ""))
            }
        }
    }
}

/// A subscription pattern over dot-separated topics: `*` matches one segment, a final `>` one or more.
package struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    package let text: String
    /// The pattern's segments as bytes: the grammar is ASCII, so matching compares bytes, not characters (it runs
    /// for every event and every live subscription).
    private let segments: [[UInt8]]
    private static let oneSegment = Array("*".utf8)
    private static let rest = Array(">".utf8)

    /// Checks `text` against the topic grammar (`Topic`), wildcards allowed.
    package init(validating text: String) throws(ValidationError) {
        try Topic.check(text, kind: "topic pattern", wildcards: true)
        self.text = text
        self.segments = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
    }

    /// Whether `topic` (a concrete topic, no wildcards) matches.
    package func matches(_ topic: String) -> Bool {
        var topic = topic
        return topic.withUTF8 { bytes in
            var index = 0
            var start = 0
            while true {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: ".") { end += 1 }
                guard index < segments.count else { return false }
                let want = segments[index]
                if want == Self.rest { return end > start }
                if want != Self.oneSegment && !want.elementsEqual(bytes[start..<end]) { return false }
                index += 1
                if end == bytes.count { return index == segments.count }
                start = end + 1
            }
        }
    }

    /// Whether every topic this pattern matches is also matched by `other`.
    package func isCovered(by other: TopicPattern) -> Bool {
        var i = 0
        while i < segments.count {
            guard i < other.segments.count else { return false }
            let mine = segments[i]
            let theirs = other.segments[i]
            if theirs == Self.rest { return true }
            if mine == Self.rest { return false }
            if theirs != Self.oneSegment && (mine == Self.oneSegment || mine != theirs) { return false }
            i += 1
        }
        return i == other.segments.count
    }

    package var description: String { text }

    /// Every device's status topic, `device.status.<device>`: exactly three segments.
    package static let deviceStatus = fixed("device.status.*")

    /// A pattern written in the code; a typo in it is the code's error, found by the first test that loads it.
    private static func fixed(_ text: String) -> TopicPattern {
        do {
            return try TopicPattern(validating: text)
        } catch {
            fatalError("invalid built-in topic pattern \(text): \(error)")
        }
    }
}
