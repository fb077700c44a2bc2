import Barcode
import Capture
import Foundation
import HubCore
import Testing

/// Code images made at test time by zint (Debian's `zint`, installed by scripts/install-deps).
enum Zint {
    static let path = ["/usr/bin/zint", "/usr/local/bin/zint"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static var available: Bool { path != nil }

    /// zint's symbology numbers (zint --types).
    enum Kind: Int {
        case dataMatrix = 71
        case pdf417 = 55
        case aztec = 92
        case microQR = 97
        case qr = 58
    }

    /// The code as a grey image with zint's quiet zones, `scale` pixels per module; `options` are zint's
    /// (`--gs1`, `--eci=26`, ...).
    static func image(_ kind: Kind, _ data: String, scale: Int = 3, options: [String] = []) throws -> LumaImage {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storehub-zint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("code.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path))
        process.arguments =
            ["-b", String(kind.rawValue), "--quietzones", "--scale=\(scale)", "-o", output.path] + options
            + ["-d", data]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "zint failed for \(kind) '\(data)'")
        let frame = try ImageFile.loadGrey(output)
        return try LumaImage(frame: frame, region: PixelRect(x: 0, y: 0, width: frame.width, height: frame.height))
    }
}

@Suite(.enabled(if: Zint.available, "needs zint (scripts/install-deps installs it)"))
struct ZXingTests {
    let twoD: [Symbology] = [.datamatrix, .pdf417, .aztec, .microqr]

    private func read(_ code: LumaImage, _ symbologies: [Symbology], ink: Double = 20, paper: Double = 230) throws
        -> [DecodedSymbol]
    {
        let frame = Fixture.frame(width: 800, height: 600, with: code, at: (120, 90), ink: ink, paper: paper)
        return try BarcodeReader(symbologies: symbologies).read(frame)
    }

    @Test func gs1DataMatrixComesWithGroupSeparatorsItsIdentifierAndParsedElements() throws {
        let code = try Zint.image(
            .dataMatrix, "[01]04012345678901[17]261231[10]LOT42[21]SER123", options: ["--gs1"])
        let found = try read(code, [.datamatrix])
        let symbol = try #require(found.first)
        #expect(found.count == 1)
        #expect(symbol.symbology == .datamatrix)
        #expect(symbol.bytes == Array("01040123456789011726123110LOT42\u{1D}21SER123".utf8))
        #expect(symbol.isGS1)
        #expect(symbol.symbologyIdentifier == "]d2")
        let elements = try GS1.parse(symbol.bytes).map { "\($0.ai)=\($0.value)" }
        #expect(elements == ["01=04012345678901", "17=261231", "10=LOT42", "21=SER123"])
    }

    @Test func plainDataMatrixIsNotGS1() throws {
        let found = try read(try Zint.image(.dataMatrix, "PU-20261201"), [.datamatrix])
        #expect(found.map(\.text) == ["PU-20261201"])
        #expect(found.first?.isGS1 == false)
        #expect(found.first?.symbologyIdentifier == "]d1")
    }

    @Test func dataMatrixWithUTF8ECIGivesUTF8TextAndTheECIIdentifier() throws {
        let found = try read(try Zint.image(.dataMatrix, "Müller 取件", options: ["--eci=26"]), [.datamatrix])
        #expect(found.map(\.text) == ["Müller 取件"])
        #expect(found.first?.bytes == Array("Müller 取件".utf8))
        #expect(found.first?.symbologyIdentifier == "]d4")
    }

    @Test func latin1ECIIsConvertedWhileTheBytesStayAsEncoded() throws {
        // zint encodes "Zürich" in ECI 3 (ISO-8859-1): one byte 0xFC for ü.
        let found = try read(try Zint.image(.aztec, "Zürich", options: ["--eci=3"]), [.aztec])
        #expect(found.map(\.text) == ["Zürich"])
        #expect(found.first?.bytes == [0x5A, 0xFC, 0x72, 0x69, 0x63, 0x68])
        #expect(found.first?.symbologyIdentifier == "]z3")
    }

    @Test func pdf417WithAnAAMVALikePayloadIsByteExact() throws {
        let payload = "@\n\u{1E}\rANSI 636000090002DL00410278ZV03190008DLDAQT64235789\nDCSSAMPLE\nDACMICHAEL\n"
        let found = try read(try Zint.image(.pdf417, payload, scale: 2), [.pdf417])
        #expect(found.map(\.bytes) == [Array(payload.utf8)])
        #expect(found.first?.symbologyIdentifier == "]L2")
    }

    @Test func aztecAndMicroQRAreRead() throws {
        #expect(try read(try Zint.image(.aztec, "TICKET-4711"), [.aztec]).map(\.text) == ["TICKET-4711"])
        let micro = try read(try Zint.image(.microQR, "MQ12345", scale: 5), [.microqr])
        #expect(micro.map(\.text) == ["MQ12345"])
        #expect(micro.first?.symbology == .microqr)
    }

    @Test func symbologiesNotConfiguredAreNotRead() throws {
        let code = try Zint.image(.dataMatrix, "PU-20261201")
        #expect(try read(code, [.qr, .ean13, .pdf417]).isEmpty)
    }

