import Capture
import Foundation
import HubCore
import Testing

@testable import TryOn

@Suite struct ColorMathTests {
    // Reference pairs from Sharma, Wu and Dalal's CIEDE2000 test data.
    @Test(arguments: [
        (SIMD3(50.0, 2.6772, -79.7751), SIMD3(50.0, 0.0, -82.7485), 2.0425),
        (SIMD3(50.0, 0.0, 0.0), SIMD3(50.0, -1.0, 2.0), 2.3669),
        (SIMD3(50.0, 2.5, 0.0), SIMD3(73.0, 25.0, -18.0), 27.1492),
    ])
    func test_deltaE2000_matchesPublishedValues(a: SIMD3<Double>, b: SIMD3<Double>, expected: Double) {
        #expect(abs(ColorMath.deltaE2000(a, b) - expected) < 0.0005)
    }

    @Test func test_ycbcrAndBack_isTheIdentity() {
        for rgb in [SIMD3(177.0, 36, 46), SIMD3(0.0, 0, 0), SIMD3(255.0, 255, 255), SIMD3(12.0, 200, 99)] {
            let ycc = ColorMath.ycbcr(red: rgb.x, green: rgb.y, blue: rgb.z)
            let back = ColorMath.rgb(y: ycc.x, cb: ycc.y, cr: ycc.z)
            #expect(abs(back.x - rgb.x) < 0.01 && abs(back.y - rgb.y) < 0.01 && abs(back.z - rgb.z) < 0.01)
        }
    }
}

@Suite struct LipMaskTests {
    @Test func test_aSquare_coversItsAreaWithPartialEdgePixels() {
        let mask = LipMask(width: 64, height: 64)
        let square: [SIMD2<Float>] = [SIMD2(10.5, 10.25), SIMD2(30.5, 10.25), SIMD2(30.5, 30.25), SIMD2(10.5, 30.25)]
        mask.rasterize(outer: square, inner: [], feather: 0)
        let total = (0..<(64 * 64)).reduce(0.0) { $0 + Double(mask.pixels[$1]) / 255 }
        #expect(abs(total - 400) < 2)
        #expect(mask.pixels[20 * 64 + 20] == 255)
        #expect(mask.pixels[20 * 64 + 10] > 100 && mask.pixels[20 * 64 + 10] < 160)  // half covered
        #expect(mask.pixels[5 * 64 + 5] == 0)
    }

    @Test func test_theInnerContour_isAHole() {
        let mask = LipMask(width: 64, height: 64)
        let outer = Synthetic.ellipse(center: SIMD2(32, 32), radii: SIMD2(25, 15))
        let inner = Synthetic.ellipse(center: SIMD2(32, 32), radii: SIMD2(15, 4))
        mask.rasterize(outer: outer, inner: inner, feather: 0)
        #expect(mask.pixels[32 * 64 + 32] == 0)
        #expect(mask.pixels[24 * 64 + 32] == 255)
    }

    @Test func test_feathering_makesASoftMonotonicEdge() {
        let mask = LipMask(width: 64, height: 64)
        let square: [SIMD2<Float>] = [SIMD2(16, 16), SIMD2(48, 16), SIMD2(48, 48), SIMD2(16, 48)]
        mask.rasterize(outer: square, inner: [], feather: 3)
        let row = (8..<24).map { Int(mask.pixels[32 * 64 + $0]) }
        #expect(zip(row, row.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(row.filter { $0 > 0 && $0 < 255 }.count >= 6)  // a ramp, not a step
        #expect(mask.pixels[32 * 64 + 32] == 255)
    }

    @Test func test_aNewMask_clearsThePreviousOne() {
        let mask = LipMask(width: 64, height: 64)
        mask.rasterize(outer: Synthetic.ellipse(center: SIMD2(16, 16), radii: SIMD2(8, 8)), inner: [], feather: 2)
        mask.rasterize(outer: Synthetic.ellipse(center: SIMD2(48, 48), radii: SIMD2(8, 8)), inner: [], feather: 2)
        #expect(mask.pixels[16 * 64 + 16] == 0)
        #expect(mask.pixels[48 * 64 + 48] == 255)
    }

