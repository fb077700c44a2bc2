import Config
import Foundation
import HubCore
import Scanners
import Testing

@Suite struct SerialFramerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    private func frames(_ framing: ScannerSettings.Framing, _ chunks: [[UInt8]], maxLength: Int = 16)
        -> [AssembledInput]
    {
        var framer = SerialFramer(framing: framing, maxLength: maxLength, timeoutMs: 200)
        return chunks.flatMap { framer.feed($0, at: start) }
    }

    private func complete(_ texts: String...) -> [AssembledInput] {
        texts.map { .complete(Array($0.utf8), at: start) }
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func problems(_ out: [AssembledInput]) -> [ScannerProblem] {
        out.compactMap { if case .dropped(let problem) = $0 { problem } else { nil } }
    }

    @Test func crLfAndCrlfFramingSplitFramesEvenAcrossReads() {
        #expect(frames(.cr, [bytes("ABC\r12"), bytes("3\r")]) == complete("ABC", "123"))
        #expect(frames(.lf, [bytes("ABC\nDEF\n")]) == complete("ABC", "DEF"))
        #expect(frames(.crlf, [bytes("ABC\r"), bytes("\nDEF\r\n")]) == complete("ABC", "DEF"))
        // The other line end at a frame's edge is tolerated with cr and lf framing.
        #expect(frames(.cr, [bytes("ABC\r\nDEF\r\n")]) == complete("ABC", "DEF"))
        #expect(frames(.lf, [bytes("ABC\r\nDEF\r\n")]) == complete("ABC", "DEF"))
        #expect(frames(.cr, [bytes("\r\r")]).isEmpty, "empty lines are no scans")
    }

    @Test func stxEtxFramingIgnoresLineEndsBetweenFrames() {
        let out = frames(.stxEtx, [[0x02] + bytes("ABC") + [0x03, 0x0D, 0x0A, 0x02], bytes("DEF") + [0x03]])
        #expect(out == complete("ABC", "DEF"))
    }

    @Test func stxEtxCountsStrayBytesAndDropsAFrameCutByANewSTX() {
        let out = frames(.stxEtx, [bytes("zz") + [0x02] + bytes("12") + [0x02] + bytes("OK") + [0x03]])
        #expect(out.last == complete("OK").first)
        #expect(
            problems(out) == [
                ScannerProblem(.unreadable, "2 stray bytes outside STX ... ETX (noise, or a wrong baud rate?)"),
                ScannerProblem(.incomplete, "partial frame: 2 bytes, then a new STX came before its ETX"),
            ])
    }

    @Test func overLongFramesAreDroppedOnceAndTheNextFrameArrives() {
        let out = frames(.cr, [bytes(String(repeating: "X", count: 40) + "\rGOOD\r")])
        #expect(problems(out) == [ScannerProblem(.incomplete, "over-long frame: more than 16 bytes before CR")])
        #expect(out.last == complete("GOOD").first)
        let stx = frames(
            .stxEtx, [[0x02] + bytes(String(repeating: "X", count: 40)) + [0x03, 0x02] + bytes("GOOD") + [0x03]])
        #expect(problems(stx).count == 1 && stx.last == complete("GOOD").first)
    }

    @Test func garbageMakesTheFrameUnreadableAndTheNextFrameArrives() {
        let out = frames(
            .cr, [[0x00, 0xFF, 0xFE, 0x13, 0x0D] + bytes("GOOD\r") + [0x41, 0x07, 0x42, 0x0D] + bytes("NEXT\r")])
        #expect(
            problems(out) == [
                ScannerProblem(
                    .unreadable,
                    "unreadable frame: non-printable byte 0x00 at offset 0 of 4 (noise, or a wrong baud rate, parity or framing?)"
                ),
                ScannerProblem(
                    .unreadable,
                    "unreadable frame: non-printable byte 0x07 at offset 1 of 3 (noise, or a wrong baud rate, parity or framing?)"
                ),
            ])
        #expect(out.filter { if case .complete = $0 { true } else { false } } == complete("GOOD", "NEXT"))
        let latin = frames(.cr, [[0x41, 0xE9, 0x42, 0x0D]])
        #expect(problems(latin).first?.message.hasPrefix("unreadable frame: invalid UTF-8 at offset 1") == true)
        #expect(frames(.cr, [bytes("Grüße\r")]) == complete("Grüße"), "UTF-8 is text, not noise")
        #expect(
            frames(.cr, [bytes("]C1010950600013\u{1D}10ABC\r")], maxLength: 64)
                == complete("]C1010950600013\u{1D}10ABC"), "GS1 separator")
    }

    @Test func aFrameLeftOpenPastTheTimeoutIsPartial() {
        var framer = SerialFramer(framing: .crlf, maxLength: 16, timeoutMs: 200)
        #expect(framer.feed(bytes("12345"), at: start).isEmpty)
        #expect(framer.deadline == start.addingTimeInterval(0.2))
        #expect(framer.idle(at: start.addingTimeInterval(0.1)).isEmpty)
        #expect(
            framer.idle(at: start.addingTimeInterval(0.3))
                == [
                    .dropped(
                        ScannerProblem(.incomplete, "partial frame: 5 bytes, then nothing for 200 ms and no CR LF"))
                ])
        #expect(framer.deadline == nil)
        // A pause noticed only when the next bytes arrive splits too.
        _ = framer.feed(bytes("999"), at: start.addingTimeInterval(1))
        let out = framer.feed(bytes("OK\r\n"), at: start.addingTimeInterval(2))
        #expect(out.count == 2 && out.last == .complete(bytes("OK"), at: start.addingTimeInterval(2)))
    }
}
