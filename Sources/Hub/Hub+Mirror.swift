import Bus
import Capture
import Foundation
import HubCore
import Logging
import TryOn

extension Hub {
    /// The mirrors' shared state when any mirror is configured: the catalog is loaded and validated here, so a bad
    /// shade stops the hub at start with its SKU named.
    static func mirrorHub(
        config: HubConfig, configDirectory: URL, devices: [DeviceDescriptor], stateDirectory: URL, logger: Logger
    ) throws -> MirrorHub? {
        let mirrorIDs = devices.filter { $0.kind == .mirror }.map(\.id)
        guard !mirrorIDs.isEmpty else { return nil }
        guard let path = config.shades else {
            throw ConfigError(
                file: configDirectory.appendingPathComponent("hub.json").path, keyPath: "shades",
                problem: "mirrors are configured, so the hub needs a shade catalog (e.g. \"shades\": \"shades.json\")")
        }
        let url = URL(fileURLWithPath: path, relativeTo: configDirectory).standardizedFileURL
        let catalog: ShadeCatalog
        do {
            catalog = try ShadeCatalog.load(url)
        } catch {
            throw ConfigError(file: error.file, keyPath: error.location, problem: error.problem)
        }
        let models =
            config.models.map { URL(fileURLWithPath: $0, relativeTo: configDirectory).standardizedFileURL }
            ?? stateDirectory.appendingPathComponent("models")
        return try MirrorHub(
            catalog: catalog, mirrors: mirrorIDs, stateDirectory: stateDirectory, modelsDirectory: models,
            logger: logger)
    }

    static func mirrorPipeline(_ descriptor: DeviceDescriptor, _ reporter: DeviceReporter, mirrors: MirrorHub, bus: Bus)
        throws -> MirrorPipeline
    {
        let settings = descriptor.mirror ?? MirrorSettings()
        let folder = URL(fileURLWithPath: descriptor.file).deletingLastPathComponent()
        if let sku = settings.defaultShade, mirrors.catalog[sku] == nil {
            throw ConfigError(
                file: descriptor.file, keyPath: "mirror.defaultShade", problem: "no shade '\(sku)' in the catalog")
        }
        let source: any FrameSource
        var motion: (@Sendable (UInt64, Int) -> PortraitSource.Motion)?
        switch descriptor.camera {
        case .replay(let path, let fps, _, let hold)?:
            let file = URL(fileURLWithPath: path, relativeTo: folder).standardizedFileURL
            let moves = hold == 1
            source = PortraitSource(file: file, fps: fps, moves: moves)
            motion = { index, width in PortraitSource.motion(at: index, fps: fps, moves: moves, width: width) }
        case .v4l2(let path, let width, let height, let fps, let format, let controls, let stallSeconds)?:
            guard format == "NV12" else {
                throw ConfigError(
                    file: descriptor.file, keyPath: "camera.format",
                    problem: "a mirror camera must be set to \"NV12\" (the renderer works on its colour planes)")
            }
            source = V4L2Camera(
                path: path, width: width, height: height, fps: fps, format: format,
                stallTimeout: .milliseconds(Int((stallSeconds * 1000).rounded())), controls: controls)
        case nil:
            throw ConfigError(file: descriptor.file, keyPath: "camera", problem: "a mirror needs a camera")
        }
        var mesh: FaceLandmarks?
        if let landmarks = settings.landmarks {
            mesh = try loadMesh(URL(fileURLWithPath: landmarks, relativeTo: folder).standardizedFileURL, descriptor)
        }
        return MirrorPipeline(
            reporter: reporter, source: source, settings: settings, mirrors: mirrors, bus: bus, portraitMesh: mesh,
            portraitMotion: mesh == nil ? nil : motion)
    }

    /// A 468-point mesh file: `{"landmarks": [[x, y, z], ...]}` in the portrait's pixels.
    static func loadMesh(_ url: URL, _ descriptor: DeviceDescriptor) throws -> FaceLandmarks {
        func fail(_ problem: String) -> ConfigError {
            ConfigError(file: descriptor.file, keyPath: "mirror.landmarks", problem: "\(url.path): \(problem)")
        }
        guard let data = try? Data(contentsOf: url) else { throw fail("cannot be read") }
        guard let value = try? JSONParser.parse(String(decoding: data, as: UTF8.self)) else {
            throw fail("is not valid JSON")
        }
        do {
            return try FaceLandmarks.mesh(from: value)
        } catch {
            throw fail(error.description)
        }
    }
}
