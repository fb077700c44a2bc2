import Config
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@Suite struct ConfigTests {
    private func hubConfig(_ json: String) throws(ConfigError) -> HubConfig {
        try ConfigFile.decode(HubConfig.self, from: Data(json.utf8), file: "hub.json")
    }

    @Test func minimalHubConfigGetsLoopbackDefaults() throws {
        let config = try hubConfig(#"{"hub": "shop-12", "devices": "devices"}"#)
        #expect(config.listen.host == "127.0.0.1")
        #expect(config.listen.port == 8080)
        #expect(config.listen.isLoopback)
        #expect(config.bus == HubConfig.BusSettings())
    }

    @Test func wrongTypeNamesFileKeyPathAndExpectation() {
        let error = #expect(throws: ConfigError.self) {
            try hubConfig(#"{"hub": "shop", "devices": "d", "listen": {"port": "eighty"}}"#)
        }
        #expect(error?.file == "hub.json")
        #expect(error?.keyPath == "listen.port")
        #expect(error?.problem.contains("expected an integer") == true)
        #expect(error?.description.hasPrefix("hub.json: at listen.port:") == true)
    }

    @Test func busLimitsAreReadAndOutOfRangeOnesNamed() throws {
        let config = try hubConfig(
            #"{"hub": "shop", "devices": "d", "bus": {"maxConnections": 8, "publishRatePerToken": 2.5, "#
                + #""maxQueuedBytesPerConnection": 65536, "pingIntervalSeconds": 5}}"#)
        #expect(config.bus.maxConnections == 8)
        #expect(config.bus.publishRatePerToken == 2.5)
        #expect(config.bus.maxQueuedBytesPerConnection == 65536)
        #expect(config.bus.pingIntervalSeconds == 5)
        #expect(config.bus.maxSubscriptionsPerConnection == HubConfig.BusSettings().maxSubscriptionsPerConnection)
        for (bus, key) in [
            (#"{"maxSubscriptionsPerConnection": 0}"#, "bus.maxSubscriptionsPerConnection"),
            (#"{"publishBurst": 0}"#, "bus.publishBurst"),
            (#"{"pingIntervalSeconds": 7200}"#, "bus.pingIntervalSeconds"),
        ] {
            let error = #expect(throws: ConfigError.self) {
                try hubConfig(#"{"hub": "shop", "devices": "d", "bus": "# + bus + "}")
            }
            #expect(error?.keyPath == key)
        }
        let echo = #expect(throws: ConfigError.self) {
            try hubConfig(
                #"{"hub": "shop", "devices": "d", "listen": {"host": "0.0.0.0"}, "bus": {"conformanceEcho": true}}"#)
        }
        #expect(echo?.problem.contains("loopback") == true)
    }

    @Test func commitDelayIsReadAndOneOutsideItsRangeNamed() throws {
        #expect(try hubConfig(#"{"hub": "shop", "devices": "d"}"#).log.commitDelayMs == 2)
        #expect(try hubConfig(#"{"hub": "shop", "devices": "d", "log": {"commitDelayMs": 0}}"#).log.commitDelayMs == 0)
        for delay in ["-1", "250"] {
            let error = #expect(throws: ConfigError.self) {
                try hubConfig(#"{"hub": "shop", "devices": "d", "log": {"commitDelayMs": "# + delay + "}}")
            }
            #expect(error?.keyPath == "log.commitDelayMs")
            #expect(error?.problem.contains("100") == true)
        }
    }

    @Test func missingRequiredKeyIsNamed() {
        let error = #expect(throws: ConfigError.self) { try hubConfig(#"{"hub": "shop"}"#) }
        #expect(error?.keyPath == "devices")
        #expect(error?.problem == "required key is missing")
    }

    @Test func misspeltKeyIsAnErrorNotASilentDefault() {
        let error = #expect(throws: ConfigError.self) {
            try hubConfig(#"{"hub": "shop", "devices": "d", "bus": {"liveBufer": 10}}"#)
        }
        #expect(error?.keyPath == "bus.liveBufer")
        #expect(error?.problem.contains("unknown key") == true)
    }

    @Test func portOutOfRangeIsRefused() {
        let error = #expect(throws: ConfigError.self) {
            try hubConfig(#"{"hub": "shop", "devices": "d", "listen": {"port": 70000}}"#)
        }
        #expect(error?.keyPath == "listen.port")
    }

    @Test func brokenJSONSaysSo() {
        let error = #expect(throws: ConfigError.self) { try hubConfig(#"{"hub": "shop", "#) }
        #expect(error?.problem.contains("not valid JSON") == true)
    }

    @Test func replayKioskDescriptorDecodes() throws {
        let json = #"""
            {"id": "kiosk-1", "kind": "kiosk", "camera": {"type": "replay", "path": "media", "fps": 5},
             "decoder": {"symbologies": ["qr"], "duplicateWindowSeconds": 2}}
            """#
        let descriptor = try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        #expect(descriptor.id.rawValue == "kiosk-1")
        #expect(descriptor.name == "kiosk-1")
        #expect(descriptor.camera == .replay(path: "media", fps: 5, loop: true, hold: 1))
        #expect(descriptor.decoder.symbologies == ["qr"])
    }

    @Test func unknownCameraTypeNamesItsKeyPath() {
        let json = #"{"id": "k", "kind": "kiosk", "camera": {"type": "gopro", "path": "x"}}"#
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        }
        #expect(error?.keyPath == "camera.type")
        #expect(error?.problem.contains("gopro") == true)
    }

    @Test func v4l2CameraTakesControlsAsNumbersOrBooleansAndAStallTime() throws {
        let json = #"""
            {"id": "k", "kind": "kiosk", "camera": {"type": "v4l2", "path": "/dev/video0", "stallSeconds": 1.5,
             "controls": {"auto_exposure": 1, "focus_automatic_continuous": false, "brightness": 140}}}
            """#
        let descriptor = try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        #expect(
            descriptor.camera
                == .v4l2(
                    path: "/dev/video0", width: 1280, height: 720, fps: 30, format: nil,
                    controls: ["auto_exposure": 1, "focus_automatic_continuous": 0, "brightness": 140],
                    stallSeconds: 1.5))
    }

    @Test func controlValueThatIsNoNumberNamesTheControl() {
        let json =
            #"{"id": "k", "kind": "kiosk", "camera": {"type": "v4l2", "path": "/dev/video0", "controls": {"brightness": "high"}}}"#
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        }
        #expect(error?.keyPath == "camera.controls.brightness")
        #expect(error?.problem.contains("integer or true/false") == true)
    }

    @Test func stallTimeOutsideItsRangeIsRefused() {
        let json =
            #"{"id": "k", "kind": "kiosk", "camera": {"type": "v4l2", "path": "/dev/video0", "stallSeconds": 0}}"#
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        }
        #expect(error?.keyPath == "camera.stallSeconds")
    }

    @Test func deviceIdThatIsNoTopicSegmentIsRefused() {
        let json = #"{"id": "Kiosk.1", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}}"#
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
        }
        #expect(error?.keyPath == "id")
    }

    @Test func duplicateDeviceIdsInAFolderAreRefused() throws {
        let folder = try TemporaryFolder("devices")
        let json = #"{"id": "kiosk-1", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}}"#
        try Data(json.utf8).write(to: folder.file("a.json"))
        try Data(json.utf8).write(to: folder.file("b.json"))
        let error = #expect(throws: ConfigError.self) { try DeviceDirectory.load(folder.url) }
        #expect(error?.file.hasSuffix("b.json") == true)
        #expect(error?.problem.contains("already used") == true)
    }
}
