import Foundation

extension LumaImage {
    /// Whether a region shows the alternation every code has: some scan line through it, along its dominant gradient
    /// or across it, turns at least twice (dark, light, dark or the reverse): a bar or module with a neighbour.
    ///
    /// `rect` is the region in this image's pixels, `angle` its dominant gradient (across a 1D code's bars). Five
    /// lines run each way through the middle four fifths of the region. A turn counts when the grey level swings by
    /// half the contrast the lines of that direction see (the median line's 5th to 95th percentile), at least 8.
    /// Both the median line's turns and those of the lines' mean profile count: the mean keeps a barcode's parallel
    /// edges, which fall in the same places on every line, and flattens noise. Regions the finder takes for codes
    /// that are one object edge, a shading or a fine texture do not turn twice (on the decode corpus about half the
    /// regions of code-free scenes, and no region a strategy read: docs/decoding.md).
    func showsBarOrModule(in rect: PixelRect, angle: Double) -> Bool {
        [angle, angle + .pi / 2].contains { direction in
            let lines = scanLines(in: rect, angle: direction)
            let contrast = lines.map { line -> Int in
                let sorted = line.sorted()
                return sorted[sorted.count * 95 / 100] - sorted[sorted.count * 5 / 100]
            }.sorted()[lines.count / 2]
            let swing = max(8, contrast / 2)
            var mean = [Int](repeating: 0, count: lines[0].count)
            for line in lines {
                for step in mean.indices { mean[step] += line[step] }
            }
            for step in mean.indices { mean[step] /= lines.count }
            let perLine = lines.map { Self.reversals($0, swing: swing) }.sorted()
            return max(Self.reversals(mean, swing: swing), perLine[lines.count / 2]) >= 2
        }
    }

    /// The grey levels on five lines along `angle` through the middle four fifths of `rect`, spread across it.
    private func scanLines(in rect: PixelRect, angle: Double) -> [[Int]] {
        let (ux, uy) = (cos(angle), sin(angle))
        let (vx, vy) = (-uy, ux)
        let w = Double(rect.width)
        let h = Double(rect.height)
        let halfAcross = (w * abs(ux) + h * abs(uy)) / 2
        let halfAlong = (w * abs(vx) + h * abs(vy)) / 2
        let samples = max(2, Int(2 * halfAcross))
        let centreX = Double(rect.x) + w / 2
        let centreY = Double(rect.y) + h / 2
        let lineCount = 5
        return pixels.withUnsafeBufferPointer { grey in
            (0..<lineCount).map { index in
                let offset = (Double(index) / Double(lineCount - 1) - 0.5) * 0.8 * halfAlong
                return (0..<samples).map { step in
                    let along = Double(step) - halfAcross
                    let x = Int((centreX + along * ux + offset * vx).rounded())
                    let y = Int((centreY + along * uy + offset * vy).rounded())
                    return Int(grey[max(0, min(height - 1, y)) * width + max(0, min(width - 1, x))])
                }
            }
        }
    }

    /// How often a profile turns from rising to falling or back by at least `swing` grey levels.
    private static func reversals(_ profile: [Int], swing: Int) -> Int {
        var count = 0
        var extreme = profile[0]
        var rising: Bool?
        for value in profile.dropFirst() {
            switch rising {
            case nil:
                if abs(value - extreme) >= swing {
                    rising = value > extreme
                    extreme = value
                }
            case true?:
                if value > extreme {
                    extreme = value
                } else if extreme - value >= swing {
                    count += 1
                    rising = false
                    extreme = value
                }
            case false?:
                if value < extreme {
                    extreme = value
                } else if value - extreme >= swing {
                    count += 1
                    rising = true
                    extreme = value
                }
            }
        }
        return count
    }
}
