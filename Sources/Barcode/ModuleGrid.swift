import Foundation

/// The square module grid of a small 2D code that lies square to the image axes, found from where its edges fall.
///
/// A code whose modules are one to three pixels wide and not a whole number of pixels (a label printer's dots, a
/// ticket on a phone screen at an odd zoom, a small print) shows modules of uneven width, say 2, 2, 1, 2, 2, 1
/// pixels. zxing-cpp's detectors then misjudge the module size from the finder pattern. The edges still fall on a
/// regular grid: edge positions x = `phase` + k·`pitch`. The grid is the strongest frequency of the crop's edge
/// profile, one for both axes, since modules are square; sampling each module at its centre gives the code back
/// at a whole number of pixels per module.
struct ModuleGrid: Equatable {
    /// Pixels per module.
    var pitch: Double
    /// Where a module boundary lies on each axis (pixel i spans [i, i + 1)), in 0..<pitch.
    var phaseX: Double
    var phaseY: Double
    /// 0...1: the share of the edge energy that falls on the grid, mean over both axes.
    var strength: Double

    /// The pitches searched: 2 to 4 pixels, and through the alias of each (below) 1.33 to 2. Larger modules are read
    /// as they are.
    static let frequencies: ClosedRange<Double> = 0.25...0.5
}

extension LumaImage {
    /// The grids that fit the edges inside `rect` with at least `minimumStrength`: the best pitch between 2 and 4
    /// pixels and its alias (edges sampled on whole pixels cannot tell frequency f from 1 - f, so a 2.3-pixel grid and
    /// a 1.77-pixel one look the same), best first. Empty when the region is too small to hold a grid.
    func moduleGrids(in rect: PixelRect, minimumStrength: Double) -> [ModuleGrid] {
        let area = rect.clamped(width: width, height: height)
        let (columns, rows) = edgeProfiles(in: area)
        guard columns.count >= 8, rows.count >= 8 else { return [] }
        let columnEnergy = columns.reduce(0, +)
        let rowEnergy = rows.reduce(0, +)
        guard columnEnergy > 0, rowEnergy > 0 else { return [] }
        func score(_ frequency: Double) -> Double {
            Self.spectrum(columns, frequency).magnitude / columnEnergy + Self.spectrum(rows, frequency).magnitude
                / rowEnergy
        }
        // Coarse then fine: a step of 1/(8L) in frequency moves the last of L edges by an eighth of a module.
        let length = Double(max(columns.count, rows.count))
        var best = ModuleGrid.frequencies.lowerBound
        var bestScore = -1.0
        var frequency = ModuleGrid.frequencies.lowerBound
        while frequency <= ModuleGrid.frequencies.upperBound {
            let value = score(frequency)
            if value > bestScore { (best, bestScore) = (frequency, value) }
            frequency += 1 / (8 * length)
        }
        let coarse = best
        frequency = coarse - 1 / (8 * length)
        while frequency <= coarse + 1 / (8 * length) {
            let value = score(frequency)
            if value > bestScore { (best, bestScore) = (frequency, value) }
            frequency += 1 / (64 * length)
        }
        let strength = bestScore / 2
        guard strength >= minimumStrength else { return [] }
        let alongX = Self.spectrum(columns, best)
        let alongY = Self.spectrum(rows, best)
        // Sampled on whole pixels, the spectrum at 1 - f is the complex conjugate of the one at f: the same
        // strength, the phase mirrored.
        return [(best, 1.0), (1 - best, -1.0)].map { frequency, sign in
            let pitch = 1 / frequency
            // The profile's edges sit at offset + k·pitch (offset from the area's corner) where the spectrum's angle
            // is 2π·offset/pitch.
            func boundary(_ value: Complex, from origin: Int) -> Double {
                let offset = sign * value.angle / (2 * .pi) * pitch + Double(origin)
                let phase = offset.truncatingRemainder(dividingBy: pitch)
                return phase < 0 ? phase + pitch : phase
            }
            return ModuleGrid(
                pitch: pitch, phaseX: boundary(alongX, from: area.x), phaseY: boundary(alongY, from: area.y),
                strength: strength)
        }
    }

