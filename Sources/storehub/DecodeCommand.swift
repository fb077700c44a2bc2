import ArgumentParser
import Barcode
import Capture
import Foundation
import HubCore

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode barcodes in image files (PNG, JPEG, PGM) with the kiosk pipeline's decoder.",
        discussion: """
            Prints one JSON object per image: file, symbols (symbology, text, bytes as base64, quality, polygon, \
            strategy, symbologyIdentifier, and gtin or gs1 where they apply), loadMs (reading and decoding the image \
            file) and decodeMs (finding the codes), both wall time measured inside the process, and cpuMs (the CPU \
            time of both).
            """)

    @Option(name: .long, help: "Comma-separated symbologies.")
    var symbologies: String = "qr,ean13,ean8,upca,upce,code128"

    @Option(
        name: .long,
        help: "Comma-separated decode strategies tried when zbar alone reads nothing, 'none', or 'recommended'.")
    var strategies: String = "recommended"

    @Flag(name: .long, help: "Read only the regions the detector finds, never the whole image.")
    var regionsOnly = false

    @Option(name: .long, help: "The engine that reads QR and 1D codes on the whole image: zbar or zxing.")
    var firstEngine: String?

    @Argument(help: "Image files.")
    var files: [String]

    func run() throws {
        let names = symbologies.split(separator: ",").map(String.init)
        let reader: BarcodeReader
        do {
            let chosen: [DecodeStrategy]
            switch strategies {
            case "recommended": chosen = DecodeStrategy.recommended
            case "none", "": chosen = []
            default: chosen = try DecodeStrategy.parse(strategies.split(separator: ",").map(String.init))
            }
            let first = try firstEngine.map { name throws(BarcodeError) in
                guard let engine = FirstEngine(rawValue: name) else {
                    throw BarcodeError("unknown engine '\(name)' (known: zbar, zxing)")
                }
                return engine
            }
            reader = try BarcodeReader(
                symbologies: try Symbology.parse(names), strategies: chosen, regionsOnly: regionsOnly,
                firstEngine: first ?? BarcodeReader.defaultFirstEngine)
        } catch {
            printError("\(error)")
            throw ExitCode.usage
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failed = false
        for file in files {
            var object: [String: JSONValue] = ["file": .string(file)]
            do {
                let cpuStart = BenchLiveCommand.threadCPUSeconds()
                let loadStart = ContinuousClock.now
                let frame = try ImageFile.loadGrey(URL(fileURLWithPath: file))
                let decodeStart = ContinuousClock.now
                let symbols = try reader.read(frame)
                let end = ContinuousClock.now
                object["loadMs"] = .double(Self.milliseconds(decodeStart - loadStart))
                object["decodeMs"] = .double(Self.milliseconds(end - decodeStart))
                object["cpuMs"] = .double(
                    ((BenchLiveCommand.threadCPUSeconds() - cpuStart) * 1000).rounded(toPlaces: 3))
                object["symbols"] = .array(symbols.map(Self.json))
            } catch {
                object["error"] = .string("\(error)")
                failed = true
            }
            print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
        }
        if failed { throw ExitCode.dataError }
    }

    static func json(_ symbol: DecodedSymbol) -> JSONValue {
        var row: [String: JSONValue] = [
            "symbology": .string(symbol.symbology.rawValue), "text": .string(symbol.text),
            "bytes": .string(Data(symbol.bytes).base64EncodedString()),
            "quality": .int(Int64(symbol.quality)),
            "polygon": .array(symbol.polygon.map { .array($0.map { .int(Int64($0)) }) }),
            "strategy": .string(symbol.strategy.rawValue),
            "symbologyIdentifier": .string(symbol.symbologyIdentifier),
        ]
        if let gtin = symbol.gtin { row["gtin"] = .string(gtin) }
        if symbol.isGS1 {
            do {
                row["gs1"] = .array(
                    try GS1.parse(symbol.bytes).map { .object(["ai": .string($0.ai), "value": .string($0.value)]) })
            } catch {
                row["gs1Error"] = .string(error.description)
            }
        }
        return .object(row)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) * 1000 + Double(attoseconds) / 1e15).rounded(toPlaces: 3)
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
