import Foundation
import HubCore
import Testing

@Suite struct ScreenRulesTests {
    let mirror = try! DeviceID(validating: "mirror-1")
    let kiosk = try! DeviceID(validating: "kiosk-1")
    var mirrorScreen: Principal { Principal(tokenID: "0000000a", role: .screen, device: mirror, deviceKind: .mirror) }
    var kioskScreen: Principal { Principal(tokenID: "0000000b", role: .screen, device: kiosk, deviceKind: .kiosk) }

    func pattern(_ text: String) -> TopicPattern { try! TopicPattern(validating: text) }

    @Test func aMirrorScreenReadsItsTryOnResultsAndStatusAndNothingElse() {
        #expect(mirrorScreen.maySubscribe(pattern("tryon.result.mirror-1")))
        #expect(mirrorScreen.maySubscribe(pattern("device.status.mirror-1")))
        #expect(!mirrorScreen.maySubscribe(pattern("tryon.result.mirror-2")))
        #expect(!mirrorScreen.maySubscribe(pattern("tryon.result.*")))
        #expect(!mirrorScreen.maySubscribe(pattern("tryon.>")))
        #expect(!mirrorScreen.maySubscribe(pattern("device.status.>")))
        #expect(!mirrorScreen.maySubscribe(pattern("mirror.command.mirror-1")))
        #expect(!mirrorScreen.maySubscribe(pattern("scan.mirror-1")))
        #expect(!mirrorScreen.maySubscribe(pattern(">")))
    }

    @Test func aMirrorScreenCommandsOnlyItsOwnMirror() {
        #expect(mirrorScreen.mayPublish("mirror.command.mirror-1"))
        #expect(!mirrorScreen.mayPublish("mirror.command.mirror-2"))
        #expect(!mirrorScreen.mayPublish("tryon.result.mirror-1"))
        #expect(!mirrorScreen.mayPublish("mirror.landmarks.mirror-1"))
        #expect(!mirrorScreen.mayPublish("device.command.mirror-1"))
        #expect(!mirrorScreen.mayPublish("device.status.mirror-1"))
    }

    @Test func aKioskScreenReadsItsScansAnswersAndStatusAndPublishesNothing() {
        #expect(kioskScreen.maySubscribe(pattern("scan.kiosk-1")))
        #expect(kioskScreen.maySubscribe(pattern("display.kiosk-1")))
        #expect(kioskScreen.maySubscribe(pattern("device.status.kiosk-1")))
        #expect(!kioskScreen.maySubscribe(pattern("scan.kiosk-2")))
        #expect(!kioskScreen.maySubscribe(pattern("scan.>")))
        #expect(!kioskScreen.maySubscribe(pattern("tryon.result.kiosk-1")))
        #expect(!kioskScreen.mayPublish("mirror.command.kiosk-1"))
        #expect(!kioskScreen.mayPublish("display.kiosk-1"))
        #expect(!kioskScreen.mayPublish("scan.kiosk-1"))
    }

    @Test func aKioskScreenReadsNoOtherKiosksTopicsNoWildcardsAndPublishesNoStatus() {
        for other in [
            "display.kiosk-2", "device.status.kiosk-2", "display.*", "display.>", "device.status.>", "scan.*",
            "device.status.*", "mirror.command.kiosk-1", "device.command.kiosk-1", "tryon.>", ">",
        ] {
            #expect(!kioskScreen.maySubscribe(pattern(other)), "\(other)")
        }
        for topic in ["device.status.kiosk-1", "device.command.kiosk-1", "display.kiosk-2", "scan.kiosk-2"] {
            #expect(!kioskScreen.mayPublish(topic), "\(topic)")
        }
        #expect(kioskScreen.description == "screen token for kiosk-1")
    }

    @Test func aScreenWithoutItsDeviceOrKindMayDoNothing() {
        let orphan = Principal(tokenID: "0000000c", role: .screen, device: mirror)
        #expect(!orphan.maySubscribe(pattern("tryon.result.mirror-1")))
        #expect(!orphan.mayPublish("mirror.command.mirror-1"))
        let nobody = Principal(tokenID: "0000000d", role: .screen, deviceKind: .mirror)
        #expect(!nobody.maySubscribe(pattern("tryon.result.mirror-1")))
    }

    @Test func aScreenMayNotReadTheRESTAPIsDeviceListOrHubPanel() {
        #expect(!Role.screen.mayReadAPI)
        #expect(!Role.screen.maySubscribe(pattern("tryon.result.mirror-1")))
        #expect(!Role.screen.mayPublish("mirror.command.mirror-1"))
        #expect(mirrorScreen.description == "screen token for mirror-1")
    }
}

@Suite struct MirrorCommandTests {
    func parse(_ json: String) throws -> MirrorCommand { try MirrorCommand.parse(try JSONParser.parse(json)) }

    func problem(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func everyFieldIsReadInOneCommand() throws {
        let command = try parse(
            #"{"select": "LS-101", "snapshot": true, "end": false, "split": 0.25, "lighting": "evening", "wishlist": "LS-102"}"#
        )
        #expect(command.select == "LS-101")
        #expect(command.snapshot)
        #expect(!command.end)
        #expect(command.split == .some(0.25))
        #expect(command.lighting == .evening)
        #expect(command.wishlist == "LS-102")
    }

    @Test func aNullSplitRemovesTheLineAndAnAbsentOneLeavesIt() throws {
        #expect(try parse(#"{"split": null}"#).split == .some(nil))
        #expect(try parse(#"{"split": 1}"#).split == .some(1))
        #expect(try parse(#"{"end": true}"#).split == nil)
    }

    @Test func outOfRangeAndWrongValuesAreRefusedNamingTheField() {
        #expect(problem(#"{"split": 1.5}"#)?.contains("split") == true)
        #expect(problem(#"{"split": -0.01}"#)?.contains("split") == true)
        #expect(problem(#"{"split": "half"}"#)?.contains("split") == true)
        #expect(problem(#"{"lighting": "disco"}"#)?.contains("lighting") == true)
        #expect(problem(#"{"select": ""}"#)?.contains("select") == true)
        #expect(problem(#"{"select": "LS-101\u0000"}"#)?.contains("select") == true)
        #expect(problem(#"{"wishlist": 12}"#)?.contains("wishlist") == true)
        #expect(problem(#"{"snapshot": 1}"#)?.contains("snapshot") == true)
        #expect(problem(#"{"zoom": 2}"#)?.contains("zoom") == true)
        #expect(problem(#"{}"#) != nil)
        #expect(problem(#"[1]"#) != nil)
        #expect(problem("{\"select\": \"\(String(repeating: "A", count: 65))\"}")?.contains("select") == true)
    }
}
