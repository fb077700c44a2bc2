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

    @Test(arguments: [
        "", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "+1", "tru", "nul", "{} x",
        "\"unterminated", "\"tab\tinside\"", #""\ud83d""#, #""\udecd""#, #""\x""#, #""\u12""#, "NaN", "Infinity",
        "1e999", "[1 2]",
    ])
    func invalidJSONIsRefusedWithAPosition(_ text: String) {
        let error = #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
        #expect((error?.offset ?? -1) >= 0)
        #expect(error?.description.contains("at byte") == true)
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
