import Barcode
import Foundation
import HubCore

/// Looks for a member QR code a shopper holds up to a mirror, with the kiosks' decoder (zbar on the luma plane, no
/// strategies) at most twice a second: a code is held for seconds, and the mirror's frame budget belongs to the
/// renderer.
final class MemberCodeReader {
    private let scanner: BarcodeScanner
    private let pattern: NSRegularExpression
    private var last: ContinuousClock.Instant?
    static let interval: Duration = .milliseconds(500)
    /// Longest member code text carried in events.
    static let maxLength = 128

    /// Nil without a pattern (no linking on this mirror) or when zbar cannot start.
    init?(pattern: String?) {
        guard let pattern, let expression = try? NSRegularExpression(pattern: pattern),
            let scanner = try? BarcodeScanner(symbologies: [.qr])
        else { return nil }
        self.pattern = expression
        self.scanner = scanner
    }

    /// The text of a member code in `frame`, if it is time to look and one is there: printable, at most
    /// `maxLength` characters, matching the pattern.
    func read(_ frame: Frame, now: ContinuousClock.Instant = .now) -> String? {
        if let last, now - last < Self.interval { return nil }
        last = now
        guard frame.lumaPlane != nil, let symbols = try? scanner.scan(frame) else { return nil }
        for symbol in symbols {
            let text = symbol.text
            guard (1...Self.maxLength).contains(text.count),
                !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { continue }
            let range = NSRange(text.startIndex..., in: text)
            if pattern.firstMatch(in: text, range: range) != nil { return text }
        }
        return nil
    }
}
