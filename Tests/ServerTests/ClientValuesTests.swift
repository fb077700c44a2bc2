import HubCore
import Testing

@testable import Server

@Suite struct ClientValuesTests {
    func query(_ text: String) -> ClientQuery { ClientQuery(queryString: text) }

    @Test func sequencesAboveInt64MaxAreRefusedNamingTheParameter() {
        #expect(throws: ClientValueError.self) { try EventsQuery(query("after=9223372036854775808")) }
        do {
            _ = try EventsQuery(query("after=9223372036854775808"))
        } catch {
            #expect(error.parameter == "after")
        }
        #expect((try? EventsQuery(query("after=9223372036854775807")))?.after == UInt64(Int64.max))
    }

    @Test func onlyPlainDecimalDigitsAreNumbers() {
        for text in ["", "+5", "-1", " 5", "5 ", "0x10", "1e3", "1.0", "١٢", "99999999999999999999999"] {
            #expect(throws: ClientValueError.self, "\(text)") {
                try self.query("after=" + text).integer("after", in: 0...UInt64(Int64.max), default: 0)
            }
        }
        #expect((try? query("after=007").integer("after", in: 0...10, default: 0)) == 7)
    }

    @Test func limitIsKeptToOneToAThousandAndDefaultsToAHundred() throws {
        #expect(try EventsQuery(query("")).limit == 100)
        #expect(try EventsQuery(query("limit=1000")).limit == 1000)
        #expect(throws: ClientValueError.self) { try EventsQuery(query("limit=0")) }
        #expect(throws: ClientValueError.self) { try EventsQuery(query("limit=1001")) }
    }

    @Test func aParameterGivenTwiceOrTooLongIsRefused() {
        #expect(throws: ClientValueError.self) { try EventsQuery(query("after=1&after=2")) }
        #expect(throws: ClientValueError.self) {
            try EventsQuery(query("topic=" + String(repeating: "a", count: ClientQuery.maxValueBytes + 1)))
        }
    }

    @Test func topicsAreCheckedAsPatterns() throws {
        #expect(try EventsQuery(query("topic=scan.*")).pattern.matches("scan.kiosk-1"))
        #expect(throws: ClientValueError.self) { try EventsQuery(query("topic=scan..x")) }
    }

    @Test func hexIDsAreThirtyTwoLowercaseHexDigits() {
        #expect(PathValue.isHexID("0123456789abcdef0123456789abcdef"))
        #expect(!PathValue.isHexID("0123456789ABCDEF0123456789abcdef"))
        #expect(!PathValue.isHexID("0123456789abcdef"))
    }
}
