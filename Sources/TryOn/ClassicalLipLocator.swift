import HubCore

/// The fallback when no landmarks are available: the shopper stands in the mirror's face guide, the mouth is
/// looked for in the lower part of that region, and lip pixels are told from skin by a chroma "mouth map"
/// (Hsu, Abdel-Mottaleb and Jain, 2002: lips are high in Cr and low in Cb relative to skin). The largest
/// connected blob of the strongest responses becomes the outer contour; the mouth opening is not found.
///
/// Its observations are always low confidence (at most `maxConfidence`), so any landmark-based locator wins and
/// the renderer draws its result faintly at most. Buffers are allocated once per frame size.
package final class ClassicalLipLocator: LipLocator {
    /// Where the face is expected, in frame pixels (the guide drawn on the mirror).
    package var faceGuide: (x: Float, y: Float, width: Float, height: Float)?
    /// The highest confidence this locator reports.
    package var maxConfidence: Float = 0.45
    /// The strong responses' level is the mouth-map value this share of the search region exceeds...
    package var peakShare: Float = 0.03
    /// ...and lip candidates respond with at least this share of it.
    package var levelShare: Float = 0.3

    private var capacity = 0
    private var map: UnsafeMutableBufferPointer<Float> = .init(start: nil, count: 0)
    private var labels: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)
    private var stack: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)
    private var columnTop: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)
    private var columnBottom: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)

    /// `faceGuide` nil means the centre of the frame: a face filling about 40% of its width.
    package init(faceGuide: (x: Float, y: Float, width: Float, height: Float)? = nil) {
        self.faceGuide = faceGuide
    }

    deinit { release() }

    private func release() {
        map.deallocate()
        labels.deallocate()
        stack.deallocate()
        columnTop.deallocate()
        columnBottom.deallocate()
    }

    package var kind: LocatorKind { .classical }

    private func reserve(_ count: Int, columns: Int) {
        guard count > capacity || columns > columnTop.count else { return }
        release()
        capacity = max(count, capacity)
        map = .allocate(capacity: capacity)
        labels = .allocate(capacity: capacity)
        stack = .allocate(capacity: capacity)
        columnTop = .allocate(capacity: max(columns, 1))
        columnBottom = .allocate(capacity: max(columns, 1))
    }

    package func locate(in frame: Frame) -> LipObservation? {
        guard frame.format != .grey, let region = searchRegion(in: frame) else { return nil }
        reserve(region.width * region.height, columns: region.width)
        let response = mouthMap(frame, region)
        guard response.peak > 0 else { return nil }
        let threshold = max(
            strongLevel(response.peak, count: region.width * region.height) * levelShare, 2 * response.mean)
        let blob = largestBlob(above: threshold, width: region.width, height: region.height)
        guard blob.size >= 8 else { return nil }
        guard let contour = contour(of: blob, region) else { return nil }
        // Confidence: how much the blob stands out from the region, capped low.
        let contrast = (contour.response / Float(blob.size)) / max(response.mean, 1e-9)
        let confidence = min(maxConfidence, maxConfidence * min(1, (contrast - 1) / 4))
        return LipObservation(outer: contour.outer, inner: [], confidence: max(0.05, confidence), locator: .classical)
    }

    /// Where the mouth is looked for, in chroma samples (half the frame's resolution): the lower third of the face
    /// guide, around its middle. Nil when that is too small to search.
    private func searchRegion(in frame: Frame) -> (x: Int, y: Int, width: Int, height: Int)? {
        let fallback = (
            x: Float(frame.width) * 0.3, y: Float(frame.height) * 0.15, width: Float(frame.width) * 0.4,
            height: Float(frame.height) * 0.7
        )
        let guide = faceGuide ?? fallback
        let x0 = max(0, Int((guide.x + guide.width * 0.25) / 2))
        let x1 = min(frame.width / 2, Int((guide.x + guide.width * 0.75) / 2))
        let y0 = max(0, Int((guide.y + guide.height * 0.65) / 2))
        let y1 = min(frame.height / 2, Int((guide.y + guide.height * 0.92) / 2))
        guard x1 - x0 >= 4, y1 - y0 >= 4 else { return nil }
        return (x0, y0, x1 - x0, y1 - y0)
    }

    /// Fills `map` with the mouth map over the region's chroma samples, Cr² (Cr² − η Cr/Cb)² with η from the
    /// region's means, and returns its peak and mean.
    private func mouthMap(_ frame: Frame, _ region: (x: Int, y: Int, width: Int, height: Int)) -> (
        peak: Float, mean: Float
    ) {
        let (x0, y0, w, h) = region
        let base = frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let stride = frame.bytesPerRow
        func chroma(_ cx: Int, _ cy: Int) -> (Float, Float) {
            if frame.format == .nv12 {
                let pointer = base + stride * frame.height + cy * stride + 2 * cx
                return (Float(pointer[0]), Float(pointer[1]))
            }
            let pointer = base + (2 * cy) * stride + 4 * cx
            return (Float(pointer[1]), Float(pointer[3]))
        }
        // First pass: Cr² into `map`, Cr/Cb parked in `labels` as bits, and both means.
        var meanSquare: Float = 0
        var meanRatio: Float = 0
        for y in 0..<h {
            for x in 0..<w {
                let (cb, cr) = chroma(x0 + x, y0 + y)
                let crn = cr / 255
                let square = crn * crn
                let ratio = crn / max(cb / 255, 1e-3)
                meanSquare += square
                meanRatio += ratio
                map[y * w + x] = square
                labels[y * w + x] = Int32(bitPattern: ratio.bitPattern)
            }
        }
        let count = Float(w * h)
        let eta = 0.95 * (meanSquare / count) / max(meanRatio / count, 1e-6)
        var peak: Float = 0
        var mean: Float = 0
        for index in 0..<(w * h) {
            let square = map[index]
            let ratio = Float(bitPattern: UInt32(bitPattern: labels[index]))
            let term = square - eta * ratio
            let value = square * term * term
            map[index] = value
            peak = max(peak, value)
            mean += value
        }
        return (peak, mean / count)
    }

    /// The strong responses' level: the mouth-map value that `peakShare` of the region exceeds, found by bisection,
    /// so the whole lip passes however much of the region it fills.
    private func strongLevel(_ peak: Float, count: Int) -> Float {
        var low: Float = 0
        var high = peak
        for _ in 0..<24 {
            let middle = (low + high) / 2
            var above = 0
            for index in 0..<count where map[index] > middle { above += 1 }
            if Float(above) > peakShare * Float(count) { low = middle } else { high = middle }
        }
        return high
    }

    /// Labels the 4-connected blobs of map values above `threshold` and returns the largest one's label and size.
    private func largestBlob(above threshold: Float, width w: Int, height h: Int) -> (label: Int32, size: Int) {
        for index in 0..<(w * h) { labels[index] = map[index] > threshold ? -1 : 0 }
        var best: Int32 = 0
        var bestSize = 0
        var next: Int32 = 1
        for start in 0..<(w * h) where labels[start] == -1 {
            var top = 0
            stack[top] = Int32(start)
            top += 1
            labels[start] = next
            var size = 0
            while top > 0 {
                top -= 1
                let index = Int(stack[top])
                size += 1
                let x = index % w
                let y = index / w
                for neighbour in 0..<4 {
                    let nx = neighbour == 0 ? x - 1 : neighbour == 1 ? x + 1 : x
                    let ny = neighbour == 2 ? y - 1 : neighbour == 3 ? y + 1 : y
                    guard nx >= 0 && nx < w && ny >= 0 && ny < h && labels[ny * w + nx] == -1 else { continue }
                    labels[ny * w + nx] = next
                    stack[top] = Int32(ny * w + nx)
                    top += 1
                }
            }
            if size > bestSize {
                bestSize = size
                best = next
            }
            next += 1
        }
        return (best, bestSize)
    }

    /// The blob's outer contour in frame pixels, from its column extents: the upper edge left to right, the lower
    /// edge back; and the blob's summed response. Nil when the blob is too narrow.
    private func contour(of blob: (label: Int32, size: Int), _ region: (x: Int, y: Int, width: Int, height: Int)) -> (
        outer: [SIMD2<Float>], response: Float
    )? {
        let (x0, y0, w, h) = region
        var first = w
        var last = -1
        var response: Float = 0
        for x in 0..<w {
            columnTop[x] = -1
            columnBottom[x] = -1
        }
        for y in 0..<h {
            for x in 0..<w where labels[y * w + x] == blob.label {
                if columnTop[x] < 0 { columnTop[x] = Int32(y) }
                columnBottom[x] = Int32(y)
                first = min(first, x)
                last = max(last, x)
                response += map[y * w + x]
            }
        }
        guard last - first >= 2 else { return nil }
        let samples = 12
        var upper: [SIMD2<Float>] = []
        var lower: [SIMD2<Float>] = []
        for step in 0...samples {
            let x = first + (last - first) * step / samples
            guard columnTop[x] >= 0 else { continue }
            let px = Float(2 * (x0 + x) + 1)
            upper.append(SIMD2(px, Float(2 * (y0 + Int(columnTop[x])))))
            lower.append(SIMD2(px, Float(2 * (y0 + Int(columnBottom[x]) + 1))))
        }
        guard upper.count >= 3 else { return nil }
        return (upper + lower.reversed(), response)
    }
}
