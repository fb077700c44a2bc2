import Testing

@testable import Barcode

@Suite struct LinearQuietZoneTests {
    /// A light plane (220) with upright dark bars (30) every other 3-pixel module from x = 100 to 253 (a 51-module
    /// UPC-E's length), on rows 40 to 80, and whatever `extra` draws.
    private func plane(extraBars: ClosedRange<Int>? = nil) -> [UInt8] {
        var pixels = [UInt8](repeating: 220, count: 400 * 120)
        for y in 40...80 {
            for x in 100...253 where (x - 100) / 3 % 2 == 0 { pixels[y * 400 + x] = 30 }
            if let extraBars {
                for x in extraBars where (x - extraBars.lowerBound) / 3 % 2 == 0 { pixels[y * 400 + x] = 30 }
            }
        }
        return pixels
    }

    /// zbar's points for a read by four rows, two each way: both ends of the code.
    private let bothEnds = [[253, 44], [253, 52], [100, 64], [100, 76]]

    private func holds(_ symbology: Symbology, _ points: [[Int]], _ pixels: [UInt8]) -> Bool {
        pixels.withUnsafeBufferPointer { buffer in
            LinearQuietZone.holds(
                for: symbology, read: points,
                in: LinearQuietZone.Plane(pixels: buffer.baseAddress!, width: 400, height: 120))
        }
    }

    @Test func aShortCodeWithLightMarginsHolds() {
        #expect(holds(.upce, bothEnds, plane()))
        #expect(holds(.ean8, bothEnds, plane()))
    }

    @Test func aShortCodeWithBarsBeyondItsEndIsPartOfALongerOne() {
        // The longer code's bars go on 3 pixels (one module) after the read's end.
        #expect(!holds(.upce, bothEnds, plane(extraBars: 256...330)))
        // And before its start.
        #expect(!holds(.upce, bothEnds, plane(extraBars: 20...97)))
    }

    @Test func aShortCodeReadByOneLineIsNotTrusted() {
        #expect(!holds(.upce, [[253, 44]], plane()))
    }

    @Test func longCodesAreNotJudged() {
        #expect(holds(.ean13, [[253, 44]], plane(extraBars: 256...330)))
        #expect(holds(.code128, bothEnds, plane(extraBars: 256...330)))
    }

    @Test func codeReadOnColumnsIsJudgedAlongThem() {
        // The planes turned a quarter: bars lying down, read by columns; zbar's points are (column, row).
        func turned(_ pixels: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: pixels.count)
            for y in 0..<120 {
                for x in 0..<400 { out[x * 120 + y] = pixels[y * 400 + x] }
            }
            return out
        }
        let points = bothEnds.map { [$0[1], $0[0]] }
        func holdsTurned(_ pixels: [UInt8]) -> Bool {
            turned(pixels).withUnsafeBufferPointer { buffer in
                LinearQuietZone.holds(
                    for: .upce, read: points,
                    in: LinearQuietZone.Plane(pixels: buffer.baseAddress!, width: 120, height: 400))
            }
        }
        #expect(holdsTurned(plane()))
        #expect(!holdsTurned(plane(extraBars: 256...330)))
    }
}
