import Foundation

/// Filters that keep the image's geometry: each pixel from itself or its neighbourhood.
extension LumaImage {
    /// Light on dark becomes dark on light.
    package func inverted() -> LumaImage {
        LumaImage(width: width, height: height, pixels: pixels.map { 255 &- $0 })
    }

    /// Maps the `low`...`high` percentile range of grey levels onto 0...255: low-contrast prints become crisp.
    package func stretched(low: Double = 0.02, high: Double = 0.98) -> LumaImage {
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
    package func binarized(window: Int, offset: Int = 4) -> LumaImage {
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
    package func smoothed() -> LumaImage {
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
    package func sharpened(amount: Int = 2) -> LumaImage {
        let blurred = smoothed().smoothed()
        var output = pixels
        // Integer arithmetic: the value is exact, and the loop runs on every pixel of every sharpened crop.
        pixels.withUnsafeBufferPointer { source in
            blurred.pixels.withUnsafeBufferPointer { blur in
                output.withUnsafeMutableBufferPointer { target in
                    for index in 0..<source.count {
                        let value = Int(source[index]) + amount * (Int(source[index]) - Int(blur[index]))
                        target[index] = UInt8(max(0, min(255, value)))
                    }
                }
            }
        }
        return LumaImage(width: width, height: height, pixels: output)
    }
}
