import Foundation
import HubCore
import Testing
import TryOn

@Suite struct SplitLineTests {
    func bytes(_ frame: Frame) -> [UInt8] { Array(frame.buffer.bytes) }

    /// Renders the synthetic lips with the split line at `split` and returns the frame before and after.
    func rendered(split: Float?) -> (before: [UInt8], after: [UInt8], frame: Frame) {
        let frame = Synthetic.face()
        let before = bytes(frame)
        let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        renderer.split = split
        renderer.render(
            frame, observation: LipObservation(outer: outer, inner: inner, confidence: 1, locator: .mesh),
            shade: Synthetic.shade(), time: nil)
        return (before, bytes(frame), frame)
    }

    @Test func theShadeIsDrawnOnlyLeftOfTheSplitLine() {
        let (before, after, frame) = rendered(split: 0.5)
        let line = frame.width / 2
        var changedLeft = 0
        for y in 0..<frame.height {
            for x in 0..<frame.width where before[y * frame.bytesPerRow + x] != after[y * frame.bytesPerRow + x] {
                #expect(x < line, "luma changed at (\(x), \(y)), right of the line at \(line)")
                changedLeft += 1
            }
        }
        let chroma = frame.bytesPerRow * frame.height
        for y in 0..<frame.height / 2 {
            for x in 0..<frame.width {
                let index = chroma + y * frame.bytesPerRow + x
                if before[index] != after[index] { #expect(x / 2 * 2 < line, "chroma changed right of the line") }
            }
        }
        #expect(changedLeft > 500, "the left half of the lips is painted (\(changedLeft) pixels)")
    }

    @Test func withoutASplitBothHalvesOfTheLipsArePainted() {
        let (before, after, frame) = rendered(split: nil)
        let line = frame.width / 2
        var changedRight = 0
        for y in 0..<frame.height {
            for x in line..<frame.width where before[y * frame.bytesPerRow + x] != after[y * frame.bytesPerRow + x] {
                changedRight += 1
            }
        }
        #expect(changedRight > 500)
    }

    @Test func aSplitAtTheLeftEdgeDrawsNothing() {
        let (before, after, _) = rendered(split: 0)
        #expect(before == after)
    }
}

@Suite struct LightingTests {
    func meanYCbCr(_ frame: Frame) -> (y: Double, cb: Double, cr: Double) {
        let bytes = frame.buffer.bytes
        var y = 0.0
        for row in 0..<frame.height {
            for x in 0..<frame.width { y += Double(bytes[row * frame.bytesPerRow + x]) }
        }
        var cb = 0.0
        var cr = 0.0
        let chroma = frame.bytesPerRow * frame.height
        for row in 0..<frame.height / 2 {
            for pair in 0..<frame.width / 2 {
                cb += Double(bytes[chroma + row * frame.bytesPerRow + 2 * pair])
                cr += Double(bytes[chroma + row * frame.bytesPerRow + 2 * pair + 1])
            }
        }
        let pixels = Double(frame.width * frame.height)
        return (y / pixels, cb / (pixels / 4), cr / (pixels / 4))
    }

    @Test func neutralLightLeavesEveryByteAlone() {
        let frame = Synthetic.face()
        let before = Array(frame.buffer.bytes)
        let lighting = LightingTransform()
        lighting.set(.evening)
        lighting.set(.neutral)
        lighting.apply(to: frame)
        #expect(Array(frame.buffer.bytes) == before)
    }

    @Test func eveningLightIsDimmerAndWarmerAndDaylightBrighterAndCooler() {
        let reference = meanYCbCr(Synthetic.face())
        let lighting = LightingTransform()
        let evening = Synthetic.face()
        lighting.set(.evening)
        lighting.apply(to: evening)
        let warm = meanYCbCr(evening)
        #expect(warm.y < reference.y - 10)
        #expect(warm.cr > reference.cr + 5)
        #expect(warm.cb < reference.cb - 5)
        let day = Synthetic.face()
        lighting.set(.daylight)
        lighting.apply(to: day)
        let cool = meanYCbCr(day)
        #expect(cool.y > reference.y + 3)
        #expect(cool.cb > reference.cb + 2)
        #expect(cool.cr < reference.cr - 2)
    }

    @Test func officeLightChangesTheFrameAndKeepsLumaInItsRange() {
        let frame = Synthetic.face()
        let before = Array(frame.buffer.bytes)
        let lighting = LightingTransform()
        lighting.set(.office)
        lighting.apply(to: frame)
        #expect(Array(frame.buffer.bytes) != before)
        for row in 0..<frame.height {
            for x in 0..<frame.width {
                let old = before[row * frame.bytesPerRow + x]
                let new = frame.buffer.bytes[row * frame.bytesPerRow + x]
                if old >= 16 && old <= 235 { #expect((16...235).contains(new)) }
            }
        }
    }

    @Test func yuyvFramesGetTheSameTablesPerChannel() {
        let width = 8
        let height = 2
        let buffer = FrameBuffer(capacity: width * 2 * height)
        for index in 0..<(width * 2 * height) { buffer.bytes[index] = index % 2 == 0 ? 120 : 128 }
        let frame = Frame(
            format: .yuyv, width: width, height: height, bytesPerRow: width * 2, captureTime: Date(), index: 0,
            buffer: buffer)
        let lighting = LightingTransform()
        lighting.set(.evening)
        lighting.apply(to: frame)
        let curve = LightingTransform.curve(.evening)
        for row in 0..<height {
            let base = row * width * 2
            for quad in 0..<(width / 2) {
                let y0 = buffer.bytes[base + quad * 4]
                let u = buffer.bytes[base + quad * 4 + 1]
                let y1 = buffer.bytes[base + quad * 4 + 2]
                let v = buffer.bytes[base + quad * 4 + 3]
                #expect(y0 == y1 && y0 < 120)
                #expect(Int(u) == 128 + Int(curve.blueShift.rounded()))
                #expect(Int(v) == 128 + Int(curve.redShift.rounded()))
            }
        }
    }
}
