import Config
import Foundation
import HubCore
import Scanners
import Testing

@Suite struct WedgeAssemblerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Types `text` one character every 62.5 ms (exact in binary, so times compare equal) from `offset` seconds, then `end` (if any); returns the output.
    private func type(
        _ text: String, end: WedgeKey? = .enter, into assembler: inout WedgeAssembler, at offset: Double = 0
    ) -> [AssembledInput] {
        var out: [AssembledInput] = []
        var time = start.addingTimeInterval(offset)
        for character in text {
            out += assembler.key(.text(String(character)), at: time)
            time += 0.0625
        }
        if let end { out += assembler.key(end, at: time) }
        return out
    }

    @Test func enterEndsAScanAtTheTimeOfTheEnterKey() {
        var assembler = WedgeAssembler(terminator: .enter, gapMs: 100, maxLength: 64)
        #expect(
            type("4006381333931", into: &assembler)
                == [.complete(Array("4006381333931".utf8), at: start.addingTimeInterval(0.8125))])
        #expect(assembler.deadline == nil)
    }

    @Test func tabTerminatorLeavesEnterAsData() {
        var assembler = WedgeAssembler(terminator: .tab, gapMs: 100, maxLength: 64)
        #expect(type("AB", end: .tab, into: &assembler).count == 1)
        #expect(type("A", end: .enter, into: &assembler).isEmpty)
        #expect(
            assembler.key(.tab, at: start.addingTimeInterval(0.09))
                == [.complete(Array("A\n".utf8), at: start.addingTimeInterval(0.09))])
    }

    @Test func aPauseBeforeTheTerminatorDropsThePartialScan() {
        var assembler = WedgeAssembler(terminator: .enter, gapMs: 100, maxLength: 64)
        #expect(type("12345", end: nil, into: &assembler).isEmpty)
        #expect(assembler.idle(at: start.addingTimeInterval(0.3)).isEmpty, "not yet: the gap counts from the last key")
        let out = assembler.idle(at: start.addingTimeInterval(0.5))
        guard case .dropped(let problem)? = out.first, out.count == 1 else {
            Issue.record("expected one dropped input, got \(out)")
            return
        }
        #expect(problem.kind == .incomplete)
        #expect(problem.message == "partial scan: 5 bytes, then no key for 100 ms and no Enter key")
        // The next scan is whole.
        #expect(
            type("678", into: &assembler, at: 1) == [.complete(Array("678".utf8), at: start.addingTimeInterval(1.1875))]
        )
    }

    @Test func aPauseNoticedOnlyWhenTheNextKeyArrivesStillSplitsTheInput() {
        var assembler = WedgeAssembler(terminator: .enter, gapMs: 100, maxLength: 64)
        _ = type("999", end: nil, into: &assembler)
        let out = type("123", into: &assembler, at: 5)
        #expect(out.count == 2)
        #expect(out.last == .complete(Array("123".utf8), at: start.addingTimeInterval(5.1875)))
    }

    @Test func withoutATerminatorAPauseEndsTheScan() {
        var assembler = WedgeAssembler(terminator: .none, gapMs: 100, maxLength: 64)
        #expect(type("PICKUP:1", end: nil, into: &assembler).isEmpty)
        #expect(
            assembler.idle(at: start.addingTimeInterval(1)) == [
                .complete(Array("PICKUP:1".utf8), at: start.addingTimeInterval(0.4375))
            ])
    }

    @Test func overLongInputIsDroppedOnceAndTheNextScanIsWhole() {
        var assembler = WedgeAssembler(terminator: .enter, gapMs: 100, maxLength: 8)
        let out = type("123456789012", into: &assembler)
        #expect(out.count == 1)
        if case .dropped(let problem)? = out.first {
            #expect(problem.kind == .incomplete && problem.message.contains("more than 8 bytes"))
        } else {
            Issue.record("expected a dropped input, got \(out)")
        }
        #expect(type("12345678", into: &assembler, at: 1).count == 1)
    }
}

@Suite struct ScanFormatterTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    private func format(_ text: String, _ formatter: ScanFormatter) -> ScannerOutput {
        formatter.format(.complete(Array(text.utf8), at: time))
    }

    private func read(_ text: String, _ symbology: String, gtin: String? = nil, gs1: Bool = false) -> ScannerOutput {
        .scan(
            ScannerRead(
                symbology: symbology, bytes: Array(text.utf8), text: text, gtin: gtin, endTime: time, isGS1: gs1))
    }

    @Test func prefixAndSuffixAreStrippedWhenPresent() {
        let formatter = ScanFormatter(prefix: "<<", suffix: ">>")
        #expect(format("<<ABC>>", formatter) == read("ABC", "unknown"))
        #expect(format("ABC>>", formatter) == read("ABC", "unknown"))
        #expect(
            format("<<>>", formatter)
                == .dropped(ScannerProblem(.unreadable, "empty scan (only prefix, suffix or identifier)")))
    }

    @Test func aimIdentifiersBecomeTheSymbology() {
        let formatter = ScanFormatter(prefix: "P", aimIdentifiers: true)
        #expect(format("]E04006381333931", formatter) == read("4006381333931", "ean13", gtin: "4006381333931"))
        #expect(format("P]E04006381333931", formatter) == read("4006381333931", "ean13", gtin: "4006381333931"))
        #expect(format("]E496385074", formatter) == read("96385074", "ean8", gtin: "0000096385074"))
        #expect(format("]E0036000291452", formatter) == read("036000291452", "upca", gtin: "0036000291452"))
        #expect(
            format("]E4006381333931", formatter) == read("006381333931", "ean8"), "]E4 is EAN-8; 12 digits are no EAN-8"
        )
        #expect(format("]Q1PICKUP:1", formatter) == read("PICKUP:1", "qr"))
        #expect(format("]C1(01)09506000134352", formatter) == read("(01)09506000134352", "gs1-128", gs1: true))
        #expect(format("]C0ABC-1", formatter) == read("ABC-1", "code128"))
        #expect(format("]d2ABC", formatter) == read("ABC", "datamatrix", gs1: true))
        #expect(format("]d1ABC", formatter) == read("ABC", "datamatrix"))
        #expect(format("]Q3ABC", formatter) == read("ABC", "qr", gs1: true))
        #expect(format("]A0CODE39", formatter) == read("CODE39", "code39"))
        #expect(format("]e0010950600013435", formatter) == read("010950600013435", "databar", gs1: true))
        #expect(format("]E3400638133393112", formatter) == read("400638133393112", "ean13", gtin: "4006381333931"))
        #expect(format("]X0A", formatter) == read("A", "unknown"))
    }

    @Test func aWrongCheckDigitGivesNoGTIN() {
        let formatter = ScanFormatter(aimIdentifiers: true)
        #expect(format("]E04006381333932", formatter) == read("4006381333932", "ean13"))
    }

    @Test func configuredSymbologyWithoutAIMStillGetsTheGTIN() {
        #expect(
            format("4006381333931", ScanFormatter(symbology: "ean13"))
                == read("4006381333931", "ean13", gtin: "4006381333931"))
        #expect(format("4006381333931", ScanFormatter()) == read("4006381333931", "unknown"))
    }

    @Test func aMissingAIMIdentifierIsRefused() {
        guard case .dropped(let problem) = format("4006381333931", ScanFormatter(aimIdentifiers: true)) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(problem.kind == .unreadable && problem.message.contains("without an AIM symbology identifier"))
    }
}
