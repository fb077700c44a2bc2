import Foundation
import HubCore
import Testing
import TryOn

@testable import Hub

/// Product codes held up to a mirror are read beside its frame loop, and still select their shade.
struct MirrorProductCodesTests {
    let catalog: ShadeCatalog

    init() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        catalog = try ShadeCatalog.load(repository.appendingPathComponent("Assets/shades.json"))
    }

    /// An NV12 frame of light grey paper, with the EAN-13 `digits` printed on it (3 pixels a module) unless nil.
    static func frame(ean13 digits: String?, width: Int = 640, height: Int = 480) -> Frame {
        let buffer = FrameBuffer(capacity: width * height * 3 / 2)
        let pixels = buffer.bytes.bindMemory(to: UInt8.self)
        pixels.update(repeating: 200)
        for index in (width * height)..<(width * height * 3 / 2) { pixels[index] = 128 }
        if let digits {
            for (module, dark) in ean13Modules(digits).enumerated() where dark {
                for y in 180..<300 {
                    for x in (100 + 3 * module)..<(103 + 3 * module) { pixels[y * width + x] = 30 }
                }
            }
        }
        return Frame(
            format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }

    /// The 95 modules of an EAN-13 symbol (true: a bar): guard, six digits in L or G code by the first digit's
    /// parity pattern, centre guard, six digits in R code, guard.
    static func ean13Modules(_ digits: String) -> [Bool] {
        let values = digits.compactMap(\.wholeNumberValue)
        precondition(values.count == 13)
        let lCodes = [0x0D, 0x19, 0x13, 0x3D, 0x23, 0x31, 0x2F, 0x3B, 0x37, 0x0B]
        let parities = [
            "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL",
        ]
        func bits(_ code: Int) -> [Bool] { (0..<7).map { code & (0x40 >> $0) != 0 } }
        var modules = [true, false, true]
        for (position, parity) in parities[values[0]].enumerated() {
            let l = bits(lCodes[values[position + 1]])
            // R is L inverted; G is R reversed.
            modules += parity == "L" ? l : Array(l.map { !$0 }.reversed())
        }
        modules += [false, true, false, true, false]
        for value in values[7...] { modules += bits(lCodes[value]).map { !$0 } }
        modules += [true, false, true]
        return modules
    }

    @Test func aCodeHeldUpSelectsItsShadeThroughAReadBesideTheFrameLoop() async throws {
        let shade = try #require(catalog.shades.first { !$0.gtins.isEmpty })
        let codes = try #require(try MirrorProductCodes(catalog: catalog))
        defer { codes.stop() }
        let held = Self.frame(ean13: shade.gtins[0])
        // The frame loop hands the frame over and goes on: the shade comes with a later frame.
        #expect(try codes.shadeSKU(in: held, at: .zero) == nil)
        // The loop may write the next frame into the same buffer at once: the read has its own copy.
        held.buffer.bytes.bindMemory(to: UInt8.self).update(repeating: 200)
        var selected: String?
        for tick in 1...300 where selected == nil {
            try await Task.sleep(for: .milliseconds(10))
            selected = try codes.shadeSKU(in: held, at: .milliseconds(33 * tick))
        }
        #expect(selected == shade.sku)
    }

    @Test func aCodeStillHeldUpIsNotANewChoice() async throws {
        let shade = try #require(catalog.shades.first { !$0.gtins.isEmpty })
        let codes = try #require(try MirrorProductCodes(catalog: catalog, maxCpuShare: 1))
        defer { codes.stop() }
        let held = Self.frame(ean13: shade.gtins[0])
        var choices: [String] = []
        for tick in 0..<60 {
            try await Task.sleep(for: .milliseconds(10))
            if let sku = try codes.shadeSKU(in: held, at: .milliseconds(33 * tick)) { choices.append(sku) }
        }
        #expect(choices == [shade.sku])
    }
}
