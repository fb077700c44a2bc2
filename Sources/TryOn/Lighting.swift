import Foundation
import HubCore

/// Relights a whole frame in place for a lighting preset: an exposure and tone curve on luma and a colour
/// temperature shift (with a saturation change) on chroma, each a 256-entry table, so a 1280x720 frame costs
/// 1.4 million table look-ups and no arithmetic. Neutral leaves the frame untouched.
package final class LightingTransform {
    package private(set) var preset: LightingPreset = .neutral
    private let luma = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)
    private let blue = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)
    private let red = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)

    /// What a preset does: exposure gain on luma above black, a gamma on the result, a shift of Cb and Cr in code
    /// values (a warmer light lowers Cb and raises Cr) and a saturation factor.
    package struct Curve: Sendable, Equatable {
        package var gain: Double
        package var gamma: Double
        package var blueShift: Double
        package var redShift: Double
        package var saturation: Double
    }

    /// Daylight is bright and slightly cool (about 6500 K), office light flat and a little green (fluorescent,
    /// about 4000 K), evening light dim and warm (about 2700 K).
    package static func curve(_ preset: LightingPreset) -> Curve {
        switch preset {
        case .neutral: Curve(gain: 1, gamma: 1, blueShift: 0, redShift: 0, saturation: 1)
        case .daylight: Curve(gain: 1.1, gamma: 0.95, blueShift: 6, redShift: -4, saturation: 1.05)
        case .office: Curve(gain: 1.0, gamma: 0.9, blueShift: -3, redShift: -7, saturation: 0.88)
        case .evening: Curve(gain: 0.8, gamma: 1.1, blueShift: -16, redShift: 12, saturation: 1.0)
        }
    }

    package init() {
        for value in 0..<256 {
            luma[value] = UInt8(value)
            blue[value] = UInt8(value)
            red[value] = UInt8(value)
        }
    }

    deinit {
        luma.deallocate()
        blue.deallocate()
        red.deallocate()
    }

    /// Chooses the preset; its tables are made here, not per frame.
    package func set(_ preset: LightingPreset) {
        guard preset != self.preset else { return }
        self.preset = preset
        let curve = Self.curve(preset)
        for value in 0..<256 {
            // Limited-range luma (16...235): the curve works on 0...1 above black.
            let normalized = max(0, Double(value) - 16) / 219
            let lit = pow(min(normalized * curve.gain, 1), curve.gamma)
            luma[value] = Self.clamp(value < 16 ? Double(value) : 16 + lit * 219)
            let offset = Double(value) - 128
            blue[value] = Self.clamp(128 + offset * curve.saturation + curve.blueShift)
            red[value] = Self.clamp(128 + offset * curve.saturation + curve.redShift)
        }
    }

    private static func clamp(_ value: Double) -> UInt8 { UInt8(min(max(value.rounded(), 0), 255)) }

    /// Relights `frame` in place (NV12 or YUYV; grey frames only in luma).
    package func apply(to frame: Frame) {
        guard preset != .neutral else { return }
        let base = frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let stride = frame.bytesPerRow
        let luma = self.luma.baseAddress!
        let blue = self.blue.baseAddress!
        let red = self.red.baseAddress!
        switch frame.format {
        case .grey, .nv12:
            for y in 0..<frame.height {
                let row = base + y * stride
                for x in 0..<frame.width { row[x] = luma[Int(row[x])] }
            }
            guard frame.format == .nv12 else { return }
            let chroma = base + stride * frame.height
            for y in 0..<(frame.height + 1) / 2 {
                let row = chroma + y * stride
                var x = 0
                while x + 1 < frame.width {
                    row[x] = blue[Int(row[x])]
                    row[x + 1] = red[Int(row[x + 1])]
                    x += 2
                }
            }
        case .yuyv:
            for y in 0..<frame.height {
                let row = base + y * stride
                var x = 0
                while x + 3 < frame.width * 2 {
                    row[x] = luma[Int(row[x])]
                    row[x + 1] = blue[Int(row[x + 1])]
                    row[x + 2] = luma[Int(row[x + 2])]
                    row[x + 3] = red[Int(row[x + 3])]
                    x += 4
                }
            }
        }
    }
}
