import Foundation

/// Counts the same payload from one device once: within a time window, or once for the whole session.
///
/// A code held up to a camera is decoded in many consecutive frames; the order service wants one scan.
/// In `session` mode a payload counts the first time only, for as long as the filter lives (the hub keeps one
/// per device for the whole run, across camera reconnects). It remembers at most `sessionCapacity` payloads;
/// past that the oldest are forgotten first.
package struct DuplicateFilter: Sendable {
    /// How long a sighting suppresses the same payload.
    package enum Scope: Sendable, Equatable {
        /// A sliding window: the payload counts again once it was out of sight for this many seconds.
        case window(TimeInterval)
        /// Once per session.
        case session
    }

    /// Window or session.
    package var scope: Scope
    /// Payloads remembered in session mode before the oldest are forgotten.
    package var sessionCapacity: Int
    private var lastSeen: [Key: Date] = [:]
    /// Session mode: payloads in the order first seen, for forgetting the oldest.
    private var order: [Key] = []
    private var orderStart = 0

    private struct Key: Hashable, Sendable {
        var symbology: String
        var bytes: [UInt8]
    }

    package init(window: TimeInterval) {
        self.init(scope: .window(window))
    }

    package init(scope: Scope, sessionCapacity: Int = 65_536) {
        self.scope = scope
        self.sessionCapacity = max(1, sessionCapacity)
    }

    /// The sliding window in seconds (0 in session mode).
    package var window: TimeInterval {
        if case .window(let seconds) = scope { return seconds }
        return 0
    }

    /// Payloads remembered now.
    package var count: Int { lastSeen.count }

    /// True when the payload counts as a new scan at `time`; either way `time` becomes its last sight.
    package mutating func admit(_ symbol: DecodedSymbol, at time: Date) -> Bool {
        admit(symbology: symbol.symbology.rawValue, bytes: symbol.bytes, at: time)
    }

    /// The same for a payload read by a scanner, whose symbology may be one zbar does not know (`unknown`).
    package mutating func admit(symbology: String, bytes: [UInt8], at time: Date) -> Bool {
        let key = Key(symbology: symbology, bytes: bytes)
        switch scope {
        case .window(let window):
            let previous = lastSeen.updateValue(time, forKey: key)
            if lastSeen.count > 1024 { lastSeen = lastSeen.filter { time.timeIntervalSince($0.value) < window } }
            guard let previous else { return true }
            return time.timeIntervalSince(previous) >= window
        case .session:
            guard lastSeen.updateValue(time, forKey: key) == nil else { return false }
            order.append(key)
            if lastSeen.count > sessionCapacity {
                lastSeen.removeValue(forKey: order[orderStart])
                orderStart += 1
                if orderStart > sessionCapacity {
                    order.removeFirst(orderStart)
                    orderStart = 0
                }
            }
            return true
        }
    }
}
