import Barcode
import Capture
import Foundation
import HubCore
import Testing

/// Small generated code images checked into Fixtures/ (made with segno and python-barcode), and helpers that
/// put them into camera-like frames.
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func image(_ name: String) throws -> LumaImage {
        let frame = try ImageFile.loadGrey(folder.appendingPathComponent(name))
        return try LumaImage(frame: frame, region: PixelRect(x: 0, y: 0, width: frame.width, height: frame.height))
    }

    /// A grey frame with a smooth gradient and seeded noise, with `code` pasted at (x, y) after mapping its grey
    /// levels from 0...255 onto `ink`...`paper`.
    static func frame(
        width: Int = 640, height: Int = 480, with code: LumaImage? = nil, at origin: (Int, Int) = (200, 150),
        ink: Double = 20, paper: Double = 230, noise: Int = 6, seed: UInt64 = 7
    ) -> Frame {
        var random = SeededRandom(seed: seed)
        let buffer = FrameBuffer(capacity: width * height)
        let pixels = buffer.bytes.bindMemory(to: UInt8.self)
        for y in 0..<height {
            for x in 0..<width {
                let base = 90 + 40 * Double(x) / Double(width) + 20 * Double(y) / Double(height)
                pixels[y * width + x] = UInt8(clamping: Int(base) + random.noise(noise))
            }
        }
        if let code {
            for y in 0..<code.height {
                for x in 0..<code.width {
                    let level = Double(code.pixels[y * code.width + x]) / 255
                    let value = Int((ink + (paper - ink) * level).rounded()) + random.noise(noise)
                    pixels[(origin.1 + y) * width + origin.0 + x] = UInt8(clamping: value)
                }
            }
        }
        return Frame(
            format: .grey, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }
}

/// A deterministic generator, so test frames are the same on every run.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    /// Roughly normal noise with about `amplitude` standard deviation (sum of four uniforms).
    mutating func noise(_ amplitude: Int) -> Int {
        guard amplitude > 0 else { return 0 }
        var sum = 0
        for _ in 0..<4 { sum += Int(next() % UInt64(2 * amplitude + 1)) - amplitude }
        return sum * 7 / 8
    }
}

@Suite struct StrategyTests {
    let symbologies: [Symbology] = [.qr, .ean13, .code128]

    private func plain(_ frame: Frame) throws -> [DecodedSymbol] {
        try BarcodeScanner(symbologies: symbologies).scan(frame)
    }

    @Test func invertedQRIsFoundOnlyByTheInvertedStrategy() throws {
        let code = try Fixture.image("qr-pickup.png")
        let frame = Fixture.frame(with: code, ink: 230, paper: 25)
        #expect(try plain(frame).isEmpty, "plain zbar must miss a light-on-dark QR for this test to mean anything")
        let reader = try BarcodeReader(symbologies: symbologies, strategies: [.inverted])
        let found = try reader.read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
        #expect(found.first?.strategy == .inverted)
    }

