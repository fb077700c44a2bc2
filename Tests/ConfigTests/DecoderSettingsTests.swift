import Config
import Foundation
import HubCore
import Testing

@Suite struct DecoderSettingsTests {
    private func descriptor(decoder: String) throws(ConfigError) -> DeviceDescriptor {
        let json = """
            {"id": "kiosk-1", "kind": "kiosk", "camera": {"type": "replay", "path": "media"}, "decoder": \(decoder)}
            """
        return try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "k.json")
    }

    private func problem(_ decoder: String) -> ConfigError? {
        do {
            _ = try descriptor(decoder: decoder)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAreSensible() throws {
        let settings = try descriptor(decoder: "{}").decoder
        #expect(settings.symbologies == ["qr", "ean13"])
        #expect(settings.duplicateWindowSeconds == 3 && !settings.oncePerSession)
        #expect(settings.strategies == nil && settings.skipStillFrames && settings.maxCpuShare == 0.5)
        #expect(settings.classes.isEmpty)
    }

    @Test func classesAndOptionsDecode() throws {
        let settings = try descriptor(
            decoder: """
                {"oncePerSession": true, "strategies": ["inverted"], "skipStillFrames": false, "maxCpuShare": 0.25,
                 "classes": [{"name": "pickup-order", "pattern": "^PU-[0-9]{8}$"},
                             {"name": "product", "symbologies": ["ean13", "upca"]}]}
                """
        ).decoder
        #expect(settings.oncePerSession && !settings.skipStillFrames && settings.maxCpuShare == 0.25)
        #expect(settings.strategies == ["inverted"])
        #expect(
            settings.classes == [
                .init(name: "pickup-order", pattern: "^PU-[0-9]{8}$"),
                .init(name: "product", symbologies: ["ean13", "upca"]),
            ])
    }

    @Test(arguments: [
        (#"{"classes": [{"name": "p", "pattern": "^PU-[0-9"}]}"#, "decoder.classes[0].pattern", "not a valid regular"),
        (#"{"classes": [{"name": "p"}]}"#, "decoder.classes[0]", "a pattern, symbologies or both"),
        (#"{"classes": [{"name": "", "pattern": "x"}]}"#, "decoder.classes[0].name", "non-empty"),
        (#"{"classes": [{"name": "p", "pattern": "x", "route": "a"}]}"#, "decoder.classes[0].route", "unknown key"),
        (
            #"{"classes": [{"name": "p", "pattern": "x"}, {"name": "p", "pattern": "y"}]}"#, "decoder.classes[1].name",
            "used twice"
        ),
        (#"{"maxCpuShare": 0}"#, "decoder.maxCpuShare", "share of one core"),
        (#"{"oncePerSession": "yes"}"#, "decoder.oncePerSession", "true or false"),
    ])
    func badDecoderSettingsNameTheirKeyPath(_ decoder: String, _ keyPath: String, _ text: String) throws {
        let error = try #require(problem(decoder))
        #expect(error.keyPath == keyPath, "\(error)")
        #expect(error.problem.contains(text), "\(error)")
    }
}
