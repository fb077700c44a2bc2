import Config
import Foundation
import HubCore

/// Turns a keyboard-wedge scanner's key presses into scans: a scan ends at the configured terminator (or, without
/// one, after a pause between keys). Input cut off by a pause before its terminator, and input longer than
/// `maxLength`, are dropped and reported.
package struct WedgeAssembler: Sendable {
    package var terminator: ScannerSettings.Terminator
    /// The pause between keys that ends the input.
    package var gap: TimeInterval
    package var maxLength: Int
    private var buffer: [UInt8] = []
    private var lastKey: Date?
    /// The input has run past `maxLength`: it was reported; the rest is ignored up to its end.
    private var overflowing = false

    package init(terminator: ScannerSettings.Terminator, gapMs: Int, maxLength: Int) {
        self.terminator = terminator
        gap = Double(gapMs) / 1000
        self.maxLength = maxLength
    }

    /// When `idle(at:)` must be called if no key arrives before then; nil when nothing is pending.
    package var deadline: Date? {
        guard let lastKey, !buffer.isEmpty || overflowing else { return nil }
        return lastKey.addingTimeInterval(gap)
    }

    /// A key press at `time` (the kernel's time of the key event).
    package mutating func key(_ key: WedgeKey, at time: Date) -> [AssembledInput] {
        var out: [AssembledInput] = []
        if let deadline, time > deadline { out += endByPause() }
        lastKey = time
        switch key {
        case .enter where terminator != .tab, .tab where terminator != .enter:
            out += end(at: time)
        case .enter:
            out += append(Array("\n".utf8))
        case .tab:
            out += append(Array("\t".utf8))
        case .text(let text):
            out += append(Array(text.utf8))
        }
        return out
    }

    /// Key events were lost (the kernel's buffer overflowed): the input in progress cannot be trusted. It is
    /// dropped, and so is the rest of it up to its terminator or a pause.
    package mutating func interrupt(_ message: String, at time: Date) -> [AssembledInput] {
        buffer = []
        overflowing = true
        lastKey = time
        return [.dropped(ScannerProblem(.unreadable, message))]
    }

    /// No key came until `now`: ends input whose pause has run out.
    package mutating func idle(at now: Date) -> [AssembledInput] {
        guard let deadline, now >= deadline else { return [] }
        return endByPause()
    }

    private mutating func append(_ bytes: [UInt8]) -> [AssembledInput] {
        guard !overflowing else { return [] }
        buffer += bytes
        guard buffer.count > maxLength else { return [] }
        buffer = []
        overflowing = true
        let end = terminator == .none ? "a pause" : "its \(terminator.rawValue.capitalized) key"
        return [.dropped(ScannerProblem(.incomplete, "over-long input: more than \(maxLength) bytes before \(end)"))]
    }

    private mutating func end(at time: Date) -> [AssembledInput] {
        defer {
            buffer = []
            overflowing = false
        }
        guard !overflowing, !buffer.isEmpty else { return [] }
        return [.complete(buffer, at: time)]
    }

    private mutating func endByPause() -> [AssembledInput] {
        guard terminator != .none else { return end(at: lastKey ?? Date()) }
        defer {
            buffer = []
            overflowing = false
        }
        guard !overflowing, !buffer.isEmpty else { return [] }
        let ms = Int((gap * 1000).rounded())
        return [
            .dropped(
                ScannerProblem(
                    .incomplete,
                    "partial scan: \(buffer.count) bytes, then no key for \(ms) ms and no \(terminator.rawValue.capitalized) key"
                ))
        ]
    }
}
