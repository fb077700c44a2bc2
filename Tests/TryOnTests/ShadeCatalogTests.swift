import Foundation
import HubCore
import Testing

@testable import TryOn

@Suite struct ShadeCatalogTests {
    static let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Assets/shades.json")

    func parse(_ text: String) throws(ShadeCatalogError) -> ShadeCatalog {
        try ShadeCatalog.parse(Data(text.utf8), file: "shades.json")
    }

    func entry(_ fields: String) -> String {
        ##"{"shades": [{"sku": "LS-1", "name": "Red", "brand": "B", "color": "#AA0000", "finish": "matte", "opacity": 0.5}, "##
            + fields + "]}"
    }

    @Test func test_theShippedCatalog_isValidAndFindsShadesBySKU() throws {
        let catalog = try ShadeCatalog.load(Self.assets)
        #expect(catalog.shades.count >= 4)
        #expect(Set(catalog.shades.map(\.finish)) == Set(Finish.allCases))
        let first = try #require(catalog.shades.first)
        #expect(catalog[first.sku] == first)
        #expect(catalog["NO-SUCH-SKU"] == nil)
    }

    @Test func test_aBadColour_isAnErrorNamingItsSKU() {
        let error = #expect(throws: ShadeCatalogError.self) {
            try parse(
                entry(
                    ##"{"sku": "LS-77", "name": "x", "brand": "b", "color": "red", "finish": "gloss", "opacity": 1}"##))
        }
        #expect(error?.description.contains("shade 'LS-77'") == true)
        #expect(error?.description.contains("color") == true)
    }

    @Test(arguments: [
        (##""finish": "glitter", "opacity": 1"##, "finish"),
        (##""finish": "gloss", "opacity": 0"##, "opacity"),
        (##""finish": "gloss", "opacity": 1.5"##, "opacity"),
        (##""finish": "gloss""##, "opacity"),
        (##""finish": "gloss", "opacity": 1, "shine": 3"##, "unknown key 'shine'"),
        (##""finish": "gloss", "opacity": 1, "price": 3"##, "price must be a text"),
        (##""finish": "gloss", "opacity": 1, "names": {"../x": "a"}"##, "names: '../x'"),
        (##""finish": "gloss", "opacity": 1, "names": {"ja": ""}"##, "names.ja"),
        (##""finish": "gloss", "opacity": 1, "names": ["a"]"##, "names must be an object"),
    ])
    func test_badFields_areErrorsNamingTheSKUAndTheField(fields: String, expected: String) {
        let text = entry(##"{"sku": "LS-9", "name": "x", "brand": "b", "color": "#112233", "## + fields + "}")
        let error = #expect(throws: ShadeCatalogError.self) { try parse(text) }
        #expect(error?.description.contains("shade 'LS-9'") == true)
        #expect(error?.description.contains(expected) == true)
    }

    @Test func test_namesPerLanguageAndAPrice_areReadAndServed() throws {
        let catalog = try parse(
            entry(
                ##"{"sku": "LS-5", "name": "Rose", "brand": "b", "color": "#112233", "finish": "gloss", "opacity": 1, "names": {"ja": "ローズ", "zh-Hans": "玫瑰"}, "price": "24,90 €"}"##
            ))
        #expect(catalog["LS-5"]?.names == ["ja": "ローズ", "zh-Hans": "玫瑰"])
        #expect(catalog["LS-5"]?.price == "24,90 €")
        guard case .array(let served) = catalog.json, let first = served.first(where: { $0["sku"] == .string("LS-5") })
        else {
            Issue.record("the catalog is served as an array")
            return
        }
        #expect(first["names"]?["ja"] == .string("ローズ"))
        #expect(first["price"] == .string("24,90 €"))
    }

    @Test func test_aDuplicateSKU_isRefused() {
        let error = #expect(throws: ShadeCatalogError.self) {
            try parse(
                entry(
                    ##"{"sku": "LS-1", "name": "x", "brand": "b", "color": "#112233", "finish": "gloss", "opacity": 1}"##
                ))
        }
        #expect(error?.description.contains("shade 'LS-1'") == true)
        #expect(error?.description.contains("twice") == true)
    }

    @Test func test_anEntryWithoutSKU_isNamedByPosition() {
        let error = #expect(throws: ShadeCatalogError.self) {
            try parse(entry(##"{"name": "x", "brand": "b", "color": "#112233", "finish": "gloss", "opacity": 1}"##))
        }
        #expect(error?.description.contains("shades[1]") == true)
    }

    @Test func test_brokenJSONAndEmptyCatalogs_areRefused() {
        #expect(throws: ShadeCatalogError.self) { try parse("{\"shades\": [") }
        #expect(throws: ShadeCatalogError.self) { try parse(##"{"shades": []}"##) }
        #expect(throws: ShadeCatalogError.self) { try parse(##"[]"##) }
    }
}

@Suite struct ShadeCatalogGTINTests {
    func parse(_ shades: String) throws(ShadeCatalogError) -> ShadeCatalog {
        try ShadeCatalog.parse(Data((#"{"shades": ["# + shades + "]}").utf8), file: "shades.json")
    }

    func shade(_ sku: String, _ gtins: String) -> String {
        ##"{"sku": "\##(sku)", "name": "x", "brand": "b", "color": "#112233", "finish": "gloss", "opacity": 1, "gtins": \##(gtins)}"##
    }

    @Test func aListedGTINFindsItsShadeAlsoAsTheGTIN14OfAGS1DataMatrix() throws {
        let catalog = try parse(shade("LS-1", #"["4012345671018"]"#) + ", " + shade("LS-2", #"["4012345671025"]"#))
        #expect(catalog.shade(gtin: "4012345671025")?.sku == "LS-2")
        #expect(catalog.shade(gtin: "04012345671018")?.sku == "LS-1")
        #expect(catalog.shade(gtin: "4012345671032") == nil)
        #expect(catalog.shade(gtin: "14012345671015") == nil)
    }

    @Test func theShippedCatalogListsAGTINForEveryShade() throws {
        let catalog = try ShadeCatalog.load(ShadeCatalogTests.assets)
        for shade in catalog.shades {
            let gtin = try #require(shade.gtins.first, "\(shade.sku)")
            #expect(catalog.shade(gtin: gtin) == shade)
        }
    }

    @Test(arguments: [
        (#"["4012345671019"]"#, "gtins[0]"),
        (#"["401234567101"]"#, "gtins[0]"),
        (#"["4012345671018", "x"]"#, "gtins[1]"),
        (#""4012345671018""#, "list"),
        (#"["4012345671018", "04012345671018"]"#, "twice"),
    ])
    func badGTINsAreErrorsNamingTheShadeAndTheEntry(gtins: String, expected: String) {
        let error = #expect(throws: ShadeCatalogError.self) { try parse(shade("LS-9", gtins)) }
        #expect(error?.description.contains("shade 'LS-9'") == true)
        #expect(error?.description.contains(expected) == true)
    }

    @Test func aGTINListedByTwoShadesIsRefused() {
        let error = #expect(throws: ShadeCatalogError.self) {
            try parse(shade("LS-1", #"["4012345671018"]"#) + ", " + shade("LS-2", #"["4012345671018"]"#))
        }
        #expect(error?.description.contains("already listed by shade 'LS-1'") == true)
    }
}
