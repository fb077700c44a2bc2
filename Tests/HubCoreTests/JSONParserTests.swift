import Foundation
import HubCore
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        #"{"op":"publish","topic":"a.b","data":{"n":[1,-2.5,3e2,true,false,null],"s":"x"},"ref":7}"#,
        #"  [ 1 , "two" , { } , [ ] ]  "#,
        #""esc \" \\ \/ \b \f \n \r \t \u00fc \u20AC \ud83d\udecd""#,
        #"{"k":"Müller 取件"}"#,
        "0", "-0", "123456789012", "1.5e-3", "9223372036854775807", "99999999999999999999",
    ])
    func validJSONReadsAsFoundationReadsIt(_ text: String) throws {
        let ours = try JSONParser.parse(text)
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }

    @Test func escapesBecomeTheirCharacters() throws {
        #expect(try JSONParser.parse(#""a\u00fcb\ud83d\udecd\n""#) == .string("aüb🛍\n"))
    }

    /// Each text, and the byte offset where reading stops: the first byte that cannot continue a value (or the end).
    @Test(arguments: [
        ("", 0), ("{", 1), ("{\"a\":1,}", 7), ("[1,]", 3), ("{\"a\" 1}", 5), ("{a:1}", 1), ("01", 1), ("1.", 2),
        (".5", 0), ("-", 1), ("+1", 0), ("tru", 0), ("nul", 0), ("{} x", 3), ("\"unterminated", 13),
        ("\"tab\tinside\"", 4), (#""\ud83d""#, 7), (#""\udecd""#, 7), (#""\x""#, 3), (#""\u12""#, 3), ("NaN", 0),
        ("Infinity", 0), ("1e999", 5), ("[1 2]", 3),
    ])
    func invalidJSONIsRefusedWithAPosition(_ text: String, offset: Int) {
        let error = #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
        #expect(error?.offset == offset)
        #expect(error?.description.hasSuffix("at byte \(offset)") == true)
    }

    @Test func nestingIsLimited() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let error = #expect(throws: JSONParser.Error.self) { try JSONParser.parse(deep) }
        #expect(error?.reason.contains("nested deeper") == true)
        let fine = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        #expect(try JSONParser.parse(#"{"a":1,"a":2}"#)["a"] == .int(2))
    }
}
