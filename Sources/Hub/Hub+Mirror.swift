import Bus
import Capture
import Config
import EventLog
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
            if let camera = descriptor.replayAsCamera {
                try checkMirrorCamera(descriptor, width: camera.width, height: camera.height, format: camera.format)
                source = replayAsCamera(descriptor.id, camera, fps: fps, hold: 1, output: .colour) {
                    try CameraReplaySource.portraitPictures(file: file, width: camera.width, height: camera.height)
                }
            } else {
                source = PortraitSource(file: file, fps: fps, moves: moves)
                motion = { index, width in PortraitSource.motion(at: index, fps: fps, moves: moves, width: width) }
            }
        case .v4l2(let path, let width, let height, let fps, let format, let controls, let stallSeconds)?:
            try checkMirrorCamera(descriptor, width: width, height: height, format: format)
            source = V4L2Camera(
                path: path, width: width, height: height, fps: fps, format: format,
                stallTimeout: .milliseconds(Int((stallSeconds * 1000).rounded())), controls: controls,
                output: .colour)
        case nil:
            throw ConfigError(file: descriptor.file, keyPath: "camera", problem: "a mirror needs a camera")
        }
        var mesh: FaceLandmarks?
        if let landmarks = settings.landmarks {
            mesh = try loadMesh(URL(fileURLWithPath: landmarks, relativeTo: folder).standardizedFileURL, descriptor)
        }
        let pipeline = MirrorPipeline(
            reporter: reporter, source: source, settings: settings, mirrors: mirrors, bus: bus, portraitMesh: mesh,
            portraitMotion: mesh == nil ? nil : motion)
        // From the hub's start on, no command is lost: not those sent while the camera opens.
        pipeline.control.start(after: bus.log.sequenceBounds.last)
        return pipeline
    }

    /// The sizes a mirror camera may be set to: the face pipeline needs 640x480 to find a face at a mirror's
    /// distance, and above 1920x1080 a frame no longer fits a small box's budget at 30 fps.
    static let mirrorCameraSizes = (width: 640...1920, height: 480...1080)

    /// A mirror's camera must deliver colour (NV12, YUYV or MJPEG, which is decoded to NV12) at an even size
    /// within `mirrorCameraSizes`.
    static func checkMirrorCamera(_ descriptor: DeviceDescriptor, width: Int, height: Int, format: String?) throws {
        if let format, !V4L2Camera.Output.colour.formats.contains(format) {
            throw ConfigError(
                file: descriptor.file, keyPath: "camera.format",
                problem: "a mirror camera takes NV12, YUYV or MJPG (the renderer needs colour), not \"\(format)\"")
        }
        let sizes = mirrorCameraSizes
        guard sizes.width.contains(width), width % 2 == 0 else {
            throw ConfigError(
                file: descriptor.file, keyPath: "camera.width",
                problem:
                    "a mirror camera's width must be even, \(sizes.width.lowerBound) to \(sizes.width.upperBound); found \(width)"
            )
        }
        guard sizes.height.contains(height), height % 2 == 0 else {
            throw ConfigError(
                file: descriptor.file, keyPath: "camera.height",
                problem:
                    "a mirror camera's height must be even, \(sizes.height.lowerBound) to \(sizes.height.upperBound); found \(height)"
            )
        }
    }

    /// A replay camera that plays its pictures as a USB camera would send them (`camera.format` on a replay).
    static func replayAsCamera(
        _ device: DeviceID, _ camera: DeviceDescriptor.ReplayAsCamera, fps: Double, hold: Int,
        output: V4L2Camera.Output, pictures: @escaping @Sendable () throws -> [[UInt8]]
    ) -> CameraReplaySource {
        CameraReplaySource(
            name: device.rawValue, width: camera.width, height: camera.height, fps: fps,
            format: CameraReplaySource.Format(rawValue: camera.format) ?? .mjpeg, output: output, hold: hold,
            pictures: pictures)
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
