import Config
import Foundation
import HubCore
import Testing

/// A replay camera with `format` plays its pictures as a USB camera in that format would send them.
@Suite struct ReplayAsCameraTests {
    func descriptor(_ camera: String) throws -> DeviceDescriptor {
        let json =
            #"{"id": "mirror-1", "kind": "mirror", "camera": {"type": "replay", "path": "face.jpg", \#(camera)}}"#
        return try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "m.json")
    }

    @Test func aFormatMakesTheReplayPlayAsACameraOfThatSize() throws {
        let mirror = try descriptor(#""fps": 30, "format": "MJPG", "width": 1920, "height": 1080"#)
        #expect(mirror.camera == .replay(path: "face.jpg", fps: 30, loop: true, hold: 1))
        #expect(mirror.replayAsCamera == .init(format: "MJPG", width: 1920, height: 1080))
        #expect(try descriptor(#""format": "YUYV""#).replayAsCamera == .init(format: "YUYV", width: 1280, height: 720))
    }

    @Test func withoutAFormatTheReplayIsAsBefore() throws {
        #expect(try descriptor(#""fps": 8"#).replayAsCamera == nil)
    }

    @Test(arguments: [
        (#""format": "GREY""#, "camera.format"), (#""format": "MJPG", "width": 1281"#, "camera.width"),
        (#""format": "MJPG", "height": 10"#, "camera.height"), (#""format": "MJPG", "width": 100000"#, "camera.width"),
    ])
    func aFormatOrSizeOutOfRangeNamesItsKeyPath(camera: String, keyPath: String) {
        let error = #expect(throws: ConfigError.self) { try descriptor(camera) }
        #expect(error?.keyPath == keyPath)
    }
}
