import Foundation
import HubCore

/// A way of preparing an image before zbar reads it, tried when zbar alone finds nothing in a region.
package enum DecodeStrategy: String, Sendable, CaseIterable, Codable {
    /// zbar on the frame as it is.
    case plain
    /// Light on dark printed codes (zbar reads only dark on light).
    case inverted
    /// Contrast stretched: faint prints, low light.
    case stretched
    /// Unsharp mask: out-of-focus and motion-blurred codes.
    case sharpened
    /// Adaptive threshold: glare and uneven light.
    case binarized
    /// A 2D code seen at an angle mapped back onto a square (perspective).
    case rectified
    /// Enlarged 2–3x: codes with modules of about two pixels.
    case upscaled
    /// Turned so 1D bars stand upright: steep 1D angles, which zbar's horizontal and vertical scan lines miss.
    case rotated
    /// Resampled onto its module grid, 4 pixels a module: small square-on 2D codes whose modules are 1–3 pixels of
    /// uneven width (label printers, phone screens at odd zoom), which zxing-cpp's detectors misjudge (`ModuleGrid`).
    case gridded

    /// The strategies that pay on the decode corpus (docs/decoding.md), in the order they are tried: by codes read
    /// per CPU millisecond in the release build (`stretched` reads most; `rotated` and `rectified` cost nothing where
    /// their gates say no; `binarized` reads least; `gridded` last, for the few small codes nothing else reads).
    package static let recommended: [DecodeStrategy] = [
        .stretched, .rotated, .rectified, .inverted, .sharpened, .upscaled, .binarized, .gridded,
    ]

    /// Parses configured names; the error lists the known ones.
    package static func parse(_ names: [String]) throws(BarcodeError) -> [DecodeStrategy] {
        try names.map { name throws(BarcodeError) in
            guard let strategy = DecodeStrategy(rawValue: name), strategy != .plain else {
                let known = allCases.filter { $0 != .plain }.map(\.rawValue).joined(separator: ", ")
                throw BarcodeError("unknown decode strategy '\(name)' (known: \(known))")
            }
            return strategy
        }
    }
}

/// Which engine reads a device's QR codes on the whole frame; both can (docs/decoding.md has the figures). 1D
/// codes are zbar's either way (`Symbology.zxingReads`).
package enum FirstEngine: String, Sendable, CaseIterable, Codable {
    /// zbar reads QR and 1D on the whole frame; zxing-cpp only the symbologies zbar cannot read.
    case zbar
    /// zxing-cpp reads QR and the 2D codes on the whole frame, zbar 1D codes; in the regions left unread, zbar
    /// reads QR too.
    case zxing
}