    @Test func foundSymbolsCarryFramePixelPolygons() throws {
        let code = try Fixture.image("qr-pickup.png")
        let frame = Fixture.frame(with: code, at: (300, 200), ink: 230, paper: 25)
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.inverted]).read(frame)
        let polygon = try #require(found.first?.polygon)
        #expect(polygon.count == 4)
        for point in polygon {
            // The QR's modules start at the 16-pixel quiet zone of the pasted image.
            #expect((300...(300 + code.width)).contains(point[0]), "\(polygon)")
            #expect((200...(200 + code.height)).contains(point[1]), "\(polygon)")
        }
    }

    @Test func lowContrastQRIsFoundByStretching() throws {
        let code = try Fixture.image("qr-pickup.png").scaled(by: 0.75)
        let frame = Fixture.frame(with: code, ink: 118, paper: 138, noise: 4)
        #expect(try plain(frame).isEmpty, "plain zbar must miss this faint QR for this test to mean anything")
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.stretched, .upscaled]).read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
    }

    @Test func steepCode128IsFoundAfterRotation() throws {
        let code = try Fixture.image("code128.png")
        let (rotated, _) = code.rotated(by: 0.9, fill: 255)
        let frame = Fixture.frame(width: 800, height: 600, with: rotated, at: (100, 60))
        #expect(try plain(frame).isEmpty, "plain zbar must miss the steep code for this test to mean anything")
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.rotated]).read(frame)
        #expect(found.map(\.text) == ["STOREHUB-42"])
        #expect(found.first?.strategy == .rotated)
    }

    @Test func smallQRIsFoundByUpscaling() throws {
        // Four-pixel modules shrunk to 1.6 pixels.
        let code = try Fixture.image("qr-pickup.png").scaled(by: 0.4)
        let frame = Fixture.frame(with: code, noise: 3)
        #expect(try plain(frame).isEmpty, "plain zbar must miss the tiny QR for this test to mean anything")
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.upscaled]).read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
    }

    @Test func blurredQRIsFoundBySharpening() throws {
        var code = try Fixture.image("qr-pickup.png").scaled(by: 0.75)
        for _ in 0..<4 { code = code.smoothed() }
        let frame = Fixture.frame(with: code, noise: 2)
        #expect(try plain(frame).isEmpty, "plain zbar must miss the blurred QR for this test to mean anything")
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.sharpened]).read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
    }

    @Test func qrSeenAtAnAngleIsFoundByRectifying() throws {
        let code = try Fixture.image("qr-pickup.png").scaled(by: 2)
        // The card tilted away: its top edge 36% shorter than its bottom edge.
        let (width, height) = (code.width, code.height)
        let seen = [
            (0.18 * Double(width), 0.0), (0.82 * Double(width), 0.0), (Double(width), Double(height)),
            (0, Double(height)),
        ]
        let corners = [(0.0, 0.0), (Double(width), 0.0), (Double(width), Double(height)), (0.0, Double(height))]
        let map = try #require(Homography(from: seen, to: corners))
        var tilted = LumaImage(width: width, height: height, fill: 255)
        for y in 0..<height {
            for x in 0..<width {
                let (sx, sy) = map.apply(Double(x) + 0.5, Double(y) + 0.5)
                guard sx >= 0, sy >= 0, Int(sx) < width, Int(sy) < height else { continue }
                tilted.pixels[y * width + x] = code.pixels[Int(sy) * width + Int(sx)]
            }
        }
        let frame = Fixture.frame(with: tilted, at: (150, 100), noise: 3)
        #expect(try plain(frame).isEmpty, "plain zbar must miss the tilted QR for this test to mean anything")
        let found = try BarcodeReader(symbologies: symbologies, strategies: [.rectified]).read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
        #expect(found.first?.strategy == .rectified)
    }

    @Test func strategiesAreNotTriedWhenPlainZbarReadsTheCode() throws {
        let code = try Fixture.image("qr-pickup.png")
        let frame = Fixture.frame(with: code)
        let reader = try BarcodeReader(symbologies: symbologies)
        let found = try reader.read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
        #expect(found.first?.strategy == .plain)
        #expect(reader.attempts == 0)
    }

    @Test func regionThatIsOnlyAnObjectEdgeGetsNoStrategy() throws {
        // A dark box on the counter, its outline a 12-pixel ramp (a rounded, slightly blurred object): dense, strong
        // edges, but no line through it crosses a bar.
        var box = LumaImage(width: 200, height: 120, fill: 0)
        for y in 0..<box.height {
            for x in 0..<box.width {
                let inside = min(x, y, box.width - 1 - x, box.height - 1 - y)
                box.pixels[y * box.width + x] = UInt8(max(0, 255 - inside * 255 / 12))
            }
        }
        let frame = Fixture.frame(with: box, at: (220, 180), paper: 130, noise: 4)
        #expect(
            !RegionFinder().regions(in: frame).isEmpty, "the finder must see the box for this test to mean anything")
        let reader = try BarcodeReader(symbologies: symbologies)
        #expect(try reader.read(frame).isEmpty)
        #expect(reader.attempts == 0)
    }

    @Test func regionFinderPointsAtTheCodeAndNotAtPlainNoise() throws {
        let code = try Fixture.image("qr-pickup.png")
        let empty = Fixture.frame(noise: 8)
        #expect(RegionFinder().regions(in: empty).isEmpty)
        let frame = Fixture.frame(with: code, at: (320, 240), noise: 8)
        let regions = RegionFinder().regions(in: frame)
        let first = try #require(regions.first)
        #expect(first.rect.contains(320 + code.width / 2, 240 + code.height / 2), "\(first.rect)")
    }

    @Test func unknownStrategyNameIsRefusedWithTheKnownNames() {
        #expect(throws: BarcodeError.self) { try DecodeStrategy.parse(["inverted", "sharpen"]) }
        do {
            _ = try DecodeStrategy.parse(["sharpen"])
        } catch {
            #expect(error.message.contains("'sharpen'") && error.message.contains("rotated"))
        }
    }
}

@Suite struct ShiftJISTests {
    @Test func kanjiModeQRComesBackAsItsText() throws {
        let frame = Fixture.frame(with: try Fixture.image("qr-kanji.png"))
        let found = try BarcodeScanner(symbologies: [.qr]).scan(frame)
        #expect(found.map(\.text) == ["漢字テスト"])
        // The bytes stay as the symbol holds them: Shift-JIS.
        #expect(found.first?.bytes == [0x8A, 0xBF, 0x8E, 0x9A, 0x83, 0x65, 0x83, 0x58, 0x83, 0x67])
    }

    @Test func latin1TextIsNotTakenForShiftJIS() {
        let desiree: [UInt8] = [0x44, 0xE9, 0x73, 0x69, 0x72, 0xE9, 0x65]  // "Désirée" in ISO-8859-1
        #expect(!Payload.looksLikeShiftJIS(desiree))
        #expect(Payload.text(desiree, symbology: .qr) == "Désirée")
    }

    @Test func shiftJISIsOnlyConsideredForQR() {
        let bytes: [UInt8] = [0x8A, 0xBF, 0x8E, 0x9A]
        #expect(Payload.looksLikeShiftJIS(bytes))
        #expect(Payload.text(bytes, symbology: .qr) == "漢字")
        #expect(Payload.text(bytes, symbology: .code128) == "\u{8A}¿\u{8E}\u{9A}")
    }

    @Test func truncatedDoubleByteCharacterIsNotShiftJIS() {
        #expect(!Payload.looksLikeShiftJIS([0x8A, 0xBF, 0x8E]))
    }
}
