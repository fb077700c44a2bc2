import Config
import Foundation
import HubCore

/// How a lipstick reflects light; the renderer shapes the lips' highlights by it.
package enum Finish: String, Sendable, Codable, CaseIterable {
    /// Flattens highlights.
    case matte
    /// Keeps the lips' own highlights.
    case satin
    /// Boosts specular highlights.
    case gloss
    /// Adds fine sparkle that stays put on the lips.
    case shimmer
}

/// One lipstick shade of the catalog.
package struct Shade: Sendable, Codable, Equatable {
    /// The product's stock-keeping unit; try-on results and cart requests name it.
    package var sku: String
    package var name: String
    package var brand: String
    /// sRGB, `#RRGGBB`.
    package var color: String
    package var finish: Finish
    /// How much of the shade covers the lips, 0 (none) exclusive to 1 (opaque).
    package var opacity: Double
    /// The name per language (`{"ja": "..."}`) where it differs from `name`, which is the fallback.
    package var names: [String: String]
    /// The price as the shop shows it ("24,90 €"), or nil: screens then show none.
    package var price: String?
    /// The GTIN-13s printed on the product's packaging (EAN-13, or the GTIN of its GS1 DataMatrix): a code held
    /// up to a mirror selects the shade that lists it. GTIN-14s with a leading 0 are stored as their GTIN-13.
    package var gtins: [String]

    package init(
        sku: String, name: String, brand: String, color: String, finish: Finish, opacity: Double,
        names: [String: String] = [:], price: String? = nil, gtins: [String] = []
    ) {
        self.sku = sku
        self.name = name
        self.brand = brand
        self.color = color
        self.finish = finish
        self.opacity = opacity
        self.names = names
        self.price = price
        self.gtins = gtins
    }

    /// The colour as sRGB components 0...255; nil when `color` is not `#RRGGBB`.
    package var rgb: SIMD3<Double>? { Self.parseHex(color) }

    static func parseHex(_ text: String) -> SIMD3<Double>? {
        let digits = Array(text.utf8)
        guard digits.count == 7, digits[0] == UInt8(ascii: "#") else { return nil }
        var values: [Double] = []
        for index in stride(from: 1, to: 7, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else {
                return nil
            }
            values.append(Double(byte))
        }
        return SIMD3(values[0], values[1], values[2])
    }
}

/// A catalog that cannot be used: the file, the shade (by SKU, or by position when it has none) and the problem.
package struct ShadeCatalogError: Error, Sendable, CustomStringConvertible {
    package var file: String
    /// `shade 'LS-104'`, `shades[3]`, or empty for the whole file.
    package var location: String
    package var problem: String

    package var description: String { location.isEmpty ? "\(file): \(problem)" : "\(file): \(location): \(problem)" }
}