/// zbar, zxing-cpp and the decode strategies, for one pipeline (not thread-safe).
///
/// The engines read the whole frame first: zxing-cpp for DataMatrix, PDF417, Aztec and Micro QR (zbar reads
/// none of them), zbar for 1D codes, and for QR codes whichever `firstEngine` says. When strategies are enabled,
/// a cheap detector (`RegionFinder`) then looks for code-like regions left unread, and each such region is
/// cropped and tried with the strategies in order until one reads it: zbar reads its symbologies on the prepared
/// crop, zxing-cpp the ones only it reads. With `regionsOnly` no engine reads the whole frame, only the detected
/// regions: frames without anything code-like cost only the detector.
package final class BarcodeReader {
    /// zbar, for the symbologies it reads; nil when the device has none of them.
    package let scanner: BarcodeScanner?
    /// zxing-cpp on the whole frame; nil when it has nothing to read there.
    package let zxing: ZXingScanner?
    /// zxing-cpp on prepared crops, for the symbologies only it reads; nil when the device has none.
    private let zxingCrops: ZXingScanner?
    /// Who reads QR and 1D codes on the whole frame.
    package let firstEngine: FirstEngine
    /// Tried in this order on each unread region.
    package var strategies: [DecodeStrategy]
    /// The detector of code-like regions.
    package var finder = RegionFinder(maxRegions: 8)
    /// Read only detected regions, never the whole frame.
    package var regionsOnly: Bool
    /// Strategy attempts (an engine runs on a prepared crop) made so far, for measurements.
    package private(set) var attempts = 0
    /// zbar reads the whole frame on every `wholeFrameLineSpacing`-th row and column; every region the frame leaves
    /// unread is then read on every line of its crop before any strategy, so a code the spaced lines step over is
    /// still read where the region finder sees it (docs/decoding.md has the figures).
    package var wholeFrameLineSpacing = 3
    /// How many of the finder's regions (largest first) get the strategies; the finder returns more
    /// (`RegionFinder.maxRegions`), and every one of them gets zbar's every-line read.
    package var strategyRegions = 4

    /// The engine that reads QR and 1D codes first unless a caller says otherwise (docs/decoding.md says why).
    package static let defaultFirstEngine = FirstEngine.zbar

    package init(
        symbologies: [Symbology], strategies: [DecodeStrategy] = DecodeStrategy.recommended, regionsOnly: Bool = false,
        recycleInterval: Int = 500, firstEngine: FirstEngine = defaultFirstEngine
    ) throws(BarcodeError) {
        guard !symbologies.isEmpty else { throw BarcodeError("no symbologies enabled") }
        let zbarReads = symbologies.filter { !$0.needsZXing }
        let onlyZXing = symbologies.filter(\.needsZXing)
        scanner =
            zbarReads.isEmpty ? nil : try BarcodeScanner(symbologies: zbarReads, recycleInterval: recycleInterval)
        let wholeFrame = firstEngine == .zxing ? symbologies.filter(\.zxingReads) : onlyZXing
        zxing = wholeFrame.isEmpty ? nil : try ZXingScanner(symbologies: wholeFrame)
        zxingCrops =
            onlyZXing.isEmpty ? nil : (wholeFrame == onlyZXing ? zxing : try ZXingScanner(symbologies: onlyZXing))
        self.firstEngine = firstEngine
        self.strategies = strategies.filter { $0 != .plain }
        self.regionsOnly = regionsOnly
    }

    /// Every code found in the frame. Strategies stop being tried once `deadline` has passed.
    package func read(_ frame: Frame, deadline: ContinuousClock.Instant? = nil) throws(BarcodeError) -> [DecodedSymbol]
    {
        var found: [DecodedSymbol] = []
        if !regionsOnly {
            if let zxing { found = try zxing.scan(frame) }
            if let scanner {
                var symbols = try scanner.scan(
                    frame, skippingQR: firstEngine == .zxing, lineSpacing: wholeFrameLineSpacing)
                // A 1D read by a single spaced line is not trusted (a real code crosses several lines, a lone line can
                // misread a neighbouring pattern): the frame is then read on every line, as without spacing.
                if wholeFrameLineSpacing > 1 && symbols.contains(where: { $0.symbology != .qr && $0.quality < 2 }) {
                    symbols = try scanner.scan(frame, skippingQR: firstEngine == .zxing)
                }
                Self.merge(symbols, into: &found)
            }
            if strategies.isEmpty && firstEngine == .zbar && wholeFrameLineSpacing <= 1 { return found }
            // A frame that yielded a code is done: the regions left are mostly text and edges, and the ladder on them
            // cost more than the engines' whole-frame pass (docs/decoding.md).
            if !found.isEmpty { return found }
        }
        let regions = finder.regions(in: frame).filter { region in
            !found.contains { symbol in
                Self.centre(of: symbol.polygon).map { region.rect.contains($0.0, $0.1) } ?? false
            }
        }
        if let scanner, !regionsOnly && (wholeFrameLineSpacing > 1 || firstEngine == .zxing) {
            // zbar on every line around each region, as on the whole frame: each side grown by a quarter of the
            // region's extent in that direction, so a 1D code keeps its quiet zone (at most about 15 % of its length)
            // even where the finder's cells stopped short of its first and last bars. This completes the whole-frame
            // read, so the deadline, which bounds the strategies, does not cut it short: on a slow machine a code
            // the spaced lines stepped over was otherwise never read.
            //
            // Every region the finder returns is read so, not only those the strategies get: a small code ranks
            // below larger clutter. Regions whose grown crops overlap and together cover little more than apart
            // are read as one, grown by a quarter of the whole, so a long 1D code the finder split at its wider gaps
            // is read whole with its quiet zones.
            let grow = { (rect: PixelRect) in
                rect.expanded(horizontally: max(16, rect.width / 4), vertically: max(16, rect.height / 4))
            }
            for rect in Self.joined(regions.map(\.rect), grownBy: grow) {
                let wide = grow(rect).clamped(width: frame.width, height: frame.height)
                Self.merge(
                    Self.moved(try scanner.scan(LumaImage(frame: frame, region: wide)), by: wide), into: &found)
                if !found.isEmpty { return found }
            }
        }
        for region in regions.prefix(strategyRegions) {
            if let deadline, ContinuousClock.now >= deadline { break }
            let margin = max(16, min(region.rect.width, region.rect.height) / 4)
            let crop = region.rect.expanded(by: margin).clamped(width: frame.width, height: frame.height)
            let image = try LumaImage(frame: frame, region: crop)
            Self.merge(
                Self.moved(try read(image, cropped: crop, of: frame, region: region, deadline: deadline), by: crop),
                into: &found)
            if !found.isEmpty { break }
        }
        return found
    }

    /// The rectangles with each pair whose grown rectangles overlap, and whose union grown is at most 5/4 of the two
    /// grown apart, replaced by their union, until no such pair is left; in the order of the first of each group.
    static func joined(_ rects: [PixelRect], grownBy grow: (PixelRect) -> PixelRect) -> [PixelRect] {
        var joined = rects
        var changed = true
        while changed {
            changed = false
            search: for first in joined.indices {
                for second in joined.indices where second > first {
                    let a = grow(joined[first])
                    let b = grow(joined[second])
                    let union = joined[first].union(joined[second])
                    let grownUnion = grow(union)
                    guard a.intersects(b),
                        4 * grownUnion.width * grownUnion.height <= 5 * (a.width * a.height + b.width * b.height)
                    else { continue }
                    joined[first] = union
                    joined.remove(at: second)
                    changed = true
                    break search
                }
            }
        }
        return joined
    }

    /// Symbols read on a crop, their polygons moved into frame pixels.
    private static func moved(_ symbols: [DecodedSymbol], by crop: PixelRect) -> [DecodedSymbol] {
        symbols.map { symbol in
            var moved = symbol
            moved.polygon = symbol.polygon.map { [$0[0] + crop.x, $0[1] + crop.y] }
            return moved
        }
    }

    /// Adds the symbols whose payload (symbology and bytes) is not there yet.
    private static func merge(_ symbols: [DecodedSymbol], into found: inout [DecodedSymbol]) {
        for symbol in symbols
        where !found.contains(where: { $0.symbology == symbol.symbology && $0.bytes == symbol.bytes }) {
            found.append(symbol)
        }
    }

    /// Both engines on one prepared image: zbar for its symbologies (on every `zbarLineSpacing`-th line), zxing-cpp
    /// for those only it reads.
    private func scan(_ image: LumaImage, zbarLineSpacing: Int = 1) throws(BarcodeError) -> [DecodedSymbol] {
        var symbols = try scanner?.scan(image, lineSpacing: zbarLineSpacing) ?? []
        if let zxingCrops { Self.merge(try zxingCrops.scan(image), into: &symbols) }
        return symbols
    }

    /// Tries plain (both engines when only regions are read; else zxing-cpp, zbar having read around the region
    /// already) and then each strategy on one cropped region (`crop`: where the image lies in the frame). Outside
    /// `regionsOnly`, a region that shows no bar or module gets neither.
    private func read(
        _ image: LumaImage, cropped crop: PixelRect, of frame: Frame, region: CandidateRegion,
        deadline: ContinuousClock.Instant?
    )
        throws(BarcodeError) -> [DecodedSymbol]
    {
        if regionsOnly {
            let symbols = try scan(image)
            if !symbols.isEmpty { return symbols }
        } else if !image.showsBarOrModule(
            in: region.rect.moved(by: -crop.x, -crop.y), angle: region.angle)
        {
            // No line through the region crosses a bar or module: an object edge, a shading or a texture, which the
            // ladder never read on the decode corpus and which cost a code-free frame most of its time.
            return []
        } else if let zxingCrops {
            // zxing-cpp 1.4.0 finds a DataMatrix or Aztec on a crop that it missed in the cluttered whole frame. The
            // crop reaches half the region's longer side beyond it: the finder's cells can stop well short of a
            // faint code's edge, or split a code in two, and zxing-cpp needs the whole symbol.
            let reach = max(region.rect.width, region.rect.height) / 2
            let wide = region.rect.expanded(by: max(16, reach)).clamped(width: frame.width, height: frame.height)
            let symbols = try zxingCrops.scan(LumaImage(frame: frame, region: wide))
            if !symbols.isEmpty { return Self.moved(symbols, by: wide.moved(by: -crop.x, -crop.y)) }
        }
        for strategy in strategies {
            for (prepared, map) in prepare(image, strategy, region, at: region.rect.moved(by: -crop.x, -crop.y)) {
                if let deadline, ContinuousClock.now >= deadline { return [] }
                attempts += 1
                // An enlarged view is scanned on lines as far apart as the crop's own rows and columns: the
                // enlargement is for finer sampling along each line, not for more lines. A 1D-like region's views
                // are scanned on every second line: bars are many lines tall. A 2D-like region's on every line: a
                // small or blurred QR code's finder patterns can fall between spaced lines.
                let spacing =
                    strategy == .upscaled ? max(1, prepared.width / image.width) : (region.coherence >= 0.5 ? 2 : 1)
                let rejectedBefore = scanner?.rejectedQuietZones ?? 0
                var symbols = try scan(prepared, zbarLineSpacing: spacing)
                // A UPC-E or EAN-8 dropped for its margins or for being seen by one spaced line alone gets the
                // view's every line: a real one is read by several (`LinearQuietZone`).
                if symbols.isEmpty && spacing > 1 && (scanner?.rejectedQuietZones ?? 0) > rejectedBefore {
                    symbols = try scan(prepared, zbarLineSpacing: 1)
                }
                guard !symbols.isEmpty else { continue }
                return symbols.map { symbol in
                    var mapped = symbol
                    mapped.strategy = strategy
                    mapped.polygon = symbol.polygon.map { point in
                        let (x, y) = map(Double(point[0]), Double(point[1]))
                        return [
                            max(0, min(image.width - 1, Int(x.rounded()))),
                            max(0, min(image.height - 1, Int(y.rounded()))),
                        ]
                    }
                    return mapped
                }
            }
        }
        return []
    }

    /// The prepared images, each with the map from its pixels back to the crop's; empty when the strategy does not
    /// apply. `rect` is the region in the crop's pixels. Rectification offers up to two views: the quad of the code's
    /// card, then the code's own outline; the module grid two: a pitch and its alias.
    func prepare(_ image: LumaImage, _ strategy: DecodeStrategy, _ region: CandidateRegion, at rect: PixelRect) -> [(
        LumaImage, (Double, Double) -> (Double, Double)
    )] {
        if let (prepared, map) = preparedAffine(image, strategy, region) { return [(prepared, map.apply)] }
        if strategy == .rotated, region.coherence < 0.5 {
            // A 2D code's edges run two ways at right angles; turned so they lie along the axes. zxing-cpp 1.4.0
            // misses an Aztec code turned by about 20° or more.
            guard let grid = image.gridOrientation(in: rect), grid.strength >= Self.gridStrength,
                abs(grid.angle) > 0.2
            else { return [] }
            let (rotated, map) = image.rotated(by: grid.angle, fill: image.median)
            return [(rotated, map.apply)]
        }
        if strategy == .gridded {
            // Small 2D regions only; a grid at a slant or under perspective smears the edge profile below the
            // strength asked for, which text and textures seldom reach (docs/decoding.md).
            guard region.coherence < 0.5, max(region.rect.width, region.rect.height) <= 200 else { return [] }
            return image.moduleGrids(in: rect, minimumStrength: Self.gridStrength).compactMap { grid in
                image.resampled(onto: grid, pixelsPerModule: 4).map { ($0.image, $0.toSource.apply) }
            }
        }
        guard strategy == .rectified, region.coherence < 0.5, image.containsFinderLikeRun() else { return [] }
        var views: [(LumaImage, (Double, Double) -> (Double, Double))] = []
        let card = image.cardCorners()
        if let card, let (square, homography) = image.warped(onto: card) { views.append((square, homography.apply)) }
        if let outline = image.outlineCorners(around: (image.width / 2, image.height / 2)),
            card.map({ !Self.sameQuadrilateral($0, outline) }) ?? true,
            let (square, homography) = image.warped(onto: outline)
        {
            views.append((square, homography.apply))
        }
        return views
    }

    /// The share of a region's edge energy that must keep to a grid: to its pitch for `gridded` to resample it, to
    /// its direction for `rotated` to turn a 2D-like region.
    static let gridStrength = 0.3

    /// Whether two clockwise quads have the same corners (in any rotation) within two pixels.
    private static func sameQuadrilateral(_ a: [(Double, Double)], _ b: [(Double, Double)]) -> Bool {
        (0..<4).contains { shift in
            (0..<4).allSatisfy { index in
                let p = a[index]
                let q = b[(index + shift) % 4]
                return abs(p.0 - q.0) <= 2 && abs(p.1 - q.1) <= 2
            }
        }
    }

    private func preparedAffine(_ image: LumaImage, _ strategy: DecodeStrategy, _ region: CandidateRegion) -> (
        LumaImage, AffineMap
    )? {
        let longSide = max(region.rect.width, region.rect.height)
        switch strategy {
        case .plain:
            return (image, .identity)
        case .inverted:
            return (image.inverted(), .identity)
        case .stretched:
            return (image.smoothed().stretched(), .identity)
        case .sharpened:
            return (image.sharpened(), .identity)
        case .binarized:
            let window = max(15, min(image.width, image.height) / 6) | 1
            return (image.binarized(window: window), .identity)
        case .upscaled:
            guard longSide <= 320 else { return nil }
            let factor: Double = longSide <= 160 ? 3 : 2
            return (image.stretched().scaled(by: factor), .scale(factor))
        case .rotated:
            // Bars across the dominant gradient; zbar reads them well when the gradient is near an axis.
            guard region.coherence >= 0.5 else { return nil }
            let offAxis = abs(region.angle.remainder(dividingBy: .pi / 2))
            guard offAxis > 0.25 else { return nil }
            let (rotated, map) = image.rotated(by: region.angle, fill: image.median)
            return (rotated, map)
        case .rectified, .gridded:
            return nil
        }
    }

    private static func centre(of polygon: [[Int]]) -> (Int, Int)? {
        guard !polygon.isEmpty else { return nil }
        return (polygon.map { $0[0] }.reduce(0, +) / polygon.count, polygon.map { $0[1] }.reduce(0, +) / polygon.count)
    }
}
