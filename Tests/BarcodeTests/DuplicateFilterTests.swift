import Barcode
import Foundation
import Testing

@Suite struct DuplicateFilterTests {
    private let code = DecodedSymbol(
        symbology: .qr, bytes: Array("PICKUP:1".utf8), text: "PICKUP:1", gtin: nil, polygon: [], quality: 1)

    /// Feeds sightings at the given second offsets; returns which were counted.
    private func admitted(_ symbols: [(DecodedSymbol, Double)], window: Double) -> [Bool] {
        var filter = DuplicateFilter(window: window)
        let start = Date()
        return symbols.map { filter.admit($0.0, at: start.addingTimeInterval($0.1)) }
    }

    @Test func samePayloadWithinTheWindowCountsOnce() {
        #expect(admitted([(code, 0), (code, 0.5), (code, 1.0)], window: 2) == [true, false, false])
    }

    @Test func payloadSeenAgainAfterTheWindowCountsAgain() {
        #expect(admitted([(code, 0), (code, 2.5)], window: 2) == [true, true])
    }

    @Test func codeHeldUpContinuouslyCountsOnce() {
        let sightings = stride(from: 0.0, to: 10.0, by: 0.5).map { (code, $0) }
        #expect(admitted(sightings, window: 2).filter { $0 }.count == 1)
    }

    @Test func differentPayloadsInOneFrameAllCount() {
        var other = code
        other.bytes = Array("PICKUP:2".utf8)
        #expect(admitted([(code, 0), (other, 0)], window: 2) == [true, true])
    }
}
