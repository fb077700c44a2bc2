import Config
import Foundation
import HubCore
import Server

extension Hub {
    /// The customer screens of the configured kiosks and mirrors, or nil when the config names no screens folder.
    /// Every language a descriptor lists must have its strings file, so a screen never starts without its texts.
    static func screenDirectory(config: HubConfig, configDirectory: URL, devices: [DeviceDescriptor]) throws
        -> ScreenDirectory?
    {
        guard let path = config.screens else { return nil }
        let folder = URL(fileURLWithPath: path, relativeTo: configDirectory).standardizedFileURL
        var screens: [DeviceID: ScreenDirectory.Screen] = [:]
        for descriptor in devices where descriptor.kind == .kiosk || descriptor.kind == .mirror {
            let languages = descriptor.screen?.languages ?? ScreenSettings().languages
            for language in languages {
                let file = folder.appendingPathComponent("i18n/\(language).json").path
                guard FileManager.default.fileExists(atPath: file) else {
                    throw ConfigError(
                        file: descriptor.file, keyPath: "screen.languages",
                        problem: "no strings for '\(language)' (\(file) is missing)")
                }
            }
            screens[descriptor.id] = .init(
                kind: descriptor.kind, name: descriptor.name, languages: languages,
                answerTimeoutSeconds: descriptor.screen?.answerTimeoutSeconds ?? ScreenSettings().answerTimeoutSeconds)
        }
        return ScreenDirectory(folder: folder.path, devices: screens, share: config.share)
    }
}
