import Foundation
import HubCore
import Synchronization

/// Landmarks an external tracker publishes on `mirror.landmarks.<device>`, as the `data` of a CloudEvent.
///
/// ```json
/// {"width": 1280, "height": 720, "confidence": 0.93,
///  "mesh": [[x, y, z], ... 468 points]}                       // MediaPipe face mesh, or
/// {"width": 1280, "height": 720, "confidence": 0.93,
///  "outer": [[x, y], ...], "inner": [[x, y], ...]}          // lip contours (inner may be empty)
/// ```
///
/// Points are pixels of a `width` x `height` image of the mirror's camera (scaled to the frame when it differs);
/// `"normalized": true` says they are 0...1 instead. `confidence` is optional (default 1). A point may lie outside
/// the image (a face at its edge), but by at most one image size: anything further is refused, so no coordinate a
/// tracker sends can overflow a pixel index downstream.
package enum BusLandmarks {
    /// At most this many points per contour.
    package static let maxContourPoints = 256
    /// Largest tracker image side, in pixels.
    package static let maxImageSide = 16384

    /// The observation in `data`, for frames of `frameWidth` x `frameHeight`. Errors say what is wrong.
    package static func parse(_ data: JSONValue, frameWidth: Int, frameHeight: Int) throws(BusLandmarksError)
        -> LipObservation
    {
        guard case .object(let fields) = data else { throw BusLandmarksError("expected a JSON object") }
        let normalized: Bool
        switch fields["normalized"] {
        case nil, .bool(false)?: normalized = false
        case .bool(true)?: normalized = true
        default: throw BusLandmarksError("normalized must be true or false")
        }
        var scaleX: Float = 1
        var scaleY: Float = 1
        if normalized {
            scaleX = Float(frameWidth)
            scaleY = Float(frameHeight)
        } else {
            let sides = 1...Double(maxImageSide)
            guard let width = number(fields["width"]), let height = number(fields["height"]), sides.contains(width),
                sides.contains(height)
            else {
                throw BusLandmarksError(
                    "width and height (the tracker's image size in pixels, 1 to \(maxImageSide)) are required")
            }
            scaleX = Float(frameWidth) / Float(width)
            scaleY = Float(frameHeight) / Float(height)
        }
        var confidence: Float = 1
        if let value = fields["confidence"] {
            guard let number = number(value), (0...1).contains(number) else {
                throw BusLandmarksError("confidence must be a number from 0 to 1")
            }
            confidence = Float(number)
        }
        let frame = SIMD2(Float(frameWidth), Float(frameHeight))
        func points(_ key: String, dimensions: Int, limit: Int) throws(BusLandmarksError) -> [SIMD2<Float>] {
            guard case .array(let rows)? = fields[key] else {
                throw BusLandmarksError("\(key) must be an array of points")
            }
            guard rows.count <= limit else { throw BusLandmarksError("\(key) has more than \(limit) points") }
            var result: [SIMD2<Float>] = []
            result.reserveCapacity(rows.count)
            for (index, row) in rows.enumerated() {
                guard case .array(let values) = row, values.count == dimensions || values.count == 2,
                    let x = number(values[0]), let y = number(values[1]), x.isFinite, y.isFinite
                else {
                    throw BusLandmarksError("\(key)[\(index)] must be [x, y\(dimensions == 3 ? ", z" : "")]")
                }
                let point = SIMD2(Float(x) * scaleX, Float(y) * scaleY)
                guard point.x >= -frame.x, point.x <= 2 * frame.x, point.y >= -frame.y, point.y <= 2 * frame.y else {
                    throw BusLandmarksError(
                        "\(key)[\(index)] (\(x), \(y)) lies further than one image size outside the \(normalized ? "0...1 square" : "image")"
                    )
                }
                result.append(point)
            }
            return result
        }
        if fields["mesh"] != nil {
            let mesh = try points("mesh", dimensions: 3, limit: FaceMeshLips.pointCount)
            guard mesh.count == FaceMeshLips.pointCount else {
                throw BusLandmarksError("mesh must have \(FaceMeshLips.pointCount) points, found \(mesh.count)")
            }
            return LipObservation(
                outer: FaceMeshLips.outer.map { mesh[$0] }, inner: FaceMeshLips.inner.map { mesh[$0] },
                confidence: confidence, locator: .bus)
        }
        let outer = try points("outer", dimensions: 2, limit: maxContourPoints)
        guard outer.count >= 3 else { throw BusLandmarksError("outer needs at least 3 points") }
        let inner = fields["inner"] == nil ? [] : try points("inner", dimensions: 2, limit: maxContourPoints)
        guard inner.isEmpty || inner.count >= 3 else { throw BusLandmarksError("inner needs 0 or at least 3 points") }
        return LipObservation(outer: outer, inner: inner, confidence: confidence, locator: .bus)
    }

    /// What is wrong with landmarks in `data` whatever the frame, or nil: for checking them when they are
    /// published. (Every check of `parse` is relative to the frame, so any frame size finds the same problems.)
    package static func problem(with data: JSONValue?) -> String? {
        guard let data else { return "landmarks are required in data" }
        do {
            _ = try parse(data, frameWidth: 1280, frameHeight: 720)
            return nil
        } catch {
            return error.description
        }
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let number)?: return Double(number)
        case .double(let number)?: return number
        default: return nil
        }
    }
}

/// Landmarks on the bus that cannot be used, and why.
package struct BusLandmarksError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// The latest landmarks received over the bus for one mirror; the bus side writes, the pipeline reads.
package final class LandmarkInbox: Sendable {
    // Mutex: the bus subscription task writes while the pipeline's task reads.
    private let latest = Mutex<(JSONValue, ContinuousClock.Instant)?>(nil)

    package init() {}

    /// Stores an event's `data`; it is validated when a frame uses it, against that frame's size.
    package func receive(_ data: JSONValue) { latest.withLock { $0 = (data, .now) } }

    func take() -> (JSONValue, ContinuousClock.Instant)? { latest.withLock { $0 } }
}

/// Lips from landmarks an external tracker sends over the bus. Landmarks older than `maxAge` count as none;
/// younger ones lose confidence with age, since the face has moved on since.
package final class BusLipLocator: LipLocator {
    package let inbox: LandmarkInbox
    package var maxAge: Duration
    /// The last problem with received landmarks, for the device's status (cleared by good ones).
    package private(set) var lastProblem: String?

    package init(inbox: LandmarkInbox, maxAge: Duration = .milliseconds(500)) {
        self.inbox = inbox
        self.maxAge = maxAge
    }

    package var kind: LocatorKind { .bus }

    package func locate(in frame: Frame) -> LipObservation? {
        guard let (data, received) = inbox.take() else { return nil }
        let age = ContinuousClock.now - received
        guard age < maxAge else { return nil }
        do {
            var observation = try BusLandmarks.parse(data, frameWidth: frame.width, frameHeight: frame.height)
            lastProblem = nil
            let fraction = Float(age / maxAge)
            observation.confidence *= 1 - 0.5 * fraction
            return observation
        } catch {
            lastProblem = "landmarks from the bus: \(error)"
            return nil
        }
    }
}
