/// A lip mask the size of a frame: 0 (not lips) ... 255 (lips), anti-aliased and feathered.
///
/// Buffers are allocated once for a frame size; `rasterize` allocates nothing and touches only the rows and
/// columns around the lips (`bounds`), clearing what the previous frame's mask covered.
package final class LipMask {
    package let width: Int
    package let height: Int
    /// Row-major, `width` bytes per row. Zero outside `bounds`.
    package let pixels: UnsafeMutableBufferPointer<UInt8>
    /// The rectangle that may hold non-zero values: x0..<x1, y0..<y1 (empty when x0 == x1).
    package private(set) var bounds: (x0: Int, y0: Int, x1: Int, y1: Int) = (0, 0, 0, 0)

    private let scratch: UnsafeMutableBufferPointer<UInt8>
    private let coverage: UnsafeMutableBufferPointer<Float>
    private let columnSums: UnsafeMutableBufferPointer<UInt32>
    private let crossings: UnsafeMutableBufferPointer<Float>
    /// Sub-scanlines per pixel row for vertical anti-aliasing; horizontal coverage is exact.
    static let subsamples = 4
    package static let maxContourPoints = 512

    package init(width: Int, height: Int) {
        precondition(width > 0 && height > 0)
        self.width = width
        self.height = height
        pixels = .allocate(capacity: width * height)
        pixels.initialize(repeating: 0)
        scratch = .allocate(capacity: width * height)
        scratch.initialize(repeating: 0)
        coverage = .allocate(capacity: width + 2)
        coverage.initialize(repeating: 0)
        columnSums = .allocate(capacity: width)
        columnSums.initialize(repeating: 0)
        crossings = .allocate(capacity: 2 * Self.maxContourPoints)
        crossings.initialize(repeating: 0)
    }

    deinit {
        pixels.deallocate()
        scratch.deallocate()
        coverage.deallocate()
        columnSums.deallocate()
        crossings.deallocate()
    }

    /// Sets every pixel to 0.
    package func clear() {
        for y in bounds.y0..<bounds.y1 {
            let row = y * width
            for x in bounds.x0..<bounds.x1 { pixels[row + x] = 0 }
        }
        bounds = (0, 0, 0, 0)
    }

    /// Sets every pixel from column `x` rightwards to 0: the before side of a before/after split line.
    package func clearColumns(from x: Int) {
        let start = max(x, bounds.x0)
        guard start < bounds.x1 else { return }
        for y in bounds.y0..<bounds.y1 {
            let row = y * width
            for column in start..<bounds.x1 { pixels[row + column] = 0 }
        }
        bounds.x1 = max(start, bounds.x0)
    }

    /// Fills the region inside `outer` and outside `inner` (even-odd), with each pixel's covered share as its
    /// value, then blurs it with a box filter of `feather` pixels radius applied twice (close to a Gaussian).
    /// Contours beyond `maxContourPoints` points are cut; points outside the frame are clipped.
    package func rasterize(outer: [SIMD2<Float>], inner: [SIMD2<Float>], feather: Int) {
        clear()
        guard outer.count >= 3 else { return }
        var minX = Float.infinity
        var minY = Float.infinity
        var maxX = -Float.infinity
        var maxY = -Float.infinity
        for point in outer.prefix(Self.maxContourPoints) {
            minX = min(minX, point.x)
            maxX = max(maxX, point.x)
            minY = min(minY, point.y)
            maxY = max(maxY, point.y)
        }
        guard minX.isFinite, maxX.isFinite, minY.isFinite, maxY.isFinite else { return }
        let radius = max(0, min(feather, 64))
        let margin = 2 * radius + 1
        let fillY0 = minY.pixel(in: 0...height, rounded: .down)
        let fillY1 = min(height, maxY.pixel(in: -1...height, rounded: .up) + 1)
        let fillX0 = minX.pixel(in: 0...width, rounded: .down)
        let fillX1 = min(width, maxX.pixel(in: -1...width, rounded: .up) + 1)
        guard fillY0 < fillY1, fillX0 < fillX1 else { return }
        bounds = (
            max(0, fillX0 - margin), max(0, fillY0 - margin), min(width, fillX1 + margin), min(height, fillY1 + margin)
        )
        let step = 1 / Float(Self.subsamples)
        for y in fillY0..<fillY1 {
            for x in fillX0...fillX1 { coverage[x] = 0 }
            for sub in 0..<Self.subsamples {
                let scanY = Float(y) + (Float(sub) + 0.5) * step
                var count = 0
                count = collectCrossings(outer, at: scanY, into: count)
                count = collectCrossings(inner, at: scanY, into: count)
                guard count >= 2 else { continue }
                sortCrossings(count)
                var index = 0
                while index + 1 < count {
                    addSpan(from: crossings[index], to: crossings[index + 1], weight: step, clampTo: fillX0, fillX1)
                    index += 2
                }
            }
            let row = y * width
            for x in fillX0..<fillX1 {
                pixels[row + x] = UInt8(min(coverage[x], 1) * 255 + 0.5)
            }
        }
        if radius > 0 {
            boxBlur(radius: radius)
            boxBlur(radius: radius)
        }
    }

    private func collectCrossings(_ contour: [SIMD2<Float>], at scanY: Float, into start: Int) -> Int {
        let count = min(contour.count, Self.maxContourPoints)
        guard count >= 3 else { return start }
        var found = start
        var previous = contour[count - 1]
        for index in 0..<count {
            let point = contour[index]
            if (previous.y <= scanY && point.y > scanY) || (point.y <= scanY && previous.y > scanY) {
                let t = (scanY - previous.y) / (point.y - previous.y)
                crossings[found] = previous.x + t * (point.x - previous.x)
                found += 1
            }
            previous = point
        }
        return found
    }

    private func sortCrossings(_ count: Int) {
        for i in 1..<count {
            let value = crossings[i]
            var j = i - 1
            while j >= 0 && crossings[j] > value {
                crossings[j + 1] = crossings[j]
                j -= 1
            }
            crossings[j + 1] = value
        }
    }

    /// Adds `weight` times the covered share of each pixel between `start` and `end` (pixel x spans x..<x+1).
    private func addSpan(from start: Float, to end: Float, weight: Float, clampTo low: Int, _ high: Int) {
        let a = max(start, Float(low))
        let b = min(end, Float(high))
        guard b > a else { return }
        let first = Int(a)
        let last = Int(b)
        if first == last {
            coverage[first] += (b - a) * weight
            return
        }
        coverage[first] += (Float(first + 1) - a) * weight
        var x = first + 1
        while x < last {
            coverage[x] += weight
            x += 1
        }
        if last < high { coverage[last] += (b - Float(last)) * weight }
    }

    /// One box filter pass of radius `radius` over `bounds`, horizontal into scratch, then vertical back. Beyond
    /// the bounds the mask is 0, except beyond the frame's edge, where the edge pixel repeats (lips cut by the
    /// frame's edge stay solid up to it).
    private func boxBlur(radius: Int) {
        let (x0, y0, x1, y1) = bounds
        let window = UInt32(2 * radius + 1)
        let reciprocal = (UInt32(1) << 16) / window + 1
        @inline(__always) func column(_ x: Int) -> Int? {
            let clamped = min(max(x, 0), width - 1)
            return clamped >= x0 && clamped < x1 ? clamped : nil
        }
        @inline(__always) func row(_ y: Int) -> Int? {
            let clamped = min(max(y, 0), height - 1)
            return clamped >= y0 && clamped < y1 ? clamped * width : nil
        }
        for y in y0..<y1 {
            let start = y * width
            var sum: UInt32 = 0
            for x in (x0 - radius)...(x0 + radius) {
                if let c = column(x) { sum += UInt32(pixels[start + c]) }
            }
            for x in x0..<x1 {
                scratch[start + x] = UInt8(min(255, (sum * reciprocal) >> 16))
                if let c = column(x + radius + 1) { sum += UInt32(pixels[start + c]) }
                if let c = column(x - radius) { sum -= UInt32(pixels[start + c]) }
            }
        }
        for x in x0..<x1 { columnSums[x] = 0 }
        for y in (y0 - radius)...(y0 + radius) {
            guard let start = row(y) else { continue }
            for x in x0..<x1 { columnSums[x] += UInt32(scratch[start + x]) }
        }
        for y in y0..<y1 {
            let start = y * width
            for x in x0..<x1 { pixels[start + x] = UInt8(min(255, (columnSums[x] * reciprocal) >> 16)) }
            if let entering = row(y + radius + 1) {
                for x in x0..<x1 { columnSums[x] += UInt32(scratch[entering + x]) }
            }
            if let leaving = row(y - radius) {
                for x in x0..<x1 { columnSums[x] -= UInt32(scratch[leaving + x]) }
            }
        }
    }
}
