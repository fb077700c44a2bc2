import Foundation
import HubCore
import Testing

@testable import Barcode

/// The two ways `.rectified` finds the quadrilateral of a 2D code seen at an angle: the card it is printed on,
/// and the outline of its own modules when the card cannot be told from its surroundings.
@Suite struct RectifyTests {
    /// A 21x21 checkerboard of modules (corner modules dark) filling `quad` (clockwise from top left) on a
    /// background of `background`, with paper inside.
    static func drawCode(
        in quad: [(Double, Double)], width: Int = 320, height: Int = 320, background: UInt8 = 120
    ) throws -> LumaImage {
        let unit = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
        let toUnit = try #require(Homography(from: quad, to: unit))
        var image = LumaImage(width: width, height: height, fill: background)
        for y in 0..<height {
            for x in 0..<width {
                let (u, v) = toUnit.apply(Double(x) + 0.5, Double(y) + 0.5)
                // A card with a quiet zone of two modules around the code.
                let margin = 2.0 / 21
                guard u >= -margin, u < 1 + margin, v >= -margin, v < 1 + margin else { continue }
                guard u >= 0, u < 1, v >= 0, v < 1 else {
                    image.pixels[y * width + x] = 235
                    continue
                }
                let (i, j) = (Int(u * 21), Int(v * 21))
                image.pixels[y * width + x] = (i + j) % 2 == 0 ? 20 : 235
            }
        }
        return image
    }

    static func paint(_ image: inout LumaImage, x: Range<Int>, y: Range<Int>, value: UInt8) {
        for row in y { for column in x { image.pixels[row * image.width + column] = value } }
    }

    static func assertCorners(_ found: [(Double, Double)]?, near expected: [(Double, Double)], within tolerance: Double)
        throws
    {
        let corners = try #require(found)
        #expect(corners.count == 4)
        // Same corners in some rotation, within the tolerance.
        let matches = (0..<4).contains { shift in
            (0..<4).allSatisfy { index in
                let (p, q) = (corners[(index + shift) % 4], expected[index])
                return abs(p.0 - q.0) <= tolerance && abs(p.1 - q.1) <= tolerance
            }
        }
        #expect(matches, "found \(corners), expected \(expected)")
    }

    let trapezoid = [(90.0, 70.0), (230.0, 70.0), (262.0, 250.0), (58.0, 250.0)]

    @Test func outlineFindsTheModulesCornersOfATiltedCode() throws {
        let image = try Self.drawCode(in: trapezoid)
        try Self.assertCorners(image.outlineCorners(around: (160, 160)), near: trapezoid, within: 3)
    }

    @Test func outlineIgnoresALightObjectTouchingTheCard() throws {
        var image = try Self.drawCode(in: trapezoid)
        // A sheet of paper as light as the card, touching its bottom edge: the card cannot be told apart.
        Self.paint(&image, x: 20..<300, y: 259..<320, value: 235)
        try Self.assertCorners(image.outlineCorners(around: (160, 160)), near: trapezoid, within: 3)
    }

    @Test func outlineCornersRunClockwise() throws {
        let image = try Self.drawCode(in: trapezoid)
        let corners = try #require(image.outlineCorners(around: (160, 160)))
        #expect(LumaImage.signedArea(corners) > 0)
    }

    @Test func cardIsFoundOnABackgroundLighterThanInk() throws {
        // A light grey background that merges with the card at the ink threshold, and a dark blob beside the
        // card that would pull a corner out if the background were taken for the card.
        var image = try Self.drawCode(in: trapezoid, background: 165)
        Self.paint(&image, x: 0..<40, y: 240..<320, value: 30)
        try Self.assertCorners(image.cardCorners(), near: trapezoid, within: 3)
    }

    @Test func largestQuadrilateralOfAHexagonKeepsFourOfItsCorners() throws {
        let hexagon = (0..<6).map { index -> (Double, Double) in
            let angle = Double(index) * .pi / 3
            return (100 + 50 * cos(angle), 100 + 50 * sin(angle))
        }
        let quad = try #require(LumaImage.largestQuadrilateral(in: hexagon))
        let area = abs(LumaImage.signedArea(quad))
        // The best quad in a regular hexagon of radius r cuts off two ears that do not touch: area √3 r².
        #expect(abs(area - 2500 * 3.0.squareRoot()) < 1, "area \(area)")
    }
}