    @Test func test_contoursOutsideTheFrame_areClipped() {
        let mask = LipMask(width: 32, height: 32)
        mask.rasterize(
            outer: [SIMD2(-50, -50), SIMD2(100, -50), SIMD2(100, 100), SIMD2(-50, 100)], inner: [], feather: 2)
        #expect(mask.pixels[0] == 255 && mask.pixels[32 * 32 - 1] == 255)
    }
}

@Suite struct LipBlenderTests {
    /// Mean RGB over pixels where the mask is fully on and so are all neighbours sharing their chroma sample.
    static func interiorMean(_ rgb: [UInt8], mask: LipMask) -> SIMD3<Double> {
        var sum = SIMD3<Double>(0, 0, 0)
        var count = 0.0
        for y in 1..<(mask.height - 1) {
            for x in 1..<(mask.width - 1) {
                let full = (-1...1).allSatisfy { dy in
                    (-1...1).allSatisfy { dx in mask.pixels[(y + dy) * mask.width + x + dx] == 255 }
                }
                guard full else { continue }
                let p = (y * mask.width + x) * 3
                sum += SIMD3(Double(rgb[p]), Double(rgb[p + 1]), Double(rgb[p + 2]))
                count += 1
            }
        }
        return sum / max(count, 1)
    }

    /// Mask-weighted mean colours of the rendered lips and of the shade blended at its opacity (times the mask's
    /// coverage, as the renderer applies it) over the original lips.
    static func weightedMeans(
        original: [UInt8], rendered: [UInt8], mask: LipMask, shade: SIMD3<Double>, opacity: Double
    )
        -> (rendered: SIMD3<Double>, expected: SIMD3<Double>)
    {
        var got = SIMD3<Double>(0, 0, 0)
        var want = SIMD3<Double>(0, 0, 0)
        var total = 0.0
        for index in 0..<(mask.width * mask.height) where mask.pixels[index] > 0 {
            let a = Double(mask.pixels[index]) / 255
            let p = index * 3
            let before = SIMD3(Double(original[p]), Double(original[p + 1]), Double(original[p + 2]))
            let after = SIMD3(Double(rendered[p]), Double(rendered[p + 1]), Double(rendered[p + 2]))
            got += after * a
            want += (before + (shade - before) * (a * opacity)) * a
            total += a
        }
        return (got / total, want / total)
    }

    @Test(arguments: Finish.allCases)
    func test_meanLipColour_isTheShadeBlendedAtItsOpacity(finish: Finish) throws {
        let frame = Synthetic.face()
        let original = ColorImage.rgb(of: frame)
        let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        let shade = Synthetic.shade(color: "#6E2A45", finish: finish, opacity: 0.8)
        let observation = LipObservation(outer: outer, inner: inner, confidence: 1, locator: .mesh)
        renderer.render(frame, observation: observation, shade: shade, time: nil)
        let rendered = ColorImage.rgb(of: frame)
        let before = Self.interiorMean(original, mask: renderer.mask)
        let target = try #require(shade.shade.rgb)
        let (after, expected) = Self.weightedMeans(
            original: original, rendered: rendered, mask: renderer.mask, shade: target, opacity: 0.8)
        let difference = ColorMath.deltaE2000(ColorMath.lab(after), ColorMath.lab(expected))
        #expect(difference <= 5, "ΔE00 \(difference) for \(finish)")
        #expect(ColorMath.deltaE2000(ColorMath.lab(after), ColorMath.lab(before)) > 10)
    }

