import Foundation

/// Colour conversions the mirror needs: sRGB ↔ full-range YCbCr (BT.601, as JPEG and most UVC cameras use),
/// sRGB → CIE L*a*b* (D65), and the CIEDE2000 colour difference used to check rendered shades.
package enum ColorMath {
    /// Full-range BT.601 YCbCr of an sRGB colour (each 0...255), unrounded.
    package static func ycbcr(red: Double, green: Double, blue: Double) -> SIMD3<Double> {
        let y = 0.299 * red + 0.587 * green + 0.114 * blue
        let cb = 128 - 0.168_736 * red - 0.331_264 * green + 0.5 * blue
        let cr = 128 + 0.5 * red - 0.418_688 * green - 0.081_312 * blue
        return SIMD3(y, cb, cr)
    }

    /// sRGB (each 0...255, unclamped) of a full-range BT.601 YCbCr colour.
    package static func rgb(y: Double, cb: Double, cr: Double) -> SIMD3<Double> {
        let u = cb - 128
        let v = cr - 128
        return SIMD3(y + 1.402 * v, y - 0.344_136 * u - 0.714_136 * v, y + 1.772 * u)
    }

    /// CIE L*a*b* (D65 white) of an sRGB colour (each 0...255).
    package static func lab(_ rgb: SIMD3<Double>) -> SIMD3<Double> {
        func linear(_ c: Double) -> Double {
            let v = min(max(c / 255, 0), 1)
            return v <= 0.040_45 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        let r = linear(rgb.x)
        let g = linear(rgb.y)
        let b = linear(rgb.z)
        let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47
        let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b
        let z = (0.019_333_9 * r + 0.119_192_0 * g + 0.950_304_1 * b) / 1.088_83
        func f(_ t: Double) -> Double { t > 216.0 / 24389.0 ? cbrt(t) : (24389.0 / 27.0 * t + 16) / 116 }
        let fx = f(x)
        let fy = f(y)
        let fz = f(z)
        return SIMD3(116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// The CIEDE2000 difference ΔE₀₀ between two L*a*b* colours (kL = kC = kH = 1).
    package static func deltaE2000(_ lab1: SIMD3<Double>, _ lab2: SIMD3<Double>) -> Double {
        let (l1, a1, b1) = (lab1.x, lab1.y, lab1.z)
        let (l2, a2, b2) = (lab2.x, lab2.y, lab2.z)
        let c1 = (a1 * a1 + b1 * b1).squareRoot()
        let c2 = (a2 * a2 + b2 * b2).squareRoot()
        let cMean = (c1 + c2) / 2
        let c7 = pow(cMean, 7)
        let g = 0.5 * (1 - (c7 / (c7 + pow(25, 7))).squareRoot())
        let a1p = (1 + g) * a1
        let a2p = (1 + g) * a2
        let c1p = (a1p * a1p + b1 * b1).squareRoot()
        let c2p = (a2p * a2p + b2 * b2).squareRoot()
        func hue(_ b: Double, _ a: Double) -> Double {
            if a == 0 && b == 0 { return 0 }
            let h = atan2(b, a) * 180 / .pi
            return h < 0 ? h + 360 : h
        }
        let h1p = hue(b1, a1p)
        let h2p = hue(b2, a2p)
        let dLp = l2 - l1
        let dCp = c2p - c1p
        var dhp = 0.0
        if c1p * c2p != 0 {
            dhp = h2p - h1p
            if dhp > 180 { dhp -= 360 } else if dhp < -180 { dhp += 360 }
        }
        let dHp = 2 * (c1p * c2p).squareRoot() * sin(dhp * .pi / 360)
        let lMean = (l1 + l2) / 2
        let cpMean = (c1p + c2p) / 2
        var hpMean = h1p + h2p
        if c1p * c2p != 0 {
            if abs(h1p - h2p) > 180 { hpMean += h1p + h2p < 360 ? 360 : -360 }
            hpMean /= 2
        }
        let t =
            1 - 0.17 * cos((hpMean - 30) * .pi / 180) + 0.24 * cos(2 * hpMean * .pi / 180)
            + 0.32 * cos((3 * hpMean + 6) * .pi / 180) - 0.20 * cos((4 * hpMean - 63) * .pi / 180)
        let dTheta = 30 * exp(-pow((hpMean - 275) / 25, 2))
        let cp7 = pow(cpMean, 7)
        let rc = 2 * (cp7 / (cp7 + pow(25, 7))).squareRoot()
        let l50 = (lMean - 50) * (lMean - 50)
        let sl = 1 + 0.015 * l50 / (20 + l50).squareRoot()
        let sc = 1 + 0.045 * cpMean
        let sh = 1 + 0.015 * cpMean * t
        let rt = -sin(2 * dTheta * .pi / 180) * rc
        let termL = dLp / sl
        let termC = dCp / sc
        let termH = dHp / sh
        return (termL * termL + termC * termC + termH * termH + rt * termC * termH).squareRoot()
    }
}
