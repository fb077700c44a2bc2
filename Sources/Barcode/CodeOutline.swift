import Foundation

extension LumaImage {
    /// The quadrilateral around the dark modules of the code nearest `centre`, clockwise in image coordinates.
    ///
    /// Unlike `cardCorners()` this needs no light card around the code, so it still works when the card touches
    /// other light objects or the background is as light as the card. Dark pixels are pooled into cells about one
    /// module wide; cells joined by at most one empty cell form one outline (modules of a code are never farther
    /// apart than that, while the quiet zone keeps other dark things at least four modules away). The outline
    /// nearest the centre is wrapped in its convex hull, and the hull's largest inscribed quadrilateral is the
    /// code's outline.
    func outlineCorners(around centre: (Int, Int)) -> [(Double, Double)]? {
        let threshold = otsuThreshold
        guard let module = typicalDarkRun(below: threshold) else { return nil }
        let cell = max(2, module)
        let columns = (width + cell - 1) / cell
        let rows = (height + cell - 1) / cell
        var darkInCell = [Int](repeating: 0, count: columns * rows)
        for y in 0..<height {
            let rowBase = (y / cell) * columns
            for x in 0..<width where pixels[y * width + x] < threshold {
                darkInCell[rowBase + x / cell] += 1
            }
        }
        let minimum = max(1, cell * cell / 8)
        let component = outlineComponent(
            darkInCell.map { $0 >= minimum }, columns: columns, rows: rows, centre: (centre.0 / cell, centre.1 / cell))
        guard let component, component.count >= 9 else { return nil }
        var inComponent = [Bool](repeating: false, count: columns * rows)
        for index in component { inComponent[index] = true }
        // The leftmost and rightmost dark pixel of each row, inside the component's cells, carry the hull.
        var points: [(Double, Double)] = []
        for y in 0..<height {
            var left = -1
            var right = -1
            let rowBase = (y / cell) * columns
            for x in 0..<width where pixels[y * width + x] < threshold && inComponent[rowBase + x / cell] {
                if left < 0 { left = x }
                right = x
            }
            guard left >= 0 else { continue }
            points.append((Double(left), Double(y) + 0.5))
            points.append((Double(right) + 1, Double(y) + 0.5))
        }
        let hull = Self.convexHull(points)
        guard hull.count >= 4, var quad = Self.largestQuadrilateral(in: hull) else { return nil }
        if Self.signedArea(quad) < 0 { quad.reverse() }
        return quad
    }

    /// The median length of horizontal dark runs: about one module of a code.
    private func typicalDarkRun(below threshold: UInt8) -> Int? {
        var runs: [Int] = []
        for y in stride(from: 0, to: height, by: 2) {
            var run = 0
            for x in 0..<width {
                if pixels[y * width + x] < threshold {
                    run += 1
                } else if run > 0 {
                    runs.append(run)
                    run = 0
                }
            }
        }
        guard runs.count >= 8 else { return nil }
        runs.sort()
        return runs[runs.count / 2]
    }

    /// The set of dark cells, joined across gaps of one cell, that holds the most dark cells among those whose
    /// bounding box contains `centre`; the largest overall when none does.
    private func outlineComponent(_ dark: [Bool], columns: Int, rows: Int, centre: (Int, Int)) -> [Int]? {
        var label = [Int](repeating: -1, count: dark.count)
        var best: [Int]?
        var bestCovers = false
        var stack: [Int] = []
        for start in dark.indices where dark[start] && label[start] < 0 {
            var members: [Int] = []
            var box = (Int.max, Int.max, Int.min, Int.min)
            label[start] = start
            stack.append(start)
            while let index = stack.popLast() {
                members.append(index)
                let cx = index % columns
                let cy = index / columns
                box = (min(box.0, cx), min(box.1, cy), max(box.2, cx), max(box.3, cy))
                for dy in -2...2 {
                    for dx in -2...2 {
                        let nx = cx + dx
                        let ny = cy + dy
                        guard nx >= 0, ny >= 0, nx < columns, ny < rows else { continue }
                        let next = ny * columns + nx
                        guard dark[next], label[next] < 0 else { continue }
                        label[next] = start
                        stack.append(next)
                    }
                }
            }
            let covers = box.0 <= centre.0 && centre.0 <= box.2 && box.1 <= centre.1 && centre.1 <= box.3
            if best == nil || (covers && !bestCovers) || (covers == bestCovers && members.count > best!.count) {
                best = members
                bestCovers = covers
            }
        }
        return best
    }

    /// Andrew's monotone chain; counter-clockwise in image coordinates, without collinear points.
    static func convexHull(_ points: [(Double, Double)]) -> [(Double, Double)] {
        let sorted = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        guard sorted.count >= 3 else { return sorted }
        func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
            (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
        }
        var lower: [(Double, Double)] = []
        for point in sorted {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], point) <= 0 {
                lower.removeLast()
            }
            lower.append(point)
        }
        var upper: [(Double, Double)] = []
        for point in sorted.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], point) <= 0 {
                upper.removeLast()
            }
            upper.append(point)
        }
        return Array(lower.dropLast()) + Array(upper.dropLast())
    }

    /// The four hull vertices spanning the largest area, in hull order. O(n³) over at most 96 vertices.
    static func largestQuadrilateral(in hull: [(Double, Double)]) -> [(Double, Double)]? {
        var vertices = hull
        if vertices.count > 96 {
            let step = Double(vertices.count) / 96
            vertices = (0..<96).map { hull[Int(Double($0) * step)] }
        }
        let n = vertices.count
        guard n >= 4 else { return nil }
        func triangle(_ a: Int, _ b: Int, _ c: Int) -> Double {
            let (p, q, r) = (vertices[a], vertices[b], vertices[c])
            return abs((q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0)) / 2
        }
        var best = 0.0
        var corners: [Int] = []
        for i in 0..<(n - 2) {
            for k in (i + 2)..<n where k - i <= n - 2 {
                var left = 0.0
                var leftIndex = -1
                for j in (i + 1)..<k {
                    let area = triangle(i, j, k)
                    if area > left { (left, leftIndex) = (area, j) }
                }
                var right = 0.0
                var rightIndex = -1
                for l in (k + 1)..<(n + i) {
                    let area = triangle(k, l % n, i)
                    if area > right { (right, rightIndex) = (area, l % n) }
                }
                guard leftIndex >= 0, rightIndex >= 0, left + right > best else { continue }
                best = left + right
                corners = [i, leftIndex, k, rightIndex]
            }
        }
        guard corners.count == 4, best > 0 else { return nil }
        return corners.map { vertices[$0] }
    }

    /// Shoelace area; positive when the polygon runs clockwise on screen (y down).
    static func signedArea(_ polygon: [(Double, Double)]) -> Double {
        var sum = 0.0
        for index in polygon.indices {
            let a = polygon[index]
            let b = polygon[(index + 1) % polygon.count]
            sum += a.0 * b.1 - b.0 * a.1
        }
        return sum / 2
    }
}
