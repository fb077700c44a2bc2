import Config
import Foundation
import HubCore

/// Cuts a serial scanner's byte stream into frames (scans) by its framing, and keeps bad input from becoming a
/// scan: frames with non-printable bytes (noise, a wrong baud rate or parity), frames longer than `maxLength`,
/// and frames whose bytes stop arriving before their end are dropped and reported, and the next frame starts
/// clean.
///
/// With `cr` or `lf` framing the other line-end byte at either edge of a frame is ignored, so a scanner that
/// sends CR LF works with both.
package struct SerialFramer: Sendable {
    package var framing: ScannerSettings.Framing
    package var maxLength: Int
    /// A frame whose bytes stop for this long before its end is partial.
    package var timeout: TimeInterval
    private var buffer: [UInt8] = []
    /// stx-etx: inside STX ... ETX.
    private var inFrame = false
    /// crlf: a CR was the last byte; an LF now ends the frame.
    private var pendingCR = false
    /// Past `maxLength`: reported; bytes are ignored up to the frame's end.
    private var overflowing = false
    /// stx-etx: bytes seen outside any frame since the last report.
    private var strayBytes = 0
    private var lastByte: Date?

    static let stx: UInt8 = 0x02
    static let etx: UInt8 = 0x03
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    package init(framing: ScannerSettings.Framing, maxLength: Int, timeoutMs: Int) {
        self.framing = framing
        self.maxLength = maxLength
        timeout = Double(timeoutMs) / 1000
    }

    private var pending: Bool { !buffer.isEmpty || inFrame || pendingCR || overflowing || strayBytes > 0 }

    /// When `idle(at:)` must be called if no byte arrives before then; nil when nothing is pending.
    package var deadline: Date? {
        guard let lastByte, pending else { return nil }
        return lastByte.addingTimeInterval(timeout)
    }

    /// Bytes read at `time`.
    package mutating func feed(_ bytes: some Sequence<UInt8>, at time: Date) -> [AssembledInput] {
        var out: [AssembledInput] = []
        if let deadline, time > deadline { out += expire() }
        lastByte = time
        for byte in bytes {
            switch framing {
            case .cr, .lf:
                let end = framing == .cr ? Self.cr : Self.lf
                let other = framing == .cr ? Self.lf : Self.cr
                if byte == end {
                    out += finish(at: time)
                } else if byte == other && (buffer.isEmpty || overflowing) {
                    continue
                } else {
                    out += append(byte)
                }
            case .crlf:
                if pendingCR {
                    pendingCR = false
                    if byte == Self.lf {
                        out += finish(at: time)
                        continue
                    }
                    out += append(Self.cr)
                }
                if byte == Self.cr {
                    pendingCR = true
                } else {
                    out += append(byte)
                }
            case .stxEtx:
                if byte == Self.stx {
                    if inFrame && !overflowing && !buffer.isEmpty {
                        out.append(.dropped(partial("a new STX came before its ETX")))
                    }
                    out += reportStray()
                    buffer = []
                    overflowing = false
                    inFrame = true
                } else if !inFrame {
                    if byte != Self.cr && byte != Self.lf { strayBytes += 1 }
                } else if byte == Self.etx {
                    inFrame = false
                    out += finish(at: time)
                } else {
                    out += append(byte)
                }
            }
        }
        return out
    }

    /// No byte came until `now`: a frame left open past the timeout is dropped.
    package mutating func idle(at now: Date) -> [AssembledInput] {
        guard let deadline, now >= deadline else { return [] }
        return expire()
    }

    private var endName: String {
        switch framing {
        case .cr: "CR"
        case .lf: "LF"
        case .crlf: "CR LF"
        case .stxEtx: "ETX"
        }
    }

    private func partial(_ why: String) -> ScannerProblem {
        ScannerProblem(.incomplete, "partial frame: \(buffer.count) bytes, then \(why)")
    }

    private mutating func expire() -> [AssembledInput] {
        var out = reportStray()
        if pendingCR {
            pendingCR = false
            if !overflowing { buffer.append(Self.cr) }
        }
        if !overflowing && !buffer.isEmpty {
            let ms = Int((timeout * 1000).rounded())
            if let bad = Self.firstUnreadable(buffer) {
                out.append(.dropped(unreadable(bad)))
            } else {
                out.append(.dropped(partial("nothing for \(ms) ms and no \(endName)")))
            }
        }
        buffer = []
        inFrame = false
        overflowing = false
        return out
    }

    private mutating func reportStray() -> [AssembledInput] {
        guard strayBytes > 0 else { return [] }
        defer { strayBytes = 0 }
        return [
            .dropped(
                ScannerProblem(
                    .unreadable, "\(strayBytes) stray bytes outside STX ... ETX (noise, or a wrong baud rate?)"))
        ]
    }

    private mutating func append(_ byte: UInt8) -> [AssembledInput] {
        guard !overflowing else { return [] }
        buffer.append(byte)
        guard buffer.count > maxLength else { return [] }
        buffer = []
        overflowing = true
        return [
            .dropped(ScannerProblem(.incomplete, "over-long frame: more than \(maxLength) bytes before \(endName)"))
        ]
    }

    private mutating func finish(at time: Date) -> [AssembledInput] {
        defer {
            buffer = []
            overflowing = false
        }
        if framing == .cr || framing == .lf, buffer.last == (framing == .cr ? Self.lf : Self.cr) {
            buffer.removeLast()
        }
        guard !overflowing, !buffer.isEmpty else { return [] }
        if let bad = Self.firstUnreadable(buffer) { return [.dropped(unreadable(bad))] }
        return [.complete(buffer, at: time)]
    }

    private func unreadable(_ bad: (offset: Int, byte: UInt8?)) -> ScannerProblem {
        let what = bad.byte.map { "non-printable byte " + Self.hex($0) } ?? "invalid UTF-8"
        return ScannerProblem(
            .unreadable,
            "unreadable frame: \(what) at offset \(bad.offset) of \(buffer.count) "
                + "(noise, or a wrong baud rate, parity or framing?)")
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count == 1 ? "0" : "") + digits
    }

    /// Control characters other than the GS1/ISO 15434 separators GS, RS and EOT, DEL, and invalid UTF-8.
    static func firstUnreadable(_ bytes: [UInt8]) -> (offset: Int, byte: UInt8?)? {
        for (offset, byte) in bytes.enumerated()
        where (byte < 0x20 && ![0x04, 0x1D, 0x1E].contains(byte)) || byte == 0x7F {
            return (offset, byte)
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            // Reported at the first byte outside ASCII: the sequence it starts (or belongs to) is broken.
            return (bytes.firstIndex { $0 >= 0x80 } ?? 0, nil)
        }
        return nil
    }
}
