/// How a mirror lights the whole image: a colour temperature and exposure applied to every frame.
package enum LightingPreset: String, Sendable, CaseIterable {
    case neutral, daylight, office, evening
}

/// One `mirror.command.<device>` event's data, checked whole: every field in its range, or an error naming it.
///
/// `{"select": SKU}`, `{"snapshot": true}`, `{"end": true}`, `{"split": 0...1 | null}` (the before/after line as a
/// share of the frame's width from its left edge; the shade is drawn left of it; null removes it),
/// `{"lighting": "daylight"}`, `{"wishlist": SKU}` ("add to bag"). Several may come in one command.
package struct MirrorCommand: Sendable, Equatable {
    package var select: String?
    package var snapshot = false
    package var end = false
    /// nil: unchanged; `.some(nil)`: no split line.
    package var split: Float??
    package var lighting: LightingPreset?
    package var wishlist: String?

    package init() {}

    static let keys = ["select", "snapshot", "end", "split", "lighting", "wishlist"]

    /// Parses and checks a command; the error says which field was wrong and why.
    package static func parse(_ data: JSONValue) throws(MirrorCommandError) -> MirrorCommand {
        guard case .object(let fields) = data else {
            throw MirrorCommandError("a mirror command must be a JSON object")
        }
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw MirrorCommandError(
                "unknown field '\(unknown.prefix(32))' (expected \(keys.joined(separator: ", ")))")
        }
        guard !fields.isEmpty else {
            throw MirrorCommandError("empty mirror command (expected one of \(keys.joined(separator: ", ")))")
        }
        var command = MirrorCommand()
        command.select = try fields["select"].map { value throws(MirrorCommandError) in try sku(value, "select") }
        command.wishlist = try fields["wishlist"].map { value throws(MirrorCommandError) in try sku(value, "wishlist") }
        for (key, flag) in [("snapshot", \MirrorCommand.snapshot), ("end", \MirrorCommand.end)] {
            guard let value = fields[key] else { continue }
            guard case .bool(let on) = value else { throw MirrorCommandError("\(key) must be true or false") }
            command[keyPath: flag] = on
        }
        switch fields["split"] {
        case nil: break
        case .null?: command.split = .some(nil)
        case .double(let value)? where (0...1).contains(value): command.split = Float(value)
        case .int(let value)? where (0...1).contains(value): command.split = Float(value)
        default: throw MirrorCommandError("split must be a number from 0 to 1 (share of the width), or null")
        }
        if let value = fields["lighting"] {
            guard let name = value.stringValue, let preset = LightingPreset(rawValue: name) else {
                throw MirrorCommandError(
                    "lighting must be one of \(LightingPreset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            command.lighting = preset
        }
        return command
    }

    private static func sku(_ value: JSONValue, _ key: String) throws(MirrorCommandError) -> String {
        guard let text = value.stringValue, (1...64).contains(text.utf8.count),
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f })
        else { throw MirrorCommandError("\(key) must be a SKU: 1 to 64 printable ASCII characters") }
        return text
    }
}

/// A mirror command that cannot be carried out as sent.
package struct MirrorCommandError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
