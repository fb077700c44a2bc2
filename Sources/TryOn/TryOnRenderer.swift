import HubCore

/// Renders a shade on the lips of successive frames of one mirror: smooths the contours over time (One Euro),
/// rasterises an anti-aliased, feathered mask, blends in place, and fades the overlay in and out with the
/// locator's confidence so that an unsure locator never paints skin.
///
/// The overlay is drawn on the frame the observation was computed from. Buffers are allocated for one frame size
/// (again only when the size changes); rendering a frame allocates nothing.
package final class TryOnRenderer {
    package private(set) var mask: LipMask
    private let blender = LipBlender()
    private var smoother: ContourSmoother
    private var lastTime: Double?
    /// The overlay's current strength, 0 (invisible) ... 1.
    package private(set) var strength: Float = 0
    /// Below this confidence the overlay fades out entirely.
    package var minimumConfidence: Float = 0.3
    /// At and above this confidence the overlay is at full strength.
    package var fullConfidence: Float = 0.6
    /// Seconds to fade in fully, and out.
    package var fadeIn = 0.15
    package var fadeOut = 0.3
    /// Feather radius as a share of the mouth's width, and its limits in pixels.
    package var featherShare: Float = 0.02
    package var featherLimits: ClosedRange<Int> = 1...8
    /// The before/after line as a share (0...1) of the frame's width from its left edge: the shade is drawn only
    /// left of it. nil: everywhere.
    package var split: Float?

    package init(width: Int, height: Int, minCutoff: Double = 1.0, beta: Double = 0.02) {
        mask = LipMask(width: width, height: height)
        smoother = ContourSmoother(minCutoff: minCutoff, beta: beta)
    }

    /// What `render` did, for results and metrics.
    package struct Outcome: Sendable, Equatable {
        /// The strength the overlay was drawn at (0: not drawn).
        package var strength: Float
        package var locator: LocatorKind?
        package var confidence: Float
    }

    /// Renders `shade` on `frame` in place. `time` is the frame's capture time in seconds (any epoch), or nil for a
    /// still: then nothing is smoothed or faded, and the strength follows the confidence directly. A nil
    /// observation fades the overlay out on the last known contours; a nil shade draws nothing.
    @discardableResult
    package func render(_ frame: Frame, observation: LipObservation?, shade: PreparedShade?, time: Double?)
        -> Outcome
    {
        if mask.width != frame.width || mask.height != frame.height {
            mask = LipMask(width: frame.width, height: frame.height)
            smoother.reset()
            lastTime = nil
        }
        let target = observation.map { targetStrength($0.confidence) } ?? 0
        if let time {
            let interval = lastTime.map { min(max(time - $0, 1e-3), 0.5) } ?? 0
            lastTime = time
            if let observation { smoother.update(observation, interval: interval) }
            let rate = Float(interval / (target > strength ? fadeIn : fadeOut))
            strength = target > strength ? min(target, strength + rate) : max(target, strength - rate)
        } else {
            smoother.reset()
            if let observation { smoother.update(observation, interval: 0) }
            strength = target
        }
        let outcome = Outcome(
            strength: strength, locator: observation?.locator, confidence: observation?.confidence ?? 0)
        guard let shade, strength > 0, smoother.outer.count >= 3 else {
            mask.clear()
            return Outcome(strength: 0, locator: outcome.locator, confidence: outcome.confidence)
        }
        var minX = Float.infinity
        var maxX = -Float.infinity
        var sum = SIMD2<Float>(0, 0)
        for point in smoother.outer {
            minX = min(minX, point.x)
            maxX = max(maxX, point.x)
            sum += point
        }
        let mouthWidth = maxX - minX
        let feather = (mouthWidth * featherShare).pixel(in: featherLimits, rounded: .toNearestOrAwayFromZero)
        mask.rasterize(outer: smoother.outer, inner: smoother.inner, feather: feather)
        if let split { mask.clearColumns(from: Int((min(max(split, 0), 1) * Float(frame.width)).rounded())) }
        let anchor = LipBlender.Anchor(center: sum / Float(smoother.outer.count), width: mouthWidth)
        blender.blend(frame, mask: mask, shade: shade, strength: strength, anchor: anchor)
        return outcome
    }

    func targetStrength(_ confidence: Float) -> Float {
        guard fullConfidence > minimumConfidence else { return confidence >= minimumConfidence ? 1 : 0 }
        return min(max((confidence - minimumConfidence) / (fullConfidence - minimumConfidence), 0), 1)
    }
}