    @Test func test_pixelsOutsideTheMask_areUntouched() {
        let frame = Synthetic.face()
        let copy = ColorImage.copy(frame)
        let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        renderer.render(
            frame, observation: LipObservation(outer: outer, inner: inner, confidence: 1, locator: .mesh),
            shade: Synthetic.shade(), time: nil)
        let size = frame.width * frame.height
        var changedOutside = 0
        var changedInside = 0
        for index in 0..<size {
            let changed = frame.buffer.bytes[index] != copy.buffer.bytes[index]
            if renderer.mask.pixels[index] == 0 && changed { changedOutside += 1 }
            if renderer.mask.pixels[index] == 255 && changed { changedInside += 1 }
        }
        let full = (0..<size).filter { renderer.mask.pixels[$0] == 255 }.count
        #expect(changedOutside == 0)
        #expect(full > 100 && changedInside == full)  // every fully covered pixel was recoloured
    }

    /// Luma standard deviation over the fully covered lip pixels.
    static func lumaSpread(_ frame: Frame, _ mask: LipMask) -> Double {
        var values: [Double] = []
        for index in 0..<(frame.width * frame.height) where mask.pixels[index] == 255 {
            values.append(Double(frame.buffer.bytes[index]))
        }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    }

    @Test func test_finishes_shapeHighlights_glossAboveSatinAboveMatte_andTextureStays() {
        var spreads: [Finish: Double] = [:]
        var brightest: [Finish: UInt8] = [:]
        for finish in [Finish.matte, .satin, .gloss] {
            let frame = Synthetic.face()
            let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
            let renderer = TryOnRenderer(width: frame.width, height: frame.height)
            renderer.render(
                frame, observation: LipObservation(outer: outer, inner: inner, confidence: 1, locator: .mesh),
                shade: Synthetic.shade(color: "#B1242E", finish: finish, opacity: 1), time: nil)
            spreads[finish] = Self.lumaSpread(frame, renderer.mask)
            brightest[finish] = (0..<(frame.width * frame.height)).filter { renderer.mask.pixels[$0] == 255 }
                .map { frame.buffer.bytes[$0] }.max()
        }
        #expect(spreads[.matte]! > 3)  // the lips' own texture is still there
        #expect(brightest[.gloss]! > brightest[.satin]!)
        #expect(brightest[.satin]! > brightest[.matte]!)
    }

    @Test func test_shimmerSparkle_staysPutOnTheLipsWhenTheyMove() {
        func sparkleOffsets(shift: Int) -> Set<Int> {
            let frame = Synthetic.face()
            let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
            let moved = outer.map { $0 + SIMD2(Float(shift), 0) }
            let movedInner = inner.map { $0 + SIMD2(Float(shift), 0) }
            let renderer = TryOnRenderer(width: frame.width, height: frame.height)
            let plain = ColorImage.copy(frame)
            renderer.render(
                plain, observation: LipObservation(outer: moved, inner: movedInner, confidence: 1, locator: .mesh),
                shade: Synthetic.shade(finish: .satin, opacity: 1), time: nil)
            renderer.render(
                frame, observation: LipObservation(outer: moved, inner: movedInner, confidence: 1, locator: .mesh),
                shade: Synthetic.shade(finish: .shimmer, opacity: 1), time: nil)
            var result: Set<Int> = []
            for index in 0..<(frame.width * frame.height)
            where Int(frame.buffer.bytes[index]) - Int(plain.buffer.bytes[index]) > 20 {
                result.insert(index - shift)  // in the lips' own coordinates
            }
            return result
        }
        let still = sparkleOffsets(shift: 0)
        let moved = sparkleOffsets(shift: 12)
        #expect(still.count > 20)
        let shared = still.intersection(moved).count
        #expect(Double(shared) / Double(still.count) > 0.8)
    }

