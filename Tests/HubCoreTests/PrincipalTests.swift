import HubCore
import Testing

@Suite struct PrincipalTests {
    let mirror = Principal(tokenID: "00000001", role: .device, device: try! DeviceID(validating: "mirror-1"))

    func pattern(_ text: String) -> TopicPattern { try! TopicPattern(validating: text) }

    @Test func aDeviceTokenPublishesOnlyItsOwnDevicesTopics() {
        #expect(mirror.mayPublish("mirror.landmarks.mirror-1"))
        #expect(mirror.mayPublish("tryon.result.mirror-1"))
        #expect(!mirror.mayPublish("mirror.landmarks.mirror-2"))
        #expect(!mirror.mayPublish("scan.kiosk-1"))
        #expect(!mirror.mayPublish("mirror-1"))
    }

    @Test func aDeviceTokenMayNotCommandItself() {
        #expect(!mirror.mayPublish("mirror.command.mirror-1"))
        #expect(!mirror.mayPublish("device.command.mirror-1"))
    }

    @Test func aDeviceTokenReadsOnlyTheCommandsSentToIt() {
        #expect(mirror.maySubscribe(pattern("mirror.command.mirror-1")))
        #expect(mirror.maySubscribe(pattern("device.command.mirror-1")))
        #expect(!mirror.maySubscribe(pattern("mirror.command.*")))
        #expect(!mirror.maySubscribe(pattern("mirror.command.mirror-2")))
        #expect(!mirror.maySubscribe(pattern("scan.>")))
        #expect(!mirror.maySubscribe(pattern(">")))
    }

    @Test func aDeviceTokenWithoutItsDeviceMayDoNothing() {
        let orphan = Principal(tokenID: "00000002", role: .device)
        #expect(!orphan.mayPublish("tryon.result.mirror-1"))
        #expect(!orphan.maySubscribe(pattern("mirror.command.mirror-1")))
    }

    @Test func otherRolesKeepTheirRules() {
        let service = Principal(tokenID: "00000003", role: .service)
        #expect(service.maySubscribe(pattern("scan.>")))
        #expect(!service.maySubscribe(pattern("mirror.command.>")))
        #expect(!service.mayPublish("scan.kiosk-1"))
        #expect(!service.mayPublish("mirror.command.mirror-1"))
        let staff = Principal(tokenID: "00000004", role: .staff)
        #expect(staff.mayPublish("mirror.command.mirror-1"))
        #expect(!staff.mayPublish("scan.kiosk-1"))
    }

    @Test func aServiceTokenPublishesOnlyScreenAnswers() {
        let service = Principal(tokenID: "00000005", role: .service)
        #expect(service.mayPublish("display.kiosk-1"))
        #expect(!service.mayPublish("display"))
        #expect(!service.mayPublish("scan.kiosk-1"))
        #expect(!service.mayPublish("tryon.result.mirror-1"))
        #expect(!service.mayPublish("device.status.kiosk-1"))
    }

    @Test func aDeviceTokenMayNotAnswerOnItsOwnScreen() {
        #expect(!mirror.mayPublish("display.mirror-1"))
    }
}
