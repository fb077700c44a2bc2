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

    @Test func idsAreVersionFourUUIDsAndDoNotRepeat() {
        let ids = (0..<1000).map { _ in CloudEvent.randomID() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            let parsed = UUID(uuidString: id)
            #expect(parsed != nil, "not a UUID: \(id)")
            #expect(parsed?.uuidString.lowercased() == id)
            let bytes = parsed.map { withUnsafeBytes(of: $0.uuid) { Array($0) } } ?? []
            #expect(bytes.count == 16 && bytes[6] >> 4 == 4, "version nibble of \(id)")
            #expect(bytes.count == 16 && bytes[8] >> 6 == 0b10, "variant bits of \(id)")
        }
    }
}
