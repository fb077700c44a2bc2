import Config
import Foundation
import HubCore
import Testing

@Suite struct ScreenSettingsTests {
    @Test func languageTagsAreCheckedBeforeTheyNameAFile() {
        for good in ["en", "fr", "zh-Hans", "de-CH", "ast"] { #expect(ScreenSettings.isLanguageTag(good), "\(good)") }
        for bad in ["", "e", "EN", "../en", "en/", "zh-", "en_GB", "english", "zh-Hans-CN-x-very-long-tag", "de.json"] {
            #expect(!ScreenSettings.isLanguageTag(bad), "\(bad)")
        }
    }

    @Test func aDescriptorListsItsScreensLanguagesDefaultFirst() throws {
        let json =
            #"{"id": "k", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}, "screen": {"languages": ["fr", "en"]}}"#
        let descriptor = try JSONDecoder().decode(DeviceDescriptor.self, from: Data(json.utf8))
        #expect(descriptor.screen?.languages == ["fr", "en"])
        let plain = #"{"id": "k", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}}"#
        #expect(try JSONDecoder().decode(DeviceDescriptor.self, from: Data(plain.utf8)).screen?.languages == ["en"])
        for bad in [#"{"languages": []}"#, #"{"languages": ["en", "en"]}"#, #"{"languages": ["../etc"]}"#] {
            let text = #"{"id": "k", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}, "screen": \#(bad)}"#
            #expect(throws: (any Error).self) { try JSONDecoder().decode(DeviceDescriptor.self, from: Data(text.utf8)) }
        }
    }

    @Test func aKioskWaitsFourSecondsForAnAnswerUnlessItsDescriptorSaysOtherwise() throws {
        func descriptor(_ kind: String, _ screen: String) throws -> DeviceDescriptor {
            let camera = #"{"type": "replay", "path": "x"}"#
            let text = #"{"id": "k", "kind": "\#(kind)", "camera": \#(camera), "screen": \#(screen)}"#
            return try JSONDecoder().decode(DeviceDescriptor.self, from: Data(text.utf8))
        }
        #expect(try descriptor("kiosk", "{}").screen?.answerTimeoutSeconds == 4)
        #expect(try descriptor("kiosk", #"{"answerTimeoutSeconds": 2.5}"#).screen?.answerTimeoutSeconds == 2.5)
        #expect(try descriptor("kiosk", #"{"answerTimeoutSeconds": 30}"#).screen?.answerTimeoutSeconds == 30)
        for bad in ["0", "0.4", "31", "-1", #""4""#, "true"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try descriptor("kiosk", #"{"answerTimeoutSeconds": \#(bad)}"#)
            }
        }
        #expect(try descriptor("mirror", "{}").screen?.languages == ["en"])
        do {
            _ = try descriptor("mirror", #"{"answerTimeoutSeconds": 4}"#)
            Issue.record("a mirror took an answer timeout")
        } catch {
            #expect("\(error)".contains("only a kiosk"), "\(error)")
        }
    }

    @Test func anOutOfRangeAnswerTimeoutIsAConfigErrorNamingTheKeyAndTheRange() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "screen-timeout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text =
            #"{"id": "k", "kind": "kiosk", "camera": {"type": "replay", "path": "x"}, "#
            + #""screen": {"answerTimeoutSeconds": 90}}"#
        try Data(text.utf8).write(to: folder.appendingPathComponent("k.json"))
        do {
            _ = try DeviceDirectory.load(folder)
            Issue.record("a 90 s answer timeout was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("answerTimeoutSeconds"), "\(message)")
            #expect(message.contains("0.5 to 30"), "\(message)")
        }
    }

    @Test func theShareTemplateNeedsItsPlaceholderOnceAndMakesHubPathsAbsolute() throws {
        let hub = ShareSettings()
        #expect(hub.url(for: "ab12", origin: "http://127.0.0.1:8080") == "http://127.0.0.1:8080/share/ab12")
        let service = try JSONDecoder().decode(
            ShareSettings.self, from: Data(#"{"urlTemplate": "https://share.example/s/{snapshotId}?x=1"}"#.utf8))
        #expect(service.url(for: "ab12", origin: "http://hub") == "https://share.example/s/ab12?x=1")
        for bad in [
            "https://share.example/s/", "https://a/{snapshotId}/{snapshotId}", "ftp://a/{snapshotId}",
            "https://a b/{snapshotId}",
        ] {
            #expect(throws: (any Error).self) {
                try JSONDecoder().decode(ShareSettings.self, from: Data(#"{"urlTemplate": "\#(bad)"}"#.utf8))
            }
        }
    }
}
