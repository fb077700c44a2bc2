import Barcode
import Foundation
import Testing

@Suite struct PayloadTests {
    @Test func validUTF8IsDecodedAsUTF8() {
        #expect(Payload.text(Array("Abholung – Müller 取件".utf8)) == "Abholung – Müller 取件")
    }

    @Test func invalidUTF8FallsBackToLatin1ByteForByte() {
        let bytes: [UInt8] = [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72]  // "Müller" in ISO-8859-1
        #expect(Payload.text(bytes) == "Müller")
    }

    @Test func checkDigitsAreVerified() {
        #expect(Payload.hasValidCheckDigit("4006381333931"))
        #expect(!Payload.hasValidCheckDigit("4006381333932"))
        #expect(Payload.hasValidCheckDigit("96385074"))
        #expect(!Payload.hasValidCheckDigit("40063813339a1"))
    }

    @Test func upcAndEan8BecomeGTIN13() {
        #expect(Payload.gtin13(symbology: .upca, digits: "036000291452") == "0036000291452")
        #expect(Payload.gtin13(symbology: .ean8, digits: "96385074") == "0000096385074")
        #expect(Payload.gtin13(symbology: .ean13, digits: "4006381333931") == "4006381333931")
    }

    @Test func wrongCheckDigitGivesNoGTIN() {
        #expect(Payload.gtin13(symbology: .ean13, digits: "4006381333932") == nil)
        #expect(Payload.gtin13(symbology: .upca, digits: "036000291453") == nil)
    }

    @Test(arguments: [
        ("01234565", "012345000065"),
        ("04252614", "042100005264"),
        ("01234133", "012300000413"),
        ("01234543", "012340000053"),
    ])
    func upcEExpandsToItsUPCA(_ upce: String, _ upca: String) {
        #expect(Payload.expandUPCE(upce) == upca)
        #expect(Payload.gtin13(symbology: .upce, digits: upce) == "0" + upca)
    }

    @Test func unknownSymbologyNameIsRefusedWithTheKnownNames() {
        let error = #expect(throws: SymbologyError.self) { try Symbology.parse(["qr", "maxicode"]) }
        #expect(error?.name == "maxicode")
        #expect(error?.description.contains("ean13") == true)
    }
}