/// The shades a mirror offers, read from a JSON file (`{"shades": [{"sku": ..., ...}]}`) and validated whole at
/// start: a bad entry stops the hub with an error that names its SKU, rather than failing when a shopper picks it.
package struct ShadeCatalog: Sendable, Equatable {
    package let shades: [Shade]
    private let index: [String: Int]
    private let byGTIN: [String: Int]

    package init(shades: [Shade]) {
        self.shades = shades
        var index: [String: Int] = [:]
        var byGTIN: [String: Int] = [:]
        for (position, shade) in shades.enumerated() {
            if index[shade.sku] == nil { index[shade.sku] = position }
            for gtin in shade.gtins where byGTIN[gtin] == nil { byGTIN[gtin] = position }
        }
        self.index = index
        self.byGTIN = byGTIN
    }

    package subscript(sku: String) -> Shade? { index[sku].map { shades[$0] } }

    /// The shade whose packaging carries the GTIN (13 digits, or 14 with a leading 0 as in GS1 AI 01).
    package func shade(gtin: String) -> Shade? {
        guard let key = Self.gtin13(gtin) else { return nil }
        return byGTIN[key].map { shades[$0] }
    }

    /// A GTIN-13 from 13 digits, or from a GTIN-14 whose indicator digit is 0; nil for anything else.
    static func gtin13(_ text: String) -> String? {
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        switch text.utf8.count {
        case 13: return text
        case 14 where text.hasPrefix("0"): return String(text.dropFirst())
        default: return nil
        }
    }

    /// Reads and validates a catalog file.
    package static func load(_ url: URL) throws(ShadeCatalogError) -> ShadeCatalog {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ShadeCatalogError(file: url.path, location: "", problem: "cannot be read")
        }
        return try parse(data, file: url.path)
    }

    /// Validates a catalog's JSON; `file` names it in errors.
    package static func parse(_ data: Data, file: String) throws(ShadeCatalogError) -> ShadeCatalog {
        let root: JSONValue
        do {
            root = try JSONParser.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw ShadeCatalogError(file: file, location: "", problem: "not valid JSON (\(error))")
        }
        guard case .object(let top) = root, case .array(let entries)? = top["shades"] else {
            throw ShadeCatalogError(file: file, location: "", problem: #"expected {"shades": [ ... ]}"#)
        }
        if let unknown = top.keys.first(where: { $0 != "shades" }) {
            throw ShadeCatalogError(file: file, location: "", problem: "unknown key '\(unknown)'")
        }
        var shades: [Shade] = []
        var seen: Set<String> = []
        var gtinOwners: [String: String] = [:]
        for (position, entry) in entries.enumerated() {
            let shade = try validate(entry, position: position, file: file)
            guard seen.insert(shade.sku).inserted else {
                throw ShadeCatalogError(
                    file: file, location: "shade '\(shade.sku)'",
                    problem: "SKU is listed twice (again at shades[\(position)])")
            }
            for gtin in shade.gtins {
                if let owner = gtinOwners.updateValue(shade.sku, forKey: gtin) {
                    throw ShadeCatalogError(
                        file: file, location: "shade '\(shade.sku)'",
                        problem: "GTIN \(gtin) is already listed by shade '\(owner)'")
                }
            }
            shades.append(shade)
        }
        guard !shades.isEmpty else {
            throw ShadeCatalogError(file: file, location: "", problem: "the catalog lists no shades")
        }
        return ShadeCatalog(shades: shades)
    }

    static let keys: Set<String> = ["sku", "name", "brand", "color", "finish", "opacity", "names", "price", "gtins"]

    private static func validate(_ entry: JSONValue, position: Int, file: String) throws(ShadeCatalogError) -> Shade {
        guard case .object(let fields) = entry else {
            throw ShadeCatalogError(file: file, location: "shades[\(position)]", problem: "expected an object")
        }
        guard let sku = fields["sku"]?.stringValue, isValidSKU(sku) else {
            throw ShadeCatalogError(
                file: file, location: "shades[\(position)]",
                problem: "sku must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        func fail(_ problem: String) -> ShadeCatalogError {
            ShadeCatalogError(file: file, location: "shade '\(sku)'", problem: problem)
        }
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail("unknown key '\(unknown)' (expected \(keys.sorted().joined(separator: ", ")))")
        }
        guard let name = fields["name"]?.stringValue, !name.isEmpty else { throw fail("name must be a non-empty text") }
        guard let brand = fields["brand"]?.stringValue, !brand.isEmpty else {
            throw fail("brand must be a non-empty text")
        }
        guard let color = fields["color"]?.stringValue, Shade.parseHex(color) != nil else {
            throw fail("color must be an sRGB hex colour like \"#A3243B\"")
        }
        guard let finishName = fields["finish"]?.stringValue, let finish = Finish(rawValue: finishName) else {
            throw fail("finish must be one of \(Finish.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let opacity: Double
        switch fields["opacity"] {
        case .double(let value)?: opacity = value
        case .int(let value)?: opacity = Double(value)
        default: throw fail("opacity must be a number above 0 and at most 1")
        }
        guard opacity > 0 && opacity <= 1 else { throw fail("opacity \(opacity) is not above 0 and at most 1") }
        var names: [String: String] = [:]
        switch fields["names"] {
        case nil: break
        case .object(let entries)?:
            for (language, value) in entries {
                guard ScreenSettings.isLanguageTag(language) else {
                    throw fail("names: '\(language.prefix(20))' is not a language tag like \"ja\" or \"zh-Hans\"")
                }
                guard let text = value.stringValue, (1...200).contains(text.count) else {
                    throw fail("names.\(language) must be a text of 1 to 200 characters")
                }
                names[language] = text
            }
        default: throw fail(#"names must be an object of language to name, like {"ja": "..."}"#)
        }
        var price: String?
        if let value = fields["price"] {
            guard let text = value.stringValue, (1...32).contains(text.count) else {
                throw fail(#"price must be a text of 1 to 32 characters as the shop shows it, like "24,90 €""#)
            }
            price = text
        }
        var gtins: [String] = []
        switch fields["gtins"] {
        case nil: break
        case .array(let values)?:
            for (index, value) in values.enumerated() {
                guard let text = value.stringValue, let gtin = gtin13(text), GTIN.hasValidCheckDigit(gtin) else {
                    throw fail(
                        "gtins[\(index)] must be a GTIN-13 (or a GTIN-14 starting with 0) with a valid check digit")
                }
                guard !gtins.contains(gtin) else { throw fail("gtins[\(index)] \(gtin) is listed twice") }
                gtins.append(gtin)
            }
        default: throw fail("gtins must be a list of GTIN-13 texts")
        }
        return Shade(
            sku: sku, name: name, brand: brand, color: color, finish: finish, opacity: opacity, names: names,
            price: price, gtins: gtins)
    }

    static func isValidSKU(_ sku: String) -> Bool {
        !sku.isEmpty && sku.utf8.count <= 64
            && sku.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
            }
    }

    /// The catalog as GET /api/v1/shades serves it.
    package var json: JSONValue {
        .array(
            shades.map {
                var fields: [String: JSONValue] = [
                    "sku": .string($0.sku), "name": .string($0.name), "brand": .string($0.brand),
                    "color": .string($0.color), "finish": .string($0.finish.rawValue), "opacity": .double($0.opacity),
                    "gtins": .array($0.gtins.map { .string($0) }),
                ]
                if !$0.names.isEmpty { fields["names"] = .object($0.names.mapValues(JSONValue.string)) }
                if let price = $0.price { fields["price"] = .string(price) }
                return .object(fields)
            })
    }
}
