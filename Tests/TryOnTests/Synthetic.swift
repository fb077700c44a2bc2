import Capture
import Foundation
import HubCore
import TryOn

/// Small generated images for renderer and locator tests: a skin-coloured face with lips of a known shape.
enum Synthetic {
    /// An ellipse as a closed contour of `count` points.
    static func ellipse(center: SIMD2<Float>, radii: SIMD2<Float>, count: Int = 40) -> [SIMD2<Float>] {
        (0..<count).map { index in
            let angle = Float(index) / Float(count) * 2 * .pi
            return center + radii * SIMD2(cos(angle), sin(angle))
        }
    }

    /// Even-odd point-in-polygon test at a pixel centre.
    static func inside(_ point: SIMD2<Float>, _ contour: [SIMD2<Float>]) -> Bool {
        var result = false
        var previous = contour[contour.count - 1]
        for current in contour {
            if (current.y > point.y) != (previous.y > point.y) {
                let x = current.x + (point.y - current.y) / (previous.y - current.y) * (previous.x - current.x)
                if point.x < x { result.toggle() }
            }
            previous = current
        }
        return result
    }

    /// The lips of the synthetic face: an outer ellipse minus a thin mouth opening.
    static func lips(width: Int, height: Int) -> (outer: [SIMD2<Float>], inner: [SIMD2<Float>]) {
        let center = SIMD2(Float(width) / 2, Float(height) * 0.68)
        let outer = ellipse(center: center, radii: SIMD2(Float(width) * 0.12, Float(height) * 0.06))
        let inner = ellipse(center: center, radii: SIMD2(Float(width) * 0.08, Float(height) * 0.012))
        return (outer, inner)
    }

    /// A face: background, a skin ellipse, lips with a luma texture (stripes and a highlight), and a dark mouth
    /// opening. Deterministic noise keeps it from being flat.
    static func face(width: Int = 320, height: Int = 240) -> Frame {
        let (outer, inner) = lips(width: width, height: height)
        let faceCenter = SIMD2(Float(width) / 2, Float(height) / 2)
        let faceContour = ellipse(center: faceCenter, radii: SIMD2(Float(width) * 0.3, Float(height) * 0.45))
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var seed: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                seed = seed &* 1_103_515_245 &+ 12345
                let noise = Int((seed >> 16) % 9) - 4
                let point = SIMD2(Float(x) + 0.5, Float(y) + 0.5)
                var color: (Int, Int, Int) = (60, 80, 110)
                if inside(point, faceContour) { color = (224, 172, 145) }
                if inside(point, outer) {
                    let stripe = (x / 3) % 2 == 0 ? 12 : -12
                    let highlight = abs(x - width / 2) < 10 && y < Int(Float(height) * 0.66) ? 50 : 0
                    color = (170 + stripe + highlight, 90 + stripe + highlight, 95 + stripe + highlight)
                }
                if inside(point, inner) { color = (40, 20, 25) }
                let p = (y * width + x) * 3
                rgb[p] = UInt8(clamping: color.0 + noise)
                rgb[p + 1] = UInt8(clamping: color.1 + noise)
                rgb[p + 2] = UInt8(clamping: color.2 + noise)
            }
        }
        return ColorImage.nv12(rgb: rgb, width: width, height: height)
    }

    /// Intersection over union of two binary masks given as predicates over the frame's pixels.
    static func iou(width: Int, height: Int, _ a: (Int, Int) -> Bool, _ b: (Int, Int) -> Bool) -> Double {
        var both = 0
        var either = 0
        for y in 0..<height {
            for x in 0..<width {
                let inA = a(x, y)
                let inB = b(x, y)
                if inA && inB { both += 1 }
                if inA || inB { either += 1 }
            }
        }
        return either == 0 ? 0 : Double(both) / Double(either)
    }

    static func shade(_ sku: String = "T-1", color: String = "#B1242E", finish: Finish = .satin, opacity: Double = 0.8)
        -> PreparedShade
    {
        PreparedShade(Shade(sku: sku, name: "Test", brand: "Test", color: color, finish: finish, opacity: opacity))!
    }
}
