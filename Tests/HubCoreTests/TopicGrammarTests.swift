import HubCore
import Testing

/// Topics are a strict grammar, checked in one place (`Topic`) for publish, subscribe, REST and the uplink.
@Suite struct TopicGrammarTests {
    @Test(arguments: [
        "device.status.mirror-1\u{0}.dev1", "scan.#.dev1", "scan.+.dev1", "Scan.kiosk-1", "scan.kiosk 1",
        "scan/kiosk-1",
        "scan.kiosk-1\n", "scan.kiosk-1\u{7F}", "scan.kiosk-é", "scan.k\u{200B}", "scan.k:1",
        "scan." + String(repeating: "k", count: 65), String(repeating: "a.", count: 128) + "b",
    ])
    func topicsOutsideTheGrammarAreRefused(_ topic: String) {
        #expect(throws: ValidationError.self) { try Topic.validate(topic) }
        #expect(throws: ValidationError.self) { try TopicPattern(validating: topic) }
    }

    @Test(arguments: ["scan.kiosk-1", "device.status.mirror_2", "tryon.result.m-1", "a.0.b-c_d"])
    func topicsInTheGrammarAreAccepted(_ topic: String) {
        #expect(throws: Never.self) { try Topic.validate(topic) }
        #expect(throws: Never.self) { try TopicPattern(validating: topic) }
    }

    @Test(arguments: ["scan.*", "scan.>", "*.status.*", ">"])
    func patternsMayHoldWholeSegmentWildcards(_ pattern: String) {
        #expect(throws: Never.self) { try TopicPattern(validating: pattern) }
    }

    @Test(arguments: ["scan.#", "scan.+", "scan.*\u{0}", "scan.>.x", "scan.k>", "scan.\u{0}.>"])
    func patternsWithOtherWildcardsOrControlCharactersAreRefused(_ pattern: String) {
        #expect(throws: ValidationError.self) { try TopicPattern(validating: pattern) }
    }

    @Test func theErrorSaysWhichSegmentAndEscapesControlCharacters() {
        let error = #expect(throws: ValidationError.self) { try Topic.validate("device.status.mirror-1\u{0}.dev1") }
        #expect(error?.reason.contains("segment 3") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("\\0") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("\u{0}") == false)
    }

    @Test func deviceIDsFollowTheSegmentRule() {
        #expect(throws: Never.self) { try DeviceID(validating: "mirror-1") }
        for bad in ["mirror-1\u{0}", "Mirror", "a.b", "", String(repeating: "d", count: 65)] {
            #expect(throws: ValidationError.self) { try DeviceID(validating: bad) }
        }
    }

    @Test func aDeviceTokenPublishesStatusOnlyForItsOwnDevice() throws {
        let device = Principal(tokenID: "t", role: .device, device: try DeviceID(validating: "dev1"))
        #expect(device.mayPublish("device.status.dev1"))
        #expect(!device.mayPublish("device.status.mirror-1.dev1"))
        #expect(!device.mayPublish("device.status.mirror-1"))
        #expect(device.mayPublish("mirror.landmarks.dev1"))
    }

    @Test func durableConsumerNamesBelongToTheirOwner() throws {
        let service = Principal(tokenID: "s", role: .service)
        let device = Principal(tokenID: "d", role: .device, device: try DeviceID(validating: "dev1"))
        #expect(service.consumerName("order-service") == "service/order-service")
        #expect(device.consumerName("order-service") == "device.dev1/order-service")
        #expect(service.consumerName("uplink") != "uplink")
        #expect(Principal.consumerOwnerAndName("service/order-service") == ("service", "order-service"))
        #expect(Principal.consumerOwnerAndName("device.dev1/x") == ("device.dev1", "x"))
        #expect(Principal.consumerOwnerAndName("uplink") == ("hub", "uplink"))
        #expect(Principal.consumerOwnerAndName("sink/orders") == ("hub", "sink/orders"))
    }
}