    @Test func test_yuyvFrames_areRecolouredToo() {
        let nv12 = Synthetic.face()
        let rgb = ColorImage.rgb(of: nv12)
        let width = nv12.width
        let height = nv12.height
        let buffer = FrameBuffer(capacity: width * height * 2)
        for y in 0..<height {
            for x in 0..<width {
                let p = (y * width + x) * 3
                let ycc = ColorMath.ycbcr(red: Double(rgb[p]), green: Double(rgb[p + 1]), blue: Double(rgb[p + 2]))
                buffer.bytes[y * width * 2 + 2 * x] = UInt8(ycc.x.rounded())
                if x % 2 == 0 {
                    buffer.bytes[y * width * 2 + 2 * x + 1] = UInt8(ycc.y.rounded())
                    buffer.bytes[y * width * 2 + 2 * x + 3] = UInt8(ycc.z.rounded())
                }
            }
        }
        let frame = Frame(
            format: .yuyv, width: width, height: height, bytesPerRow: width * 2, captureTime: Date(), index: 0,
            buffer: buffer)
        let (before, after, expected) = Self.renderPlum(on: frame)
        #expect(ColorMath.deltaE2000(ColorMath.lab(after), ColorMath.lab(expected)) <= 5)
        #expect(ColorMath.deltaE2000(ColorMath.lab(before), ColorMath.lab(expected)) > 10)
    }

    /// Renders a plum shade at 0.8 opacity on the synthetic face's lips in `frame`: the lips' mean colour before
    /// and after, and the expected mean (the shade blended over the lips).
    static func renderPlum(on frame: Frame) -> (before: SIMD3<Double>, after: SIMD3<Double>, expected: SIMD3<Double>) {
        let before = ColorImage.rgb(of: frame)
        let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        let shade = Synthetic.shade(color: "#6E2A45", opacity: 0.8)
        renderer.render(
            frame, observation: LipObservation(outer: outer, inner: inner, confidence: 1, locator: .mesh), shade: shade,
            time: nil)
        let beforeMean = LipBlenderTests.interiorMean(before, mask: renderer.mask)
        let after = LipBlenderTests.interiorMean(ColorImage.rgb(of: frame), mask: renderer.mask)
        return (beforeMean, after, beforeMean * 0.2 + shade.shade.rgb! * 0.8)
    }
}

