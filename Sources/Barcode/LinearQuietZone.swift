/// The light margin a short retail code needs beside its guard bars, checked on the pixels zbar read it from.
///
/// UPC-E (51 modules) and EAN-8 (67) can be read out of part of a longer code: a blurred EAN-13's left half has
/// guard-like bars where a UPC-E would end, and its check digit passes one time in ten. zbar does not check the
/// margins, so such a read is a wrong product. A real UPC-E or EAN-8 has at least 7 light modules beyond each
/// guard (GS1 General Specifications); a fragment has the longer code's bars there.
enum LinearQuietZone {
    /// A packed 8-bit plane that zbar read.
    struct Plane {
        var pixels: UnsafePointer<UInt8>
        var width: Int
        var height: Int
    }

    /// Whether the read's margins are light, or cannot be judged; false for a UPC-E or EAN-8 read by one scan line
    /// only. `points` are zbar's: one per scan line that read the symbol, where that line's read ended (scan lines
    /// run both ways, so the two ends of the code).
    static func holds(for symbology: Symbology, read points: [[Int]], in plane: Plane) -> Bool {
        let modules: Double
        switch symbology {
        case .upce: modules = 51
        case .ean8: modules = 67
        default: return true
        }
        // One scan line's read shows one end and no length: not trusted for these short codes (a real one is many
        // lines tall, and the every-line reads give it more).
        guard points.count >= 2 else { return false }
        // Rows read it (bars upright) when its points take fewer x than y values.
        let horizontal = Set(points.map { $0[0] }).count <= Set(points.map { $0[1] }).count
        let along = points.map { horizontal ? $0[0] : $0[1] }
        let across = points.map { horizontal ? $0[1] : $0[0] }
        let (start, end) = (along.min()!, along.max()!)
        // Read one way only: one end known, the length not.
        guard Double(end - start) >= modules else { return true }
        let module = Double(end - start) / modules
        let lines = Array(Set(across)).sorted()
        func level(_ position: Int) -> Int? {
            let limit = horizontal ? plane.width : plane.height
            guard position >= 0, position < limit else { return nil }
            var sum = 0
            for line in lines {
                let (x, y) = horizontal ? (position, line) : (line, position)
                guard x >= 0, y >= 0, x < plane.width, y < plane.height else { return nil }
                sum += Int(plane.pixels[y * plane.width + x])
            }
            return sum / lines.count
        }
        let inside = (start...end).compactMap(level).sorted()
        guard inside.count >= 8 else { return true }
        let dark = inside[inside.count / 20]
        let light = inside[inside.count * 19 / 20]
        guard light - dark >= 24 else { return true }
        // From 2 modules beyond the guard (blur spills that far) to 6; a margin off the image is not judged.
        for side in [-1, 1] {
            let edge = side < 0 ? start : end
            let near = edge + side * Int((4 * module).rounded())
            let far = edge + side * Int((8 * module).rounded())
            let zone = stride(from: near, through: far, by: side).compactMap(level)
            if let darkest = zone.min(), darkest < (dark + light) / 2 { return false }
        }
        return true
    }
}