    @Test func codeFreeFramesGiveNothing() throws {
        let reader = try BarcodeReader(symbologies: twoD + [.qr, .ean13, .code128])
        for seed in UInt64(1)...6 {
            let frame = Fixture.frame(width: 1280, height: 720, noise: 12, seed: seed)
            #expect(try reader.read(frame).isEmpty, "seed \(seed)")
        }
    }

    @Test func lightOnDarkDataMatrixIsFoundByTheInvertedStrategy() throws {
        let code = try Zint.image(.dataMatrix, "PU-20261201", scale: 4)
        let frame = Fixture.frame(width: 800, height: 600, with: code, at: (120, 90), ink: 230, paper: 25)
        #expect(try BarcodeReader(symbologies: [.datamatrix], strategies: []).read(frame).isEmpty)
        let found = try BarcodeReader(symbologies: [.datamatrix], strategies: [.inverted]).read(frame)
        #expect(found.map(\.text) == ["PU-20261201"])
        #expect(found.first?.strategy == .inverted)
    }

    @Test func polygonIsInFramePixels() throws {
        let code = try Zint.image(.dataMatrix, "PU-20261201", scale: 4)
        let found = try read(code, [.datamatrix])
        let polygon = try #require(found.first?.polygon)
        #expect(polygon.count == 4)
        for point in polygon {
            #expect((120...(120 + code.width)).contains(point[0]) && (90...(90 + code.height)).contains(point[1]))
        }
    }

    @Test func liveDecoderSkipsStillFramesAndKeepsItsBudgetWithDataMatrixToo() throws {
        let live = LiveDecoder(reader: try BarcodeReader(symbologies: [.datamatrix]), maxCpuShare: 0.5)
        let code = try Zint.image(.dataMatrix, "PU-20261201", scale: 4)
        var seed: UInt64 = 1
        func still() -> Frame {
            seed += 1
            return Fixture.frame(width: 640, height: 480, noise: 6, seed: seed)
        }
        var time = Duration.zero
        func next(_ frame: Frame) throws -> [DecodedSymbol]? {
            time += .milliseconds(33)
            return try live.process(frame, at: time)
        }
        for _ in 0..<(live.gate.settleFrames + 20) { _ = try next(still()) }
        let before = live.counters
        #expect(before.still > 0, "a settled still scene must be skipped")
        // Held up for a second: read within it, and never every frame (the CPU share stays under a half).
        seed += 1
        var found: [String] = []
        for _ in 0..<30 {
            seed += 1
            let held = Fixture.frame(width: 640, height: 480, with: code, at: (200, 150), noise: 6, seed: seed)
            if let symbols = try next(held) { found += symbols.map(\.text) }
        }
        #expect(found.first == "PU-20261201")
        #expect(live.counters.read - before.read < 30)
    }

    @Test func zbarRefusesWhatOnlyZXingReads() {
        #expect(throws: BarcodeError.self) { try BarcodeScanner(symbologies: [.qr, .datamatrix]) }
    }

    @Test func oneDCodesAreLeftToZbarInEitherOrder() throws {
        #expect(throws: BarcodeError.self) { try ZXingScanner(symbologies: [.datamatrix, .code128]) }
        let frame = Fixture.frame(width: 800, height: 300, with: try Fixture.image("code128.png"), at: (40, 60))
        let zbarOnly = try BarcodeScanner(symbologies: [.code128]).scan(frame).map(\.text)
        try #require(!zbarOnly.isEmpty, "zbar must read the fixture for this test to mean anything")
        for first in FirstEngine.allCases {
            let reader = try BarcodeReader(
                symbologies: [.qr, .code128, .datamatrix], strategies: [], firstEngine: first)
            #expect(try reader.read(frame).map(\.text) == zbarOnly, "\(first)")
        }
    }

    @Test func eitherEngineFirstReadsQRTheSame() throws {
        let code = try Zint.image(.qr, "PU-20261201", scale: 4)
        let frame = Fixture.frame(width: 800, height: 600, with: code, at: (120, 90))
        for first in FirstEngine.allCases {
            let found = try BarcodeReader(symbologies: [.qr, .datamatrix], firstEngine: first).read(frame)
            #expect(found.map(\.text) == ["PU-20261201"], "\(first)")
            #expect(found.first?.symbologyIdentifier == "]Q1", "\(first)")
        }
    }
}

@Suite struct SymbologyIdentifierTests {
    @Test(arguments: [("]d1", "]d4"), ("]d2", "]d5"), ("]Q1", "]Q2"), ("]Q3", "]Q4"), ("]z0", "]z3"), ("]L2", "]L1")])
    func eciMovesTheModifier(_ plain: String, _ withECI: String) {
        #expect(SymbologyIdentifier.withECI(plain) == withECI)
    }

    @Test func gs1IdentifiersAreKnown() {
        #expect(["]C1", "]Q3", "]d2", "]d5", "]z1", "]e0"].allSatisfy(SymbologyIdentifier.marksGS1))
        #expect(!["]C0", "]Q1", "]d1", "]L2", "]z0", "]E0"].contains(where: SymbologyIdentifier.marksGS1))
    }
}
