import Foundation
import HubCore
import Testing

@testable import Barcode

/// zbar's every-line read of the regions the spaced whole-frame pass left unread.
@Suite struct RegionPassTests {
    private let grow = { (rect: PixelRect) in
        rect.expanded(horizontally: max(16, rect.width / 4), vertically: max(16, rect.height / 4))
    }

    @Test func piecesOfOneLongCodeAreJoinedAndDistantRegionsAreNot() {
        // A 1D code the finder split at three gaps, and a small region far below it.
        let pieces = [
            PixelRect(x: 352, y: 80, width: 240, height: 272), PixelRect(x: 720, y: 80, width: 176, height: 272),
            PixelRect(x: 912, y: 80, width: 144, height: 272), PixelRect(x: 608, y: 80, width: 96, height: 272),
        ]
        let far = PixelRect(x: 100, y: 600, width: 64, height: 48)
        let joined = BarcodeReader.joined(pieces + [far], grownBy: grow)
        #expect(joined == [PixelRect(x: 352, y: 80, width: 704, height: 272), far])
    }

    @Test func overlappingCropsThatWouldCoverMuchMoreTogetherStayApart() {
        // Two regions whose crops touch at a corner: their union is mostly neither.
        let a = PixelRect(x: 0, y: 0, width: 200, height: 200)
        let b = PixelRect(x: 230, y: 230, width: 200, height: 200)
        #expect(BarcodeReader.joined([a, b], grownBy: grow) == [a, b])
    }

    @Test func smallCodeRankedBelowLargerClutterIsStillRead() throws {
        // Four patches of fine print, each larger than the code, take the strategies' four places.
        var random = SeededRandom(seed: 11)
        var patch = LumaImage(width: 150, height: 120, fill: 255)
        for index in patch.pixels.indices where random.next() % 3 == 0 { patch.pixels[index] = 0 }
        let code = try Fixture.image("qr-pickup.png").scaled(by: 0.5)
        var scene = LumaImage(width: 1280, height: 720, fill: 150)
        for (image, origin) in [(code, (900, 500))] + [(60, 60), (300, 60), (60, 300), (300, 300)].map({ (patch, $0) })
        {
            for y in 0..<image.height {
                for x in 0..<image.width {
                    scene.pixels[(origin.1 + y) * scene.width + origin.0 + x] = image.pixels[y * image.width + x]
                }
            }
        }
        let frame = Fixture.frame(width: 1280, height: 720, with: scene, at: (0, 0), noise: 3)
        let regions = RegionFinder(maxRegions: 8).regions(in: frame)
        #expect(
            regions.prefix(4).allSatisfy { !$0.rect.contains(900 + code.width / 2, 500 + code.height / 2) },
            "the code must rank below the four patches for this test to mean anything")
        let reader = try BarcodeReader(symbologies: [.qr], strategies: [])
        #expect(
            try BarcodeScanner(symbologies: [.qr]).scan(frame, lineSpacing: reader.wholeFrameLineSpacing).isEmpty,
            "the spaced whole-frame read must miss the code for this test to mean anything")
        #expect(try reader.read(frame).map(\.text) == ["PU-20261201"])
        reader.finder = RegionFinder(maxRegions: 4)
        #expect(try reader.read(frame).isEmpty, "with the four largest regions only, the code is not read")
    }
}
