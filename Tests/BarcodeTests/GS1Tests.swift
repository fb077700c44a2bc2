import Barcode
import Foundation
import HubCore
import Testing

@Suite struct GS1Tests {
    private func parse(_ text: String) throws(GS1Error) -> [GS1Element] {
        try GS1.parse(Array(text.utf8))
    }

    private func pairs(_ elements: [GS1Element]) -> [String] { elements.map { "\($0.ai)=\($0.value)" } }

    @Test func fixedLengthAIsNeedNoSeparator() throws {
        #expect(
            pairs(try parse("0104012345678901172612311525010120" + "12")) == [
                "01=04012345678901", "17=261231", "15=250101", "20=12",
            ])
    }

    @Test func variableLengthValueEndsAtTheGroupSeparator() throws {
        #expect(
            pairs(try parse("0104012345678901" + "10LOT42\u{1D}" + "21SN-7\u{1D}" + "3103001250")) == [
                "01=04012345678901", "10=LOT42", "21=SN-7", "3103=001250",
            ])
    }

    @Test func lastVariableValueRunsToTheEnd() throws {
        #expect(pairs(try parse("010401234567890110ABC123")) == ["01=04012345678901", "10=ABC123"])
        #expect(pairs(try parse("3712\u{1D}3010")) == ["37=12", "30=10"])
    }

    @Test func symbologyIdentifierAndLeadingFNC1AreSkipped() throws {
        #expect(pairs(try parse("]C10104012345678901")) == ["01=04012345678901"])
        #expect(pairs(try parse("\u{1D}0104012345678901")) == ["01=04012345678901"])
    }

    @Test func threeAndFourDigitAIs() throws {
        #expect(
            pairs(try parse("4109501101530003" + "7003" + "2612311030" + "8008" + "26123110")) == [
                "410=9501101530003", "7003=2612311030", "8008=26123110",
            ])
    }

    @Test func unknownAIIsAnErrorWithItsOffset() {
        #expect(throws: GS1Error("unknown application identifier '0599'", offset: 16)) {
            try parse("0104012345678901" + "0599")
        }
    }

    @Test func badInputGivesClearErrorsNotCrashes() {
        let cases: [(String, String)] = [
            ("0104012345678902", "check digit"),
            ("01040123456789", "needs 14 characters, found 12"),
            ("17261331", "not a YYMMDD date"),
            ("10" + String(repeating: "A", count: 21), "missing group separator"),
            ("99\u{1D}", "takes 1 to 90 characters, found 0"),
            ("3103001A50", "digits only"),
            ("10AB\u{1D}\u{1D}17261231", "two group separators"),
            ("", "no application identifier"),
            ("]C1", "no application identifier"),
            ("5", "unknown application identifier"),
            ("10A\u{7F}B", "outside GS1's set"),
        ]
        for (input, expected) in cases {
            do {
                let parsed = try parse(input)
                Issue.record("\(input.debugDescription) parsed as \(parsed)")
            } catch {
                #expect(error.description.contains(expected), "\(input.debugDescription): \(error)")
            }
        }
    }

    @Test func gs1128FromZbarIsMarkedGS1AndParses() throws {
        let frame = Fixture.frame(width: 800, height: 300, with: try Fixture.image("gs1-128.png"), at: (40, 60))
        let found = try BarcodeScanner(symbologies: [.code128]).scan(frame)
        let symbol = try #require(found.first)
        #expect(symbol.isGS1)
        #expect(pairs(try GS1.parse(symbol.bytes)) == ["01=04012345678901", "17=261231", "10=LOT42", "3103=001250"])
    }

    @Test func plainCode128IsNotMarkedGS1() throws {
        let frame = Fixture.frame(width: 800, height: 300, with: try Fixture.image("code128.png"), at: (40, 60))
        let found = try BarcodeScanner(symbologies: [.code128]).scan(frame)
        #expect(found.map(\.isGS1) == [false])
    }
}
