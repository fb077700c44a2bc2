import ArgumentParser
import Barcode
import Capture
import Foundation
import HubCore

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Decode barcodes in image files (JPEG, PGM); one JSON object per image.")

    @Option(name: .long, help: "Comma-separated symbologies.")
    var symbologies: String = "qr,ean13,ean8,upca,upce,code128"

    @Argument(help: "Image files.")
    var files: [String]

    func run() throws {
        let names = symbologies.split(separator: ",").map(String.init)
        let scanner: BarcodeScanner
        do {
            scanner = try BarcodeScanner(symbologies: try Symbology.parse(names))
        } catch {
            printError("\(error)")
            throw ExitCode(64)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failed = false
        for file in files {
            var object: [String: JSONValue] = ["file": .string(file)]
            do {
                let frame = try ImageFile.loadGrey(URL(fileURLWithPath: file))
                let symbols = try scanner.scan(frame)
                object["symbols"] = .array(
                    symbols.map { symbol in
                        var row: [String: JSONValue] = [
                            "symbology": .string(symbol.symbology.rawValue), "text": .string(symbol.text),
                            "bytes": .string(Data(symbol.bytes).base64EncodedString()),
                            "quality": .int(Int64(symbol.quality)),
                            "polygon": .array(symbol.polygon.map { .array($0.map { .int(Int64($0)) }) }),
                        ]
                        if let gtin = symbol.gtin { row["gtin"] = .string(gtin) }
                        return .object(row)
                    })
            } catch {
                object["error"] = .string("\(error)")
                failed = true
            }
            print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
        }
        if failed { throw ExitCode(65) }
    }
}
