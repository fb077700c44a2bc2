import Foundation
import Testing

@testable import Barcode

extension LumaImage {
    /// Each target pixel takes the source pixel its centre falls in: a code printed or shown at a pitch that is not a
    /// whole number of pixels, its modules of uneven width (2, 2, 1, 2, ... at 1.8); `shift` moves the sampling by
    /// that many target pixels.
    func nearestScaled(by factor: Double, shift: Double = 0) -> LumaImage {
        let newWidth = Int((Double(width) * factor).rounded())
        let newHeight = Int((Double(height) * factor).rounded())
        var output = [UInt8](repeating: 0, count: newWidth * newHeight)
        for y in 0..<newHeight {
            let sy = min(height - 1, Int((Double(y) + 0.5 + shift) / factor))
            for x in 0..<newWidth {
                output[y * newWidth + x] = pixels[sy * width + min(width - 1, Int((Double(x) + 0.5 + shift) / factor))]
            }
        }
        return LumaImage(width: newWidth, height: newHeight, pixels: output)
    }
}

@Suite struct ModuleGridTests {
    /// A seeded 21x21 pattern of dark (0) and light (255) modules inside a light border of 4 modules, one pixel a
    /// module.
    private func pattern(seed: UInt64) -> (image: LumaImage, modules: [Bool]) {
        var random = SeededRandom(seed: seed)
        let modules = (0..<(21 * 21)).map { _ in random.next() % 2 == 0 }
        var image = LumaImage(width: 29, height: 29, fill: 255)
        for row in 0..<21 {
            for column in 0..<21 where modules[row * 21 + column] {
                image.pixels[(row + 4) * 29 + column + 4] = 0
            }
        }
        return (image, modules)
    }

    @Test(arguments: [1.8, 2.3, 2.7, 3.4])
    func modulesOfUnevenWidthComeBackAsTheirPattern(pitch: Double) throws {
        let (source, modules) = pattern(seed: UInt64(pitch * 10))
        let image = source.nearestScaled(by: pitch)
        let grids = image.moduleGrids(
            in: PixelRect(x: 0, y: 0, width: image.width, height: image.height), minimumStrength: 0.3)
        let grid = try #require(grids.first { abs($0.pitch - pitch) < 0.03 }, "pitches found: \(grids.map(\.pitch))")
        let (resampled, map) = try #require(image.resampled(onto: grid, pixelsPerModule: 4))
        // The module whose centre maps to the first pattern module's centre, then every module from there.
        let (firstX, firstY) = (4.5 * pitch, 4.5 * pitch)
        let column0 = Int(((firstX - map.tx) / map.a / 4).rounded(.down))
        let row0 = Int(((firstY - map.ty) / map.d / 4).rounded(.down))
        var wrong = 0
        for row in 0..<21 {
            for column in 0..<21 {
                let value = resampled.pixels[((row0 + row) * 4 + 2) * resampled.width + (column0 + column) * 4 + 2]
                if (value < 128) != modules[row * 21 + column] { wrong += 1 }
            }
        }
        #expect(wrong == 0, "\(wrong) of 441 modules wrong at pitch \(pitch)")
    }

    @Test(arguments: [-0.6, -0.3, 0.0, 0.25, 0.5])
    func orientationOfATurnedPatternIsFound(angle: Double) throws {
        let (source, _) = pattern(seed: 9)
        let image = source.nearestScaled(by: 6).rotated(by: -angle, fill: 255).image
        let found = try #require(
            image.gridOrientation(in: PixelRect(x: 0, y: 0, width: image.width, height: image.height)))
        // Within 2°, modulo a right angle.
        let error = (found.angle - angle).remainder(dividingBy: .pi / 2)
        #expect(abs(error) < 0.035, "found \(found.angle) for \(angle)")
        #expect(found.strength > 0.5)
    }

    @Test func noiseHasNoOrientation() throws {
        var random = SeededRandom(seed: 4)
        var image = LumaImage(width: 120, height: 120)
        for index in image.pixels.indices { image.pixels[index] = UInt8(clamping: 128 + random.noise(40)) }
        let found = try #require(image.gridOrientation(in: PixelRect(x: 0, y: 0, width: 120, height: 120)))
        #expect(found.strength < 0.1)
    }

    @Test func noiseHasNoGrid() {
        var random = SeededRandom(seed: 3)
        var image = LumaImage(width: 80, height: 80)
        for index in image.pixels.indices { image.pixels[index] = UInt8(clamping: 128 + random.noise(40)) }
        #expect(image.moduleGrids(in: PixelRect(x: 0, y: 0, width: 80, height: 80), minimumStrength: 0.3).isEmpty)
    }

    @Test func aPatternTurnedOffTheAxesHasNoGrid() throws {
        let image = pattern(seed: 5).image.nearestScaled(by: 2.5).rotated(by: 0.35, fill: 255).image
        #expect(
            image.moduleGrids(in: PixelRect(x: 0, y: 0, width: image.width, height: image.height), minimumStrength: 0.3)
                .isEmpty)
    }
}

@Suite(.enabled(if: Zint.available, "needs zint (scripts/install-deps installs it)"))
struct GriddedStrategyTests {
    @Test func aztecTurnedByAThirdOfARightAngleIsReadTurnedBack() throws {
        let code = try Zint.image(.aztec, "https://shop.example/t/AAQR623GDFY5Z3SCRYJRRHM68368", scale: 5)
        let turned = code.rotated(by: -0.5, fill: 255).image
        let frame = Fixture.frame(width: 800, height: 600, with: turned, at: (250, 150), noise: 3)
        #expect(
            try BarcodeReader(symbologies: [.aztec], strategies: []).read(frame).isEmpty,
            "zxing-cpp alone must miss the turned code for this test to mean anything")
        let found = try BarcodeReader(symbologies: [.aztec], strategies: [.rotated]).read(frame)
        #expect(found.map(\.text) == ["https://shop.example/t/AAQR623GDFY5Z3SCRYJRRHM68368"])
        #expect(found.first?.strategy == .rotated)
    }

    @Test(arguments: [1.65, 1.8, 1.9])
    func aztecTicketWithModulesOfUnevenWidthIsReadOnItsGrid(pitch: Double) throws {
        let code = try Zint.image(.aztec, "TKT:9151902225:ERGWSR", scale: 1).nearestScaled(by: pitch)
        let frame = Fixture.frame(width: 800, height: 600, with: code, at: (301, 207), noise: 3)
        #expect(
            try BarcodeReader(symbologies: [.aztec], strategies: []).read(frame).isEmpty,
            "zxing-cpp alone must miss this ticket for the test to mean anything")
        let found = try BarcodeReader(symbologies: [.aztec], strategies: [.gridded]).read(frame)
        #expect(found.map(\.text) == ["TKT:9151902225:ERGWSR"])
        #expect(found.first?.strategy == .gridded)
        let polygon = try #require(found.first?.polygon)
        for point in polygon {
            #expect(
                (295...(301 + code.width + 6)).contains(point[0]) && (201...(207 + code.height + 6)).contains(point[1]))
        }
    }
}