    /// The direction of the edges inside `rect` modulo a right angle, in -π/4...π/4 (the convention of
    /// `CandidateRegion.angle`: 0 when they run along the axes), and how strongly they keep to it (0...1): the fourth
    /// harmonic of the gradient directions, each weighted by its squared magnitude. A 2D code's module edges all lie
    /// at θ or θ + 90°, where text and texture spread. Sobel gradients: central differences bent a 28° Aztec code
    /// to 33°, too far for zxing-cpp; Sobel gave 28°. Nil for a region without edges.
    func gridOrientation(in rect: PixelRect) -> (angle: Double, strength: Double)? {
        let area = rect.clamped(width: width, height: height)
        guard area.width >= 3, area.height >= 3 else { return nil }
        var real = 0.0
        var imaginary = 0.0
        var total = 0.0
        pixels.withUnsafeBufferPointer { grey in
            for y in (area.y + 1)..<(area.y + area.height - 1) {
                for x in (area.x + 1)..<(area.x + area.width - 1) {
                    func at(_ dx: Int, _ dy: Int) -> Int { Int(grey[(y + dy) * width + x + dx]) }
                    let gx = Double(at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1))
                    let gy = Double(at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1))
                    let squared = gx * gx + gy * gy
                    guard squared > 0 else { continue }
                    // (gx + i·gy)^4 / |g|²: angle 4θ, weight |g|².
                    let re2 = gx * gx - gy * gy
                    let im2 = 2 * gx * gy
                    real += (re2 * re2 - im2 * im2) / squared
                    imaginary += 2 * re2 * im2 / squared
                    total += squared
                }
            }
        }
        guard total > 0 else { return nil }
        return (atan2(imaginary, real) / 4, (real * real + imaginary * imaginary).squareRoot() / total)
    }

    /// The image sampled at the centre of every module of `grid` (bilinear), each module drawn as a block of
    /// `pixelsPerModule` pixels, and the map from the new image's pixels back to this one's.
    func resampled(onto grid: ModuleGrid, pixelsPerModule: Int) -> (image: LumaImage, toSource: AffineMap)? {
        // Boundaries at phase + k·pitch; the first whole module starts at the first boundary at or after 0.
        let startX = grid.phaseX
        let startY = grid.phaseY
        let columns = Int((Double(width) - startX) / grid.pitch)
        let rows = Int((Double(height) - startY) / grid.pitch)
        guard columns >= 8, rows >= 8 else { return nil }
        let outputWidth = columns * pixelsPerModule
        var output = [UInt8](repeating: 0, count: outputWidth * rows * pixelsPerModule)
        pixels.withUnsafeBufferPointer { source in
            for row in 0..<rows {
                // Pixel i's centre is at i + 0.5.
                let sy = startY + (Double(row) + 0.5) * grid.pitch - 0.5
                for column in 0..<columns {
                    let sx = startX + (Double(column) + 0.5) * grid.pitch - 0.5
                    // Clamped to the last pixel pair: a grid's edge modules may reach past the image by a fraction.
                    let value = Self.bilinear(
                        source, width: width, x: max(0, min(Double(width) - 1.001, sx)),
                        y: max(0, min(Double(height) - 1.001, sy)))
                    for blockRow in 0..<pixelsPerModule {
                        let start = (row * pixelsPerModule + blockRow) * outputWidth + column * pixelsPerModule
                        for index in start..<(start + pixelsPerModule) { output[index] = value }
                    }
                }
            }
        }
        let scale = grid.pitch / Double(pixelsPerModule)
        let map = AffineMap(a: scale, b: 0, c: 0, d: scale, tx: startX, ty: startY)
        return (LumaImage(width: outputWidth, height: rows * pixelsPerModule, pixels: output), map)
    }

    /// Per column boundary (between pixel x and x + 1, at x + 1) and per row boundary, the summed absolute
    /// difference across it inside `rect`.
    private func edgeProfiles(in area: PixelRect) -> (columns: [Double], rows: [Double]) {
        guard area.width >= 2, area.height >= 2 else { return ([], []) }
        var columns = [Double](repeating: 0, count: area.width - 1)
        var rows = [Double](repeating: 0, count: area.height - 1)
        pixels.withUnsafeBufferPointer { grey in
            for y in area.y..<(area.y + area.height) {
                let line = y * width
                for x in area.x..<(area.x + area.width - 1) {
                    columns[x - area.x] += Double(abs(Int(grey[line + x + 1]) - Int(grey[line + x])))
                    if y + 1 < area.y + area.height {
                        rows[y - area.y] += Double(abs(Int(grey[line + width + x]) - Int(grey[line + x])))
                    }
                }
            }
        }
        return (columns, rows)
    }

    /// Σ profile[k]·e^(2πi·f·(k + 1)): boundary k lies at k + 1 in the region's coordinates.
    private static func spectrum(_ profile: [Double], _ frequency: Double) -> Complex {
        // The rotation by 2πf per step, applied by recurrence instead of a sine and cosine per sample.
        let stepReal = cos(2 * .pi * frequency)
        let stepImaginary = sin(2 * .pi * frequency)
        var real = stepReal
        var imaginary = stepImaginary
        var sumReal = 0.0
        var sumImaginary = 0.0
        for value in profile {
            sumReal += value * real
            sumImaginary += value * imaginary
            (real, imaginary) = (
                real * stepReal - imaginary * stepImaginary, real * stepImaginary + imaginary * stepReal
            )
        }
        return Complex(real: sumReal, imaginary: sumImaginary)
    }
}

/// A complex number, for the edge spectrum.
private struct Complex {
    var real: Double
    var imaginary: Double
    var magnitude: Double { (real * real + imaginary * imaginary).squareRoot() }
    var angle: Double { atan2(imaginary, real) }
}
