import Barcode
import Capture
import Foundation
import HubCore
import Testing

/// The generated demo media (scripts/gen-demo-media) and what its manifest says each frame holds.
struct DemoMedia {
    struct Code: Decodable {
        var symbology: String
        var text: String
    }
    struct FrameEntry: Decodable {
        var file: String
        var codes: [Code]
    }
    struct Device: Decodable { var frames: [FrameEntry] }
    struct Manifest: Decodable { var devices: [String: Device] }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../Assets/demo/media"
    ).standardizedFileURL

    static func load() throws -> Manifest {
        let url = folder.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            Issue.record("demo media missing: run scripts/gen-demo-media (make test does)")
            throw CancellationError()
        }
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
    }
}

@Suite struct DemoMediaTests {
    @Test func everyCodeInTheDemoMediaDecodesWithExactlyItsPayload() throws {
        let manifest = try DemoMedia.load()
        let scanner = try BarcodeScanner(symbologies: [.qr, .ean13, .upca])
        var checked = 0
        for (device, entry) in manifest.devices {
            for frameEntry in entry.frames {
                let frame = try ImageFile.loadGrey(
                    DemoMedia.folder.appendingPathComponent("\(device)/\(frameEntry.file)"))
                let found = try scanner.scan(frame)
                let expected = Set(frameEntry.codes.map(\.text))
                // UPC-A style codes are read as upca; their GTIN-13 is the EAN-13 payload.
                let decoded = Set(found.map { $0.gtin ?? $0.text })
                #expect(decoded == expected, "\(device)/\(frameEntry.file)")
                checked += expected.count
            }
        }
        #expect(checked >= 20)
    }

    @Test func utf8QRWithoutECIComesBackByteExact() throws {
        let manifest = try DemoMedia.load()
        let scanner = try BarcodeScanner(symbologies: [.qr])
        let pickup = try #require(manifest.devices["kiosk-pickup"])
        let nonASCII = pickup.frames.filter { $0.codes.contains { !$0.text.allSatisfy(\.isASCII) } }
        try #require(!nonASCII.isEmpty, "the demo media must hold a non-ASCII QR payload")
        for entry in nonASCII {
            let frame = try ImageFile.loadGrey(DemoMedia.folder.appendingPathComponent("kiosk-pickup/\(entry.file)"))
            let symbols = try scanner.scan(frame)
            for code in entry.codes {
                let match = symbols.first { $0.text == code.text }
                #expect(match?.bytes == Array(code.text.utf8), "\(entry.file): \(code.text)")
            }
        }
    }

    @Test func disabledSymbologiesAreNotDecoded() throws {
        let manifest = try DemoMedia.load()
        let aisle = try #require(manifest.devices["kiosk-aisle"])
        let withCode = try #require(aisle.frames.first { !$0.codes.isEmpty })
        let scanner = try BarcodeScanner(symbologies: [.qr])
        let frame = try ImageFile.loadGrey(DemoMedia.folder.appendingPathComponent("kiosk-aisle/\(withCode.file)"))
        #expect(try scanner.scan(frame).isEmpty)
    }

    @Test func framesWithoutCodesYieldNothing() throws {
        let manifest = try DemoMedia.load()
        let scanner = try BarcodeScanner(symbologies: [.qr, .ean13, .upca])
        for (device, entry) in manifest.devices {
            for frameEntry in entry.frames where frameEntry.codes.isEmpty {
                let frame = try ImageFile.loadGrey(
                    DemoMedia.folder.appendingPathComponent("\(device)/\(frameEntry.file)"))
                #expect(try scanner.scan(frame).isEmpty, "\(device)/\(frameEntry.file)")
            }
        }
    }

    @Test func scannerKeepsDecodingAcrossRecycling() throws {
        let manifest = try DemoMedia.load()
        let pickup = try #require(manifest.devices["kiosk-pickup"])
        let entry = try #require(pickup.frames.first { $0.codes.count == 1 })
        let frame = try ImageFile.loadGrey(DemoMedia.folder.appendingPathComponent("kiosk-pickup/\(entry.file)"))
        let scanner = try BarcodeScanner(symbologies: [.qr], recycleInterval: 3)
        for _ in 0..<10 {
            #expect(try scanner.scan(frame).map(\.text) == [entry.codes[0].text])
        }
    }

    @Test func paddedRowsAreDecodedLikePackedOnes() throws {
        let manifest = try DemoMedia.load()
        let pickup = try #require(manifest.devices["kiosk-pickup"])
        let entry = try #require(pickup.frames.first { $0.codes.count == 1 })
        let packed = try ImageFile.loadGrey(DemoMedia.folder.appendingPathComponent("kiosk-pickup/\(entry.file)"))
        let stride = packed.width + 64
        let buffer = FrameBuffer(capacity: stride * packed.height)
        for row in 0..<packed.height {
            let source = UnsafeRawBufferPointer(
                rebasing: packed.buffer.bytes[(row * packed.width)..<((row + 1) * packed.width)])
            UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[(row * stride)..<(row * stride + packed.width)])
                .copyMemory(from: source)
        }
        let padded = Frame(
            format: .grey, width: packed.width, height: packed.height, bytesPerRow: stride, captureTime: Date(),
            index: 0,
            buffer: buffer)
        let scanner = try BarcodeScanner(symbologies: [.qr])
        #expect(try scanner.scan(padded).map(\.text) == [entry.codes[0].text])
    }
}
