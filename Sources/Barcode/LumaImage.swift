import Foundation
import HubCore

/// A tightly packed 8-bit grey image that the decode strategies make and transform.
///
/// Strategies work on crops of a frame (a region of interest), so these images are small; their pixel
/// loops run over `withUnsafe...` buffers to stay cheap in release builds.
public struct LumaImage: Sendable, Equatable {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Row-major, `width` bytes per row.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height, "pixel count must match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: fill, count: width * height))
    }

    /// Copies a rectangle out of a frame's luma plane (clamped to the frame).
    public init(frame: Frame, region: PixelRect) throws(BarcodeError) {
        guard let luma = frame.lumaPlane else { throw BarcodeError("frame format \(frame.format) has no luma plane") }
        let rect = region.clamped(width: frame.width, height: frame.height)
        guard rect.width > 0, rect.height > 0 else { throw BarcodeError("empty region \(region)") }
        var pixels = [UInt8](repeating: 0, count: rect.width * rect.height)
        pixels.withUnsafeMutableBytes { target in
            for row in 0..<rect.height {
                let start = (rect.y + row) * frame.bytesPerRow + rect.x
                UnsafeMutableRawBufferPointer(rebasing: target[(row * rect.width)..<((row + 1) * rect.width)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: luma[start..<(start + rect.width)]))
            }
        }
        self.init(width: rect.width, height: rect.height, pixels: pixels)
    }

    /// Light on dark becomes dark on light.
    public func inverted() -> LumaImage {
        LumaImage(width: width, height: height, pixels: pixels.map { 255 &- $0 })
    }

    /// Maps the `low`...`high` percentile range of grey levels onto 0...255: low-contrast prints become crisp.
    public func stretched(low: Double = 0.02, high: Double = 0.98) -> LumaImage {
        var histogram = [Int](repeating: 0, count: 256)
        for value in pixels { histogram[Int(value)] += 1 }
        let total = pixels.count
        var lower = 0
        var seen = 0
        while lower < 255 && seen + histogram[lower] <= Int(Double(total) * low) {
            seen += histogram[lower]
            lower += 1
        }
        var upper = 255
        seen = 0
        while upper > lower && seen + histogram[upper] <= Int(Double(total) * (1 - high)) {
            seen += histogram[upper]
            upper -= 1
        }
        guard upper > lower else { return self }
        let scale = 255.0 / Double(upper - lower)
        var table = [UInt8](repeating: 0, count: 256)
        for value in 0..<256 {
            table[value] = UInt8(max(0, min(255, (Double(value - lower) * scale).rounded())))
        }
        return LumaImage(width: width, height: height, pixels: pixels.map { table[Int($0)] })
    }

    /// Black where a pixel is darker than its neighbourhood's mean (a square of `window` pixels) by more
    /// than `offset`, else white: uneven light and glare stop mattering.
    public func binarized(window: Int, offset: Int = 4) -> LumaImage {
        let w = width
        let h = height
        let radius = max(1, window / 2)
        // Integral image with one leading row and column of zeros.
        var integral = [Int32](repeating: 0, count: (w + 1) * (h + 1))
        var output = [UInt8](repeating: 255, count: w * h)
        pixels.withUnsafeBufferPointer { source in
            integral.withUnsafeMutableBufferPointer { sum in
                for y in 0..<h {
                    var rowSum: Int32 = 0
                    for x in 0..<w {
                        rowSum += Int32(source[y * w + x])
                        sum[(y + 1) * (w + 1) + x + 1] = sum[y * (w + 1) + x + 1] + rowSum
                    }
                }
            }
            integral.withUnsafeBufferPointer { sum in
                output.withUnsafeMutableBufferPointer { target in
                    for y in 0..<h {
                        let y0 = max(0, y - radius)
                        let y1 = min(h, y + radius + 1)
                        for x in 0..<w {
                            let x0 = max(0, x - radius)
                            let x1 = min(w, x + radius + 1)
                            let area = Int32((y1 - y0) * (x1 - x0))
                            let total =
                                sum[y1 * (w + 1) + x1] - sum[y0 * (w + 1) + x1] - sum[y1 * (w + 1) + x0]
                                + sum[y0 * (w + 1) + x0]
                            if Int32(source[y * w + x]) * area + Int32(offset) * area < total {
                                target[y * w + x] = 0
                            }
                        }
                    }
                }
            }
        }
        return LumaImage(width: w, height: h, pixels: output)
    }

    /// Each pixel the mean of its 3x3 neighbourhood: takes the edge off sensor noise before a contrast stretch.
    public func smoothed() -> LumaImage {
        guard width >= 3, height >= 3 else { return self }
        var output = pixels
        let w = width
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 1..<(height - 1) {
                    for x in 1..<(w - 1) {
                        let p = y * w + x
                        var total = Int(source[p - w - 1]) + Int(source[p - w]) + Int(source[p - w + 1])
                        total += Int(source[p - 1]) + Int(source[p]) + Int(source[p + 1])
                        total += Int(source[p + w - 1]) + Int(source[p + w]) + Int(source[p + w + 1])
                        target[p] = UInt8(total / 9)
                    }
                }
            }
        }
        return LumaImage(width: w, height: height, pixels: output)
    }

    /// Unsharp mask: each pixel pushed away from its neighbourhood's mean (two 3x3 box passes, a 5x5 tent) by
    /// `amount` times the difference.
    public func sharpened(amount: Double = 2) -> LumaImage {
        let blurred = smoothed().smoothed()
        var output = pixels
        for index in output.indices {
            let value = Double(pixels[index]) + amount * (Double(pixels[index]) - Double(blurred.pixels[index]))
            output[index] = UInt8(max(0, min(255, value.rounded())))
        }
        return LumaImage(width: width, height: height, pixels: output)
    }

    /// Bilinear resampling by `factor` (2 doubles each side, 0.5 halves it).
    public func scaled(by factor: Double) -> LumaImage {
        let newWidth = max(1, Int((Double(width) * factor).rounded()))
        let newHeight = max(1, Int((Double(height) * factor).rounded()))
        if factor < 1 { return boxDownscaled(to: newWidth, newHeight) }
        var output = [UInt8](repeating: 0, count: newWidth * newHeight)
        let w = width
        let h = height
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<newHeight {
                    let sy = max(0, (Double(y) + 0.5) / factor - 0.5)
                    let y0 = min(h - 1, Int(sy))
                    let y1 = min(h - 1, y0 + 1)
                    let fy = sy - Double(y0)
                    for x in 0..<newWidth {
                        let sx = max(0, (Double(x) + 0.5) / factor - 0.5)
                        let x0 = min(w - 1, Int(sx))
                        let x1 = min(w - 1, x0 + 1)
                        let fx = sx - Double(x0)
                        let top = Double(source[y0 * w + x0]) * (1 - fx) + Double(source[y0 * w + x1]) * fx
                        let bottom = Double(source[y1 * w + x0]) * (1 - fx) + Double(source[y1 * w + x1]) * fx
                        target[y * newWidth + x] = UInt8(min(255, (top * (1 - fy) + bottom * fy).rounded()))
                    }
                }
            }
        }
        return LumaImage(width: newWidth, height: newHeight, pixels: output)
    }

    private func boxDownscaled(to newWidth: Int, _ newHeight: Int) -> LumaImage {
        var output = [UInt8](repeating: 0, count: newWidth * newHeight)
        let w = width
        let h = height
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<newHeight {
                    let ya = y * h / newHeight
                    let yb = max(ya + 1, (y + 1) * h / newHeight)
                    for x in 0..<newWidth {
                        let xa = x * w / newWidth
                        let xb = max(xa + 1, (x + 1) * w / newWidth)
                        var total = 0
                        for sy in ya..<yb {
                            for sx in xa..<xb { total += Int(source[sy * w + sx]) }
                        }
                        target[y * newWidth + x] = UInt8(total / ((yb - ya) * (xb - xa)))
                    }
                }
            }
        }
        return LumaImage(width: newWidth, height: newHeight, pixels: output)
    }

    /// Rotated by `radians` (counter-clockwise on screen) about the centre, on a canvas large enough to
    /// hold all of it; uncovered corners take `fill`. Returns the map from output back to input pixels.
    public func rotated(by radians: Double, fill: UInt8) -> (image: LumaImage, toSource: AffineMap) {
        let c = cos(radians)
        let s = sin(radians)
        let newWidth = Int((abs(Double(width) * c) + abs(Double(height) * s)).rounded(.up))
        let newHeight = Int((abs(Double(width) * s) + abs(Double(height) * c)).rounded(.up))
        let cx = Double(width) / 2
        let cy = Double(height) / 2
        let ncx = Double(newWidth) / 2
        let ncy = Double(newHeight) / 2
        // Output (u, v) samples the input at R(-θ) applied to (u - ncx, v - ncy), in image coordinates (y down).
        let map = AffineMap(a: c, b: -s, c: s, d: c, tx: cx - c * ncx + s * ncy, ty: cy - s * ncx - c * ncy)
        var output = [UInt8](repeating: fill, count: newWidth * newHeight)
        let w = width
        let h = height
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for v in 0..<newHeight {
                    for u in 0..<newWidth {
                        let (sx, sy) = map.apply(Double(u), Double(v))
                        guard sx >= 0, sy >= 0, sx < Double(w - 1), sy < Double(h - 1) else { continue }
                        let x0 = Int(sx)
                        let y0 = Int(sy)
                        let fx = sx - Double(x0)
                        let fy = sy - Double(y0)
                        let p = y0 * w + x0
                        let top = Double(source[p]) * (1 - fx) + Double(source[p + 1]) * fx
                        let bottom = Double(source[p + w]) * (1 - fx) + Double(source[p + w + 1]) * fx
                        target[v * newWidth + u] = UInt8(min(255, (top * (1 - fy) + bottom * fy).rounded()))
                    }
                }
            }
        }
        return (LumaImage(width: newWidth, height: newHeight, pixels: output), map)
    }

    /// The grey level that best splits the pixels into dark and light (Otsu's method).
    public var otsuThreshold: UInt8 { otsuThreshold(from: 0) }

    /// Otsu's split among the pixels at or above `floor` only: separates a white card from a lighter-than-ink
    /// background once the ink is set apart.
    func otsuThreshold(from floor: UInt8) -> UInt8 {
        var histogram = [Double](repeating: 0, count: 256)
        for value in pixels where value >= floor { histogram[Int(value)] += 1 }
        let total = histogram.reduce(0, +)
        guard total > 0 else { return floor }
        let sum = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
        var weightDark = 0.0
        var sumDark = 0.0
        var best = 0.0
        var threshold = 127
        for level in 0..<256 {
            weightDark += histogram[level]
            guard weightDark > 0, weightDark < total else { continue }
            sumDark += Double(level) * histogram[level]
            let meanDark = sumDark / weightDark
            let meanLight = (sum - sumDark) / (total - weightDark)
            let between = weightDark * (total - weightDark) * (meanDark - meanLight) * (meanDark - meanLight)
            if between > best {
                best = between
                threshold = level
            }
        }
        return UInt8(threshold)
    }

    /// A square view of a code seen at an angle: the quadrilateral spanned by the extreme dark pixels (the outer
    /// corners of a 2D code's modules) within the light card the code is printed on is mapped onto a square with
    /// a quiet zone. Nil when there is no card or no quad.
    public func rectified() -> (image: LumaImage, toSource: Homography)? {
        guard let corners = cardCorners() else { return nil }
        return warped(onto: corners)
    }

    /// The outer corners of the dark modules inside the largest light area (the card), clockwise from top left.
    func cardCorners() -> [(Double, Double)]? {
        let threshold = otsuThreshold
        // The card: the largest connected light area. Only dark pixels within its row and column spans belong to
        // the code; darker scene around the card does not. When that area reaches three edges of the crop it is the
        // background around the card, not the card: the card is then what is lighter than the background.
        guard var card = largestLightComponent(threshold) else { return nil }
        if touchedEdges(card) >= 3, let lighter = largestLightComponent(otsuThreshold(from: threshold)),
            touchedEdges(lighter) < 3
        {
            card = lighter
        }
        var rowSpan = [(Int, Int)](repeating: (Int.max, Int.min), count: height)
        var columnSpan = [(Int, Int)](repeating: (Int.max, Int.min), count: width)
        for index in card {
            let x = index % width
            let y = index / width
            rowSpan[y] = (min(rowSpan[y].0, x), max(rowSpan[y].1, x))
            columnSpan[x] = (min(columnSpan[x].0, y), max(columnSpan[x].1, y))
        }
        var corners = [(Int, Int)](repeating: (0, 0), count: 4)
        var scores = [Int.max, Int.min, Int.min, Int.max]  // min x+y, max x-y, max x+y, min x-y
        for y in 0..<height {
            for x in 0..<width {
                let value = pixels[y * width + x]
                guard value < threshold, x > rowSpan[y].0, x < rowSpan[y].1, y > columnSpan[x].0, y < columnSpan[x].1
                else { continue }
                if x + y < scores[0] { (scores[0], corners[0]) = (x + y, (x, y)) }
                if x - y > scores[1] { (scores[1], corners[1]) = (x - y, (x, y)) }
                if x + y > scores[2] { (scores[2], corners[2]) = (x + y, (x, y)) }
                if x - y < scores[3] { (scores[3], corners[3]) = (x - y, (x, y)) }
            }
        }
        guard scores[0] != Int.max else { return nil }
        return corners.map { (Double($0.0) + 0.5, Double($0.1) + 0.5) }
    }

    /// Maps the quadrilateral `corners` (clockwise in image coordinates) onto an upright square with a quiet zone
    /// of the mean light level around it. Nil when the quadrilateral is too small or degenerate.
    func warped(onto corners: [(Double, Double)]) -> (image: LumaImage, toSource: Homography)? {
        guard corners.count == 4 else { return nil }
        func distance(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
            ((a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1)).squareRoot()
        }
        let measured = (0..<4).map { distance(corners[$0], corners[($0 + 1) % 4]) }.reduce(0, +) / 4
        guard measured >= 16 else { return nil }
        // Small codes are enlarged on the way: zbar wants a few pixels per module.
        let side = max(measured, 240)
        let margin = side / 8
        let size = Int((side + 2 * margin).rounded())
        let square = [
            (margin, margin), (margin + side, margin), (margin + side, margin + side), (margin, margin + side),
        ]
        guard let map = Homography(from: square, to: corners) else { return nil }
        let threshold = otsuThreshold
        var lightTotal = 0
        var lightCount = 0
        for value in pixels where value >= threshold {
            lightTotal += Int(value)
            lightCount += 1
        }
        let fill = lightCount > 0 ? UInt8(lightTotal / lightCount) : 255
        var output = [UInt8](repeating: fill, count: size * size)
        for v in 0..<size {
            for u in 0..<size {
                let (sx, sy) = map.apply(Double(u) + 0.5, Double(v) + 0.5)
                let fx = sx - 0.5
                let fy = sy - 0.5
                guard fx >= 0, fy >= 0, fx < Double(width - 1), fy < Double(height - 1) else { continue }
                let x = Int(fx)
                let y = Int(fy)
                let ax = fx - Double(x)
                let ay = fy - Double(y)
                let p = y * width + x
                let top = Double(pixels[p]) * (1 - ax) + Double(pixels[p + 1]) * ax
                let bottom = Double(pixels[p + width]) * (1 - ax) + Double(pixels[p + width + 1]) * ax
                output[v * size + u] = UInt8(min(255, (top * (1 - ay) + bottom * ay).rounded()))
            }
        }
        return (LumaImage(width: size, height: size, pixels: output), map)
    }

    /// How many of the four image edges the pixels touch.
    private func touchedEdges(_ indices: [Int]) -> Int {
        var edges = (false, false, false, false)
        for index in indices {
            let x = index % width
            let y = index / width
            if x == 0 { edges.0 = true }
            if x == width - 1 { edges.1 = true }
            if y == 0 { edges.2 = true }
            if y == height - 1 { edges.3 = true }
        }
        return [edges.0, edges.1, edges.2, edges.3].filter { $0 }.count
    }

    /// Pixel indices of the largest 4-connected area at or above `threshold`.
    func largestLightComponent(_ threshold: UInt8) -> [Int]? {
        var seen = [Bool](repeating: false, count: pixels.count)
        var best: [Int] = []
        var stack: [Int] = []
        for start in pixels.indices where !seen[start] && pixels[start] >= threshold {
            var component: [Int] = []
            seen[start] = true
            stack.append(start)
            while let index = stack.popLast() {
                component.append(index)
                let x = index % width
                for next in [index - 1, index + 1, index - width, index + width] {
                    guard next >= 0, next < pixels.count, !seen[next], pixels[next] >= threshold else { continue }
                    if (next == index - 1 && x == 0) || (next == index + 1 && x == width - 1) { continue }
                    seen[next] = true
                    stack.append(next)
                }
            }
            if component.count > best.count { best = component }
        }
        return best.isEmpty ? nil : best
    }

    /// The median grey level, for filling what a rotation uncovers.
    public var median: UInt8 {
        var histogram = [Int](repeating: 0, count: 256)
        for value in pixels { histogram[Int(value)] += 1 }
        var seen = 0
        for (value, count) in histogram.enumerated() {
            seen += count
            if seen * 2 >= pixels.count { return UInt8(value) }
        }
        return 255
    }
}

