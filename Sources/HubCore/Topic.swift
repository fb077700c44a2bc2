/// A subscription pattern over dot-separated topics: `*` matches one segment, a final `>` one or more.
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    private let segments: [Substring]

    public init(validating text: String) throws(ValidationError) {
        let segments = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, text.utf8.count <= 256 else {
            throw ValidationError("topic pattern must be 1 to 256 characters")
        }
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty { throw ValidationError("topic pattern '\(text)' has an empty segment") }
            if segment == ">" && index != segments.count - 1 {
                throw ValidationError("'>' may only be the last segment of a topic pattern")
            }
            if segment != "*" && segment != ">" && (segment.contains("*") || segment.contains(">")) {
                throw ValidationError("wildcards must be whole segments in '\(text)'")
            }
        }
        self.text = text
        self.segments = segments
    }

    /// Whether `topic` (a concrete topic, no wildcards) matches.
    public func matches(_ topic: String) -> Bool {
        var index = 0
        var rest = topic[...]
        while true {
            let end = rest.firstIndex(of: ".") ?? rest.endIndex
            let segment = rest[rest.startIndex..<end]
            guard index < segments.count else { return false }
            let want = segments[index]
            if want == ">" { return !segment.isEmpty }
            if want != "*" && want != segment { return false }
            index += 1
            if end == rest.endIndex { return index == segments.count }
            rest = rest[rest.index(after: end)...]
        }
    }

    /// Whether every topic this pattern matches is also matched by `other`.
    public func isCovered(by other: TopicPattern) -> Bool {
        var i = 0
        while i < segments.count {
            guard i < other.segments.count else { return false }
            let mine = segments[i]
            let theirs = other.segments[i]
            if theirs == ">" { return true }
            if mine == ">" { return false }
            if theirs != "*" && (mine == "*" || mine != theirs) { return false }
            i += 1
        }
        return i == other.segments.count
    }

    public var description: String { text }
}

/// Builds and checks concrete topic names.
public enum Topic {
    /// Validates a topic that an event is published on: non-empty segments, no wildcards.
    public static func validate(_ topic: String) throws(ValidationError) {
        guard !topic.isEmpty, topic.utf8.count <= 256 else {
            throw ValidationError("topic must be 1 to 256 characters")
        }
        for segment in topic.split(separator: ".", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw ValidationError("topic '\(topic)' has an empty segment") }
            if segment.contains("*") || segment.contains(">") || segment.contains(" ") {
                throw ValidationError("topic '\(topic)' may not contain wildcards or spaces")
            }
        }
    }

    public static func scan(_ device: DeviceID) -> String { "scan.\(device)" }
    public static func deviceStatus(_ device: DeviceID) -> String { "device.status.\(device)" }
}
