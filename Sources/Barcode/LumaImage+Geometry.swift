import Foundation

/// Resampling: scaling, rotation and the perspective view of a card, each with the map back to the source.
extension LumaImage {
    /// Bilinear resampling by `factor` (2 doubles each side, 0.5 halves it).
    package func scaled(by factor: Double) -> LumaImage {
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
    package func rotated(by radians: Double, fill: UInt8) -> (image: LumaImage, toSource: AffineMap) {
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
                        target[v * newWidth + u] = Self.bilinear(source, width: w, x: sx, y: sy)
                    }
                }
            }
        }
        return (LumaImage(width: newWidth, height: newHeight, pixels: output), map)
    }

    /// A square view of a code seen at an angle: the quadrilateral spanned by the extreme dark pixels (the outer
    /// corners of a 2D code's modules) within the light card the code is printed on is mapped onto a square with
    /// a quiet zone. Nil when there is no card or no quad.
    package func rectified() -> (image: LumaImage, toSource: Homography)? {
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
        pixels.withUnsafeBufferPointer { source in
            for v in 0..<size {
                for u in 0..<size {
                    let (sx, sy) = map.apply(Double(u) + 0.5, Double(v) + 0.5)
                    let fx = sx - 0.5
                    let fy = sy - 0.5
                    guard fx >= 0, fy >= 0, fx < Double(width - 1), fy < Double(height - 1) else { continue }
                    output[v * size + u] = Self.bilinear(source, width: width, x: fx, y: fy)
                }
            }
        }
        return (LumaImage(width: size, height: size, pixels: output), map)
    }

    /// The grey level at (x, y) between the four nearest pixels, where pixel (i, j) sits at (i, j):
    /// 0 <= x < width - 1 and 0 <= y < rows - 1.
    static func bilinear(_ source: UnsafeBufferPointer<UInt8>, width: Int, x: Double, y: Double) -> UInt8 {
        let x0 = Int(x)
        let y0 = Int(y)
        let fx = x - Double(x0)
        let fy = y - Double(y0)
        let p = y0 * width + x0
        let top = Double(source[p]) * (1 - fx) + Double(source[p + 1]) * fx
        let bottom = Double(source[p + width]) * (1 - fx) + Double(source[p + width + 1]) * fx
        return UInt8(min(255, (top * (1 - fy) + bottom * fy).rounded()))
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
}
