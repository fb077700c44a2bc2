import Foundation
import HubCore
import Testing

@Suite struct JSONValueTests {
    private func roundTrip(_ value: JSONValue) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(value.jsonBytes))
    }

    @Test(arguments: [
        "plain", "quote \" and backslash \\", "line\nbreak\ttab\r", "control \u{01}\u{1F}", "Müller 取件 🛍️", "",
        "</script>",
    ])
    func stringsSurviveWritingAndReading(_ text: String) throws {
        #expect(try roundTrip(.string(text)) == .string(text))
    }

    @Test func nestedValuesSurviveWritingAndReading() throws {
        let value = JSONValue.object([
            "n": .null, "t": .bool(true), "f": .bool(false), "i": .int(-42), "big": .int(Int64.max), "d": .double(2.5),
            "a": .array([.int(1), .string("x"), .object([:]), .array([])]),
        ])
        #expect(try roundTrip(value) == value)
    }

    @Test func objectKeysAreWrittenSorted() {
        let value = JSONValue.object(["b": .int(1), "a": .int(2)])
        #expect(String(decoding: value.jsonBytes, as: UTF8.self) == #"{"a":2,"b":1}"#)
    }

    @Test func decodingKeepsEachKind() throws {
        let text = #"{"s":"1","i":1,"d":1.5,"b":true,"n":null,"a":[false],"o":{"k":"v"}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["s"] == .string("1"))
        #expect(value["i"] == .int(1))
        #expect(value["d"] == .double(1.5))
        #expect(value["b"] == .bool(true))
        #expect(value["n"] == .null)
        #expect(value["a"] == .array([.bool(false)]))
        #expect(value["o"]?["k"] == .string("v"))
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 1_800_000_000.999)) == "2027-01-15T08:00:00.999Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }
}
