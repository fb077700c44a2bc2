import Foundation
import HubCore

/// A place in a frame where a code may be: dense, strong edges.
package struct CandidateRegion: Sendable, Equatable {
    /// In frame pixels.
    package var rect: PixelRect
    /// Grid cells (of `RegionFinder.cellSize` pixels) that make it up: a size and confidence measure.
    package var cells: Int
    /// Direction of the dominant gradient in radians (0 = across vertical bars), from -π/2 to π/2.
    package var angle: Double
    /// 0...1: how much the edges share one direction. 1D barcodes are near 1, QR codes near 0.
    package var coherence: Double
}

/// A cheap detector of code-like regions: gradient energy on a subsampled luma grid.
///
/// Codes are areas where nearly every pixel sits on a strong edge; object outlines and texture give
/// thin lines or weak edges. The threshold follows the frame's own noise (a multiple of the median
/// gradient), so sensor noise does not light up the whole frame. Reads a quarter of the pixels.
package struct RegionFinder: Sendable {
    /// Side of a grid cell in frame pixels.
    package var cellSize = 16
    /// Fraction of a cell's samples that must be on a strong edge.
    package var density = 0.22
    /// Cells a region needs at least.
    package var minCells = 3
    /// The most regions returned, largest first.
    package var maxRegions = 4

    package init(maxRegions: Int = 4) { self.maxRegions = maxRegions }

    /// The frame's candidate regions, largest first.
    package func regions(in frame: Frame) -> [CandidateRegion] {
        guard let luma = frame.lumaPlane else { return [] }
        let step = 2
        let gridWidth = frame.width / step - 1
        let gridHeight = frame.height / step - 1
        guard gridWidth > 4, gridHeight > 4 else { return [] }
        let stride = frame.bytesPerRow
        // Gradient magnitudes on the sample grid, and their histogram for the noise-relative threshold.
        var gradients = [UInt8](repeating: 0, count: gridWidth * gridHeight)
        var signedX = [Int16](repeating: 0, count: gridWidth * gridHeight)
        var signedY = [Int16](repeating: 0, count: gridWidth * gridHeight)
        var histogram = [Int](repeating: 0, count: 256)
        luma.withMemoryRebound(to: UInt8.self) { pixels in
            gradients.withUnsafeMutableBufferPointer { magnitude in
                signedX.withUnsafeMutableBufferPointer { gxOut in
                    signedY.withUnsafeMutableBufferPointer { gyOut in
                        histogram.withUnsafeMutableBufferPointer { counts in
                            for gy in 0..<gridHeight {
                                let row = (gy * step + 1) * stride + 1
                                for gx in 0..<gridWidth {
                                    // Central differences: together the samples see every edge, and both
                                    // components are taken at the same point, so the direction is right.
                                    let p = row + gx * step
                                    let dx = Int(pixels[p + 1]) - Int(pixels[p - 1])
                                    let dy = Int(pixels[p + stride]) - Int(pixels[p - stride])
                                    let value = min(255, abs(dx) + abs(dy))
                                    let index = gy * gridWidth + gx
                                    magnitude[index] = UInt8(value)
                                    gxOut[index] = Int16(dx)
                                    gyOut[index] = Int16(dy)
                                    counts[value] += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        var median = 0
        var seen = 0
        while median < 255 && seen + histogram[median] < gradients.count / 2 {
            seen += histogram[median]
            median += 1
        }
        let threshold = max(8, min(70, median * 2 + 3))

        let samplesPerCell = cellSize / step
        let cellsX = gridWidth / samplesPerCell
        let cellsY = gridHeight / samplesPerCell
        guard cellsX > 0, cellsY > 0 else { return [] }
        var strong = [Bool](repeating: false, count: cellsX * cellsY)
        var tensors = [SIMD3<Double>](repeating: .zero, count: cellsX * cellsY)
        let needed = Int(Double(samplesPerCell * samplesPerCell) * density)
        for cy in 0..<cellsY {
            for cx in 0..<cellsX {
                var count = 0
                var tensor = SIMD3<Double>.zero
                for sy in 0..<samplesPerCell {
                    let base = (cy * samplesPerCell + sy) * gridWidth + cx * samplesPerCell
                    for sx in 0..<samplesPerCell where Int(gradients[base + sx]) > threshold {
                        count += 1
                        let dx = Double(signedX[base + sx])
                        let dy = Double(signedY[base + sx])
                        tensor += SIMD3(dx * dx, dy * dy, dx * dy)
                    }
                }
                strong[cy * cellsX + cx] = count >= needed
                tensors[cy * cellsX + cx] = tensor
            }
        }
        return components(strong, tensors, cellsX, cellsY, frame: frame)
    }

    /// Connected groups of strong cells (8-neighbourhood) as regions.
    private func components(
        _ strong: [Bool], _ tensors: [SIMD3<Double>], _ cellsX: Int, _ cellsY: Int, frame: Frame
    ) -> [CandidateRegion] {
        var label = [Int](repeating: -1, count: strong.count)
        var regions: [CandidateRegion] = []
        var stack: [Int] = []
        for start in 0..<strong.count where strong[start] && label[start] < 0 {
            label[start] = start
            stack.append(start)
            var minX = Int.max
            var minY = Int.max
            var maxX = 0
            var maxY = 0
            var cells = 0
            var tensor = SIMD3<Double>.zero
            while let cell = stack.popLast() {
                let x = cell % cellsX
                let y = cell / cellsX
                cells += 1
                tensor += tensors[cell]
                minX = min(minX, x)
                maxX = max(maxX, x)
                minY = min(minY, y)
                maxY = max(maxY, y)
                for ny in max(0, y - 1)...min(cellsY - 1, y + 1) {
                    for nx in max(0, x - 1)...min(cellsX - 1, x + 1) {
                        let next = ny * cellsX + nx
                        if strong[next] && label[next] < 0 {
                            label[next] = start
                            stack.append(next)
                        }
                    }
                }
            }
            guard cells >= minCells else { continue }
            let (xx, yy, xy) = (tensor.x, tensor.y, tensor.z)
            let spread = sqrt((xx - yy) * (xx - yy) + 4 * xy * xy)
            let rect = PixelRect(
                x: minX * cellSize, y: minY * cellSize, width: (maxX - minX + 1) * cellSize,
                height: (maxY - minY + 1) * cellSize)
            regions.append(
                CandidateRegion(
                    rect: rect.clamped(width: frame.width, height: frame.height), cells: cells,
                    angle: 0.5 * atan2(2 * xy, xx - yy), coherence: xx + yy > 0 ? spread / (xx + yy) : 0))
        }
        return Array(regions.sorted { $0.cells > $1.cells }.prefix(maxRegions))
    }
}
