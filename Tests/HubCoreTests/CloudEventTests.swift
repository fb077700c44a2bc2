import Foundation
import HubCore
import Testing

@Suite struct CloudEventTests {
    @Test func encodesTheCloudEventsRequiredAttributes() throws {
        let event = CloudEvent(
            source: "storehub://shop/kiosk-1", type: EventType.scan, subject: "scan.kiosk-1",
            time: Date(timeIntervalSince1970: 1_800_000_000.25), data: .object(["text": .string("Müller")]))
        let object = try JSONDecoder().decode(JSONValue.self, from: Data(try event.encoded()))
        #expect(object["specversion"] == .string("1.0"))
        #expect(object["type"] == .string("storehub.scan"))
        #expect(object["subject"] == .string("scan.kiosk-1"))
        #expect(object["time"] == .string("2027-01-15T08:00:00.250Z"))
        #expect(object["datacontenttype"] == .string("application/json"))
        #expect(object["data"]?["text"] == .string("Müller"))
        #expect(object["id"]?.stringValue?.isEmpty == false)
    }
}
