import Foundation

/// Counts the same payload from one device once within a time window.
///
/// A code held up to a camera is decoded in many consecutive frames; the order service wants one scan.
public struct DuplicateFilter: Sendable {
    public var window: TimeInterval
    private var lastSeen: [Key: Date] = [:]

    private struct Key: Hashable, Sendable {
        var symbology: String
        var bytes: [UInt8]
    }

    public init(window: TimeInterval) {
        self.window = window
    }

    /// True when the payload was not seen within the window before `time`; either way `time` becomes its last sight.
    public mutating func admit(_ symbol: DecodedSymbol, at time: Date) -> Bool {
        admit(symbology: symbol.symbology.rawValue, bytes: symbol.bytes, at: time)
    }

    /// The same for a payload read by a scanner, whose symbology may be one zbar does not know (`unknown`).
    public mutating func admit(symbology: String, bytes: [UInt8], at time: Date) -> Bool {
        let key = Key(symbology: symbology, bytes: bytes)
        let previous = lastSeen.updateValue(time, forKey: key)
        if lastSeen.count > 1024 { lastSeen = lastSeen.filter { time.timeIntervalSince($0.value) < window } }
        guard let previous else { return true }
        return time.timeIntervalSince(previous) >= window
    }
}