@Suite struct TemporalTests {
    @Test func test_oneEuro_holdsAStillValueAndFollowsAStep() {
        var filter = OneEuroFilter(minCutoff: 1, beta: 0.05)
        for _ in 0..<30 { #expect(filter.filter(10, interval: 1.0 / 30) == 10) }
        var last = 10.0
        for _ in 0..<60 { last = filter.filter(50, interval: 1.0 / 30) }
        #expect(abs(last - 50) < 0.5)
    }

    @Test func test_oneEuro_reducesJitterOfAStillPoint() {
        var filter = OneEuroFilter(minCutoff: 1, beta: 0.02)
        var seed: UInt32 = 7
        var inputJitter = 0.0
        var outputJitter = 0.0
        var previousInput = 100.0
        var previousOutput = 100.0
        for step in 0..<300 {
            seed = seed &* 1_103_515_245 &+ 12345
            let input = 100 + (Double(seed >> 16 & 0xFF) / 255 - 0.5)
            let output = filter.filter(input, interval: 1.0 / 30)
            if step > 30 {
                inputJitter += abs(input - previousInput)
                outputJitter += abs(output - previousOutput)
            }
            previousInput = input
            previousOutput = output
        }
        #expect(outputJitter < inputJitter / 4)
    }

    /// Sum of absolute mask differences between consecutive frames, after the filters settled.
    static func edgeFlicker(smoothed: Bool) -> Int {
        let width = 320
        let height = 240
        let (outer, inner) = Synthetic.lips(width: width, height: height)
        let renderer = TryOnRenderer(width: width, height: height)
        var previous = [UInt8](repeating: 0, count: width * height)
        var total = 0
        var seed: UInt32 = 99
        let face = Synthetic.face(width: width, height: height)
        for step in 0..<60 {
            let frame = ColorImage.copy(face)
            func jitter(_ point: SIMD2<Float>) -> SIMD2<Float> {
                seed = seed &* 1_103_515_245 &+ 12345
                let dx = Float(seed >> 16 & 0xFF) / 255 - 0.5
                seed = seed &* 1_103_515_245 &+ 12345
                let dy = Float(seed >> 16 & 0xFF) / 255 - 0.5
                return point + SIMD2(dx, dy) * 1.5
            }
            let observation = LipObservation(
                outer: outer.map(jitter), inner: inner.map(jitter), confidence: 1, locator: .mesh)
            renderer.render(
                frame, observation: observation, shade: Synthetic.shade(), time: smoothed ? Double(step) / 30 : nil)
            if step > 20 {
                for index in 0..<(width * height) {
                    total += abs(Int(renderer.mask.pixels[index]) - Int(previous[index]))
                }
            }
            for index in 0..<(width * height) { previous[index] = renderer.mask.pixels[index] }
        }
        return total
    }

    @Test func test_aStillFaceWithNoisyLandmarks_showsLessEdgeFlickerWhenSmoothed() {
        let raw = Self.edgeFlicker(smoothed: false)
        let smoothed = Self.edgeFlicker(smoothed: true)
        #expect(smoothed * 4 < raw, "mask change per frame: smoothed \(smoothed), raw \(raw)")
    }

    @Test func test_theOverlay_fadesOutWhenTheLocatorIsUnsure_andIn_whenSure() {
        let width = 160
        let height = 120
        let (outer, inner) = Synthetic.lips(width: width, height: height)
        let renderer = TryOnRenderer(width: width, height: height)
        let sure = LipObservation(outer: outer, inner: inner, confidence: 0.95, locator: .mesh)
        let unsure = LipObservation(outer: outer, inner: inner, confidence: 0.1, locator: .classical)
        let face = Synthetic.face(width: width, height: height)
        var time = 0.0
        var strengths: [Float] = []
        for _ in 0..<15 {
            time += 1.0 / 30
            strengths.append(
                renderer.render(
                    ColorImage.copy(face), observation: sure, shade: Synthetic.shade(),
                    time: time
                ).strength)
        }
        #expect(strengths.first! < 0.5 && strengths.last! == 1)  // faded in, not switched on
        var fading: [Float] = []
        for _ in 0..<15 {
            time += 1.0 / 30
            fading.append(
                renderer.render(
                    ColorImage.copy(face), observation: unsure, shade: Synthetic.shade(),
                    time: time
                ).strength)
        }
        #expect(fading.first! > 0.5 && fading.last! == 0)
        #expect(zip(fading, fading.dropFirst()).allSatisfy { $0 >= $1 })
        // Gone: nothing is painted.
        let frame = ColorImage.copy(face)
        let copy = ColorImage.copy(frame)
        renderer.render(frame, observation: nil, shade: Synthetic.shade(), time: time + 0.1)
        #expect(memcmp(frame.buffer.bytes.baseAddress!, copy.buffer.bytes.baseAddress!, width * height * 3 / 2) == 0)
    }
}

@Suite struct CameraFrameRenderingTests {
    /// A mirror on an MJPEG camera: the frame arrives as camera-like JPEG bytes (4:2:2, no Huffman tables), is
    /// decoded to NV12 and recoloured like any NV12 frame.
    @Test func test_mjpegCameraFrames_areRecolouredAfterDecodingToNV12() throws {
        let reference = Synthetic.face()
        let width = reference.width
        let height = reference.height
        let jpeg = try #require(CameraJPEG.encode(rgb: ColorImage.rgb(of: reference), width: width, height: height))
        let decoder = try MJPEGDecoder(colourWidth: width, colourHeight: height)
        let buffer = FrameBuffer(capacity: width * height * 3 / 2)
        try jpeg.withUnsafeBytes {
            try decoder.decodeNV12($0, width: width, height: height, into: buffer, camera: "cam")
        }
        let frame = Frame(
            format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
        // The decoded frame is the face the camera saw: its lips are where they were drawn.
        let (before, after, expected) = LipBlenderTests.renderPlum(on: frame)
        #expect(ColorMath.deltaE2000(ColorMath.lab(after), ColorMath.lab(expected)) <= 5)
        #expect(ColorMath.deltaE2000(ColorMath.lab(before), ColorMath.lab(expected)) > 10)
    }
}
