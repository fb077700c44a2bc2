import Foundation

/// A rectangle in frame pixels.
package struct PixelRect: Sendable, Equatable, CustomStringConvertible {
    /// Left edge.
    package var x: Int
    /// Top edge.
    package var y: Int
    /// Width in pixels.
    package var width: Int
    /// Height in pixels.
    package var height: Int

    package init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The part that lies inside a `width` x `height` image.
    package func clamped(width limitWidth: Int, height limitHeight: Int) -> PixelRect {
        let left = max(0, min(limitWidth, x))
        let top = max(0, min(limitHeight, y))
        let right = max(left, min(limitWidth, x + width))
        let bottom = max(top, min(limitHeight, y + height))
        return PixelRect(x: left, y: top, width: right - left, height: bottom - top)
    }

    /// Grown by `margin` pixels on every side.
    package func expanded(by margin: Int) -> PixelRect {
        expanded(horizontally: margin, vertically: margin)
    }

    /// Grown by `dx` pixels on the left and right and `dy` pixels at the top and bottom.
    package func expanded(horizontally dx: Int, vertically dy: Int) -> PixelRect {
        PixelRect(x: x - dx, y: y - dy, width: width + 2 * dx, height: height + 2 * dy)
    }

    /// The smallest rectangle holding both.
    package func union(_ other: PixelRect) -> PixelRect {
        let left = min(x, other.x)
        let top = min(y, other.y)
        return PixelRect(
            x: left, y: top, width: max(x + width, other.x + other.width) - left,
            height: max(y + height, other.y + other.height) - top)
    }

    /// Whether the two share at least one pixel.
    package func intersects(_ other: PixelRect) -> Bool {
        x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
    }

    /// Moved by `dx` pixels right and `dy` pixels down.
    package func moved(by dx: Int, _ dy: Int) -> PixelRect {
        PixelRect(x: x + dx, y: y + dy, width: width, height: height)
    }

    /// Whether the point lies inside.
    package func contains(_ px: Int, _ py: Int) -> Bool {
        px >= x && py >= y && px < x + width && py < y + height
    }

    package var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// A projective map (x', y') = ((a·x + b·y + c) / (g·x + h·y + 1), (d·x + e·y + f) / (g·x + h·y + 1)).
package struct Homography: Sendable, Equatable {
    /// a, b, c, d, e, f, g, h.
    package var coefficients: [Double]

    /// The map taking each of four points to its partner; nil when three of them are on one line.
    package init?(from source: [(Double, Double)], to target: [(Double, Double)]) {
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
    package func apply(_ x: Double, _ y: Double) -> (Double, Double) {
        let c = coefficients
        let w = c[6] * x + c[7] * y + 1
        return ((c[0] * x + c[1] * y + c[2]) / w, (c[3] * x + c[4] * y + c[5]) / w)
    }
}

/// Maps a point of a derived image (crop, scaled, rotated) back to the frame: x' = a·x + b·y + tx, y' = c·x + d·y + ty.
package struct AffineMap: Sendable, Equatable {
    /// The matrix entries and the translation.
    package var a, b, c, d, tx, ty: Double

    package init(a: Double, b: Double, c: Double, d: Double, tx: Double, ty: Double) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.tx = tx
        self.ty = ty
    }

    /// Leaves points where they are.
    package static let identity = AffineMap(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    /// Scales by `factor` (a derived image that is `factor` times the size of its source).
    package static func scale(_ factor: Double) -> AffineMap {
        AffineMap(a: 1 / factor, b: 0, c: 0, d: 1 / factor, tx: 0, ty: 0)
    }

    /// Moves points by (x, y): a crop at (x, y) back to its frame.
    package static func offset(_ x: Int, _ y: Int) -> AffineMap {
        AffineMap(a: 1, b: 0, c: 0, d: 1, tx: Double(x), ty: Double(y))
    }

    /// The image of a point.
    package func apply(_ x: Double, _ y: Double) -> (Double, Double) {
        (a * x + b * y + tx, c * x + d * y + ty)
    }

    /// First `self`, then `outer`: a point of the innermost image all the way to the frame.
    package func then(_ outer: AffineMap) -> AffineMap {
        AffineMap(
            a: outer.a * a + outer.b * c, b: outer.a * b + outer.b * d, c: outer.c * a + outer.d * c,
            d: outer.c * b + outer.d * d, tx: outer.a * tx + outer.b * ty + outer.tx,
            ty: outer.c * tx + outer.d * ty + outer.ty)
    }
}