/// A rectangle in frame pixels.
public struct PixelRect: Sendable, Equatable, CustomStringConvertible {
    /// Left edge.
    public var x: Int
    /// Top edge.
    public var y: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The part that lies inside a `width` x `height` image.
    public func clamped(width limitWidth: Int, height limitHeight: Int) -> PixelRect {
        let left = max(0, min(limitWidth, x))
        let top = max(0, min(limitHeight, y))
        let right = max(left, min(limitWidth, x + width))
        let bottom = max(top, min(limitHeight, y + height))
        return PixelRect(x: left, y: top, width: right - left, height: bottom - top)
    }

    /// Grown by `margin` pixels on every side.
    public func expanded(by margin: Int) -> PixelRect {
        PixelRect(x: x - margin, y: y - margin, width: width + 2 * margin, height: height + 2 * margin)
    }

    /// Whether the point lies inside.
    public func contains(_ px: Int, _ py: Int) -> Bool {
        px >= x && py >= y && px < x + width && py < y + height
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// A projective map (x', y') = ((a·x + b·y + c) / (g·x + h·y + 1), (d·x + e·y + f) / (g·x + h·y + 1)).
public struct Homography: Sendable, Equatable {
    /// a, b, c, d, e, f, g, h.
    public var coefficients: [Double]

    /// The map taking each of four points to its partner; nil when three of them are on one line.
    public init?(from source: [(Double, Double)], to target: [(Double, Double)]) {
        guard source.count == 4, target.count == 4 else { return nil }
        var rows: [[Double]] = []
        for ((x, y), (u, v)) in zip(source, target) {
            rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
            rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
        }
        // Gaussian elimination with partial pivoting on the 8x9 augmented matrix.
        for column in 0..<8 {
            guard let pivot = (column..<8).max(by: { abs(rows[$0][column]) < abs(rows[$1][column]) }),
                abs(rows[pivot][column]) > 1e-9
            else { return nil }
            rows.swapAt(column, pivot)
            for row in 0..<8 where row != column {
                let factor = rows[row][column] / rows[column][column]
                for k in column..<9 { rows[row][k] -= factor * rows[column][k] }
            }
        }
        coefficients = (0..<8).map { rows[$0][8] / rows[$0][$0] }
    }

    /// The image of a point.
    public func apply(_ x: Double, _ y: Double) -> (Double, Double) {
        let c = coefficients
        let w = c[6] * x + c[7] * y + 1
        return ((c[0] * x + c[1] * y + c[2]) / w, (c[3] * x + c[4] * y + c[5]) / w)
    }
}

/// Maps a point of a derived image (crop, scaled, rotated) back to the frame: x' = a·x + b·y + tx, y' = c·x + d·y + ty.
public struct AffineMap: Sendable, Equatable {
    /// The matrix entries and the translation.
    public var a, b, c, d, tx, ty: Double

    public init(a: Double, b: Double, c: Double, d: Double, tx: Double, ty: Double) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.tx = tx
        self.ty = ty
    }

    /// Leaves points where they are.
    public static let identity = AffineMap(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    /// Scales by `factor` (a derived image that is `factor` times the size of its source).
    public static func scale(_ factor: Double) -> AffineMap {
        AffineMap(a: 1 / factor, b: 0, c: 0, d: 1 / factor, tx: 0, ty: 0)
    }

    /// Moves points by (x, y): a crop at (x, y) back to its frame.
    public static func offset(_ x: Int, _ y: Int) -> AffineMap {
        AffineMap(a: 1, b: 0, c: 0, d: 1, tx: Double(x), ty: Double(y))
    }

    /// The image of a point.
    public func apply(_ x: Double, _ y: Double) -> (Double, Double) {
        (a * x + b * y + tx, c * x + d * y + ty)
    }

    /// First `self`, then `outer`: a point of the innermost image all the way to the frame.
    public func then(_ outer: AffineMap) -> AffineMap {
        AffineMap(
            a: outer.a * a + outer.b * c, b: outer.a * b + outer.b * d, c: outer.c * a + outer.d * c,
            d: outer.c * b + outer.d * d, tx: outer.a * tx + outer.b * ty + outer.tx,
            ty: outer.c * tx + outer.d * ty + outer.ty)
    }
}
