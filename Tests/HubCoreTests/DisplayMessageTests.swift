import HubCore
import Testing

@Suite struct DisplayMessageTests {
    func parse(_ json: String) throws -> JSONValue { try JSONParser.parse(json) }

    func refusal(_ json: String, topic: String = "display.kiosk-1") throws -> String? {
        let data = try parse(json)
        do {
            _ = try Topic.validateData(data, topic: topic)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func aFullAnswerIsReadWithEveryField() throws {
        let message = try #require(
            try Topic.validateData(
                try parse(
                    #"{"state":"ok","title":{"en":"Ready","fr":"Prête"},"body":"Order PU-1\nat the counter","#
                        + #""items":["Lipstick",{"en":"Bag"}],"qr":"https://shop.example/r/1","ttlSeconds":12,"answers":41}"#
                ), topic: "display.kiosk-1"))
        #expect(message.state == .ok)
        #expect(message.title == .translated(["en": "Ready", "fr": "Prête"]))
        #expect(message.body == .plain("Order PU-1\nat the counter"))
        #expect(message.items == [.plain("Lipstick"), .translated(["en": "Bag"])])
        #expect(message.qr == "https://shop.example/r/1")
        #expect(message.ttlSeconds == 12)
        #expect(message.answers == 41)
    }

    @Test func defaultsApplyToOptionalFields() throws {
        let message = try #require(
            try Topic.validateData(try parse(#"{"state":"info","title":"Hi"}"#), topic: "display.k"))
        #expect(message.ttlSeconds == DisplayMessage.defaultTTL)
        #expect(message.body == nil && message.items.isEmpty && message.qr == nil && message.answers == nil)
    }

    @Test func otherTopicsHaveNoSchema() throws {
        #expect(try Topic.validateData(try parse(#"{"anything":1}"#), topic: "tryon.result.m") == nil)
    }

    @Test func eachRefusalNamesTheField() throws {
        #expect(try refusal(#"[1]"#)?.hasPrefix("data:") == true)
        #expect(try refusal(#"{"state":"fine","title":"x"}"#)?.hasPrefix("data.state:") == true)
        #expect(try refusal(#"{"state":"ok"}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":""}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":7}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":"a\u0007b"}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":"a\nb"}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":"a\u202Eb"}"#)?.hasPrefix("data.title:") == true)
        #expect(try refusal(#"{"state":"ok","title":{"EN":"x"}}"#)?.hasPrefix("data.title.EN:") == true)
        #expect(try refusal(#"{"state":"ok","title":{"fr":3}}"#)?.hasPrefix("data.title.fr:") == true)
        #expect(try refusal(#"{"state":"ok","title":{}}"#)?.hasPrefix("data.title:") == true)
        #expect(
            try refusal(#"{"state":"ok","title":"x","items":["a",{"de":""}]}"#)?.hasPrefix("data.items[1].de:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","items":"a"}"#)?.hasPrefix("data.items:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","ttlSeconds":0}"#)?.hasPrefix("data.ttlSeconds:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","ttlSeconds":1e30}"#)?.hasPrefix("data.ttlSeconds:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","answers":-4}"#)?.hasPrefix("data.answers:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","qr":""}"#)?.hasPrefix("data.qr:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x","colour":"red"}"#)?.hasPrefix("data.colour:") == true)
        #expect(
            try refusal(#"{"state":"ok","title":"x"}"#, topic: "display.kiosk-1.extra")?.hasPrefix("topic:") == true)
        #expect(try refusal(#"{"state":"ok","title":"x"}"#, topic: "display.Kiosk")?.hasPrefix("topic:") == true)
    }

    @Test func sizesAreBounded() throws {
        let long = String(repeating: "é", count: DisplayMessage.maxTitle + 1)
        #expect(try refusal(#"{"state":"ok","title":"\#(long)"}"#)?.hasPrefix("data.title:") == true)
        let exact = String(repeating: "é", count: DisplayMessage.maxTitle)
        #expect(try refusal(#"{"state":"ok","title":"\#(exact)"}"#) == nil)
        let items = Array(repeating: #""x""#, count: DisplayMessage.maxItems + 1).joined(separator: ",")
        #expect(try refusal(#"{"state":"ok","title":"x","items":[\#(items)]}"#)?.hasPrefix("data.items:") == true)
        let languages = (0..<17).map { #""l\#(Character(UnicodeScalar(97 + $0)!))":"x""# }.joined(separator: ",")
        #expect(try refusal(#"{"state":"ok","title":{\#(languages)}}"#)?.hasPrefix("data.title:") == true)
    }
}
