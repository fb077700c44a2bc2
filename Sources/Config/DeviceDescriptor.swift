import Foundation
import HubCore

/// One device of the shop, as a JSON descriptor in the hub's devices folder describes it.
package struct DeviceDescriptor: Sendable, Decodable, Equatable {
    package var id: DeviceID
    package var kind: DeviceKind
    /// For staff: "Pickup counter kiosk".
    package var name: String
    package var camera: CameraSource?
    /// Set when a replay camera names a `format` (`MJPG`, `YUYV` or `NV12`): its pictures are played as a USB camera in
    /// that format delivers them, at `width` x `height`, each frame decoded like a real camera's (load tests and
    /// benchmarks).
    package var replayAsCamera: ReplayAsCamera?
    /// A scanner's connection and how its output becomes scans; present exactly for kind `scanner`.
    package var scanner: ScannerSettings?
    package var decoder: DecoderSettings
    /// A try-on mirror's settings; present (perhaps defaulted) exactly for kind `mirror`.
    package var mirror: MirrorSettings?
    /// The customer screen of a kiosk or mirror (its languages); defaulted for those kinds, nil for scanners.
    package var screen: ScreenSettings?
    /// The file it was read from, for messages.
    package var file: String = ""

    /// Where a kiosk's or mirror's frames come from.
    package enum CameraSource: Sendable, Equatable {
        /// Image files played in a loop, for the demo and tests; each image is shown for `hold` frames. For a
        /// mirror, `path` is one colour portrait, played with small synthetic head motion unless `still`.
        case replay(path: String, fps: Double, loop: Bool, hold: Int)
        /// A V4L2 camera by stable path; `format` pins a pixel format (fourcc), else the best one is negotiated.
        /// `controls` are set on every open, by the names `storehub devices` lists; after `stallSeconds` without a
        /// frame the stream is restarted.
        case v4l2(
            path: String, width: Int, height: Int, fps: Double, format: String?, controls: [String: Int],
            stallSeconds: Double)
    }

    /// How a replay camera imitates a USB camera: the format it sends and the frame size.
    package struct ReplayAsCamera: Sendable, Equatable {
        package var format: String
        package var width: Int
        package var height: Int

        package init(format: String, width: Int, height: Int) {
            self.format = format
            self.width = width
            self.height = height
        }
    }

    /// What a kiosk decodes and how it reports it.
    package struct DecoderSettings: Sendable, Decodable, Equatable {
        /// zbar symbology names: `qr`, `ean13`, `ean8`, `upca`, `upce`, `code128`, ...
        package var symbologies: [String]
        /// The same payload from the same device within this many seconds counts once.
        package var duplicateWindowSeconds: Double
        /// A payload counts once per hub run on this device (instead of once per window).
        package var oncePerSession: Bool
        /// Decode strategy names tried when zbar alone reads nothing; nil means the recommended set.
        package var strategies: [String]?
        /// Skip frames in which nothing moved.
        package var skipStillFrames: Bool
        /// The share of one CPU core the decoder may use on average (0.05...1).
        package var maxCpuShare: Double
        /// Payload classes, first match wins: carried in scan events as `class`.
        package var classes: [PayloadClass]

        /// A named payload class: a regular expression searched in the text, symbologies, or both.
        package struct PayloadClass: Sendable, Decodable, Equatable {
            package var name: String
            package var pattern: String?
            package var symbologies: [String]?

            package init(name: String, pattern: String? = nil, symbologies: [String]? = nil) {
                self.name = name
                self.pattern = pattern
                self.symbologies = symbologies
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case name, pattern, symbologies }

            package init(from decoder: any Decoder) throws {
                try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
                let c = try decoder.container(keyedBy: CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
                symbologies = try c.decodeIfPresent([String].self, forKey: .symbologies)
                guard !name.isEmpty else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .name, in: c, debugDescription: "expected a non-empty class name")
                }
                guard pattern != nil || symbologies != nil else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: c.codingPath, debugDescription: "a class needs a pattern, symbologies or both"))
                }
                if let pattern {
                    do {
                        _ = try NSRegularExpression(pattern: pattern)
                    } catch {
                        throw DecodingError.dataCorruptedError(
                            forKey: .pattern, in: c, debugDescription: "'\(pattern)' is not a valid regular expression")
                    }
                }
                if let symbologies, symbologies.isEmpty {
                    throw DecodingError.dataCorruptedError(
                        forKey: .symbologies, in: c, debugDescription: "expected at least one symbology")
                }
            }
        }

        package init(
            symbologies: [String] = ["qr", "ean13"], duplicateWindowSeconds: Double = 3, oncePerSession: Bool = false,
            strategies: [String]? = nil, skipStillFrames: Bool = true, maxCpuShare: Double = 0.5,
            classes: [PayloadClass] = []
        ) {
            self.symbologies = symbologies
            self.duplicateWindowSeconds = duplicateWindowSeconds
            self.oncePerSession = oncePerSession
            self.strategies = strategies
            self.skipStillFrames = skipStillFrames
            self.maxCpuShare = maxCpuShare
            self.classes = classes
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case symbologies, duplicateWindowSeconds, oncePerSession, strategies, skipStillFrames, maxCpuShare, classes
        }

        package init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            symbologies = try c.decodeIfPresent([String].self, forKey: .symbologies) ?? ["qr", "ean13"]
            duplicateWindowSeconds = try c.decodeIfPresent(Double.self, forKey: .duplicateWindowSeconds) ?? 3
            oncePerSession = try c.decodeIfPresent(Bool.self, forKey: .oncePerSession) ?? false
            strategies = try c.decodeIfPresent([String].self, forKey: .strategies)
            skipStillFrames = try c.decodeIfPresent(Bool.self, forKey: .skipStillFrames) ?? true
            maxCpuShare = try c.decodeIfPresent(Double.self, forKey: .maxCpuShare) ?? 0.5
            classes = try c.decodeIfPresent([PayloadClass].self, forKey: .classes) ?? []
            guard !symbologies.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: .symbologies, in: c, debugDescription: "expected at least one symbology")
            }
            guard duplicateWindowSeconds >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .duplicateWindowSeconds, in: c, debugDescription: "expected zero or more seconds")
            }
            guard (0.05...1).contains(maxCpuShare) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxCpuShare, in: c, debugDescription: "expected a share of one core from 0.05 to 1")
            }
            var names = Set<String>()
            for (index, payloadClass) in classes.enumerated() where !names.insert(payloadClass.name).inserted {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.classes, IndexKey(index), IndexKey.name],
                        debugDescription: "class name '\(payloadClass.name)' is used twice"))
            }
        }
    }

    /// A coding key for an array index or a nested name in error key paths.
    struct IndexKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ index: Int) {
            stringValue = "\(index)"
            intValue = index
        }
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { self.init(intValue) }
        static let name = IndexKey(stringValue: "name")
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case id, kind, name, camera, scanner, decoder, mirror, screen }
    enum CameraKeys: String, CodingKey, CaseIterable {
        case type, path, fps, loop, hold, width, height, format, controls, stallSeconds
    }

    /// A control value: an integer, or true/false for boolean controls.
    struct ControlValue: Decodable {
        var value: Int

        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let flag = try? single.decode(Bool.self) {
                value = flag ? 1 : 0
            } else if let number = try? single.decode(Int.self) {
                value = number
            } else {
                throw DecodingError.dataCorruptedError(
                    in: single, debugDescription: "expected an integer or true/false")
            }
        }
    }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(DeviceID.self, forKey: .id)
        kind = try c.decode(DeviceKind.self, forKey: .kind)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? id.rawValue
        self.decoder = try c.decodeIfPresent(DecoderSettings.self, forKey: .decoder) ?? DecoderSettings()
        if c.contains(.camera) {
            let cameraDecoder = try c.superDecoder(forKey: .camera)
            try cameraDecoder.rejectUnknownKeys(allowed: CameraKeys.allCases.map(\.rawValue))
            let cam = try cameraDecoder.container(keyedBy: CameraKeys.self)
            let type = try cam.decode(String.self, forKey: .type)
            let fps = try cam.decodeIfPresent(Double.self, forKey: .fps)
            if let fps, !(fps > 0 && fps <= 120) {
                throw DecodingError.dataCorruptedError(
                    forKey: .fps, in: cam, debugDescription: "expected 0 < fps <= 120")
            }
            switch type {
            case "replay":
                let hold = try cam.decodeIfPresent(Int.self, forKey: .hold) ?? 1
                guard (1...1000).contains(hold) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .hold, in: cam, debugDescription: "expected 1 to 1000 frames per image")
                }
                camera = .replay(
                    path: try cam.decode(String.self, forKey: .path), fps: fps ?? 10,
                    loop: try cam.decodeIfPresent(Bool.self, forKey: .loop) ?? true, hold: hold)
                if let format = try cam.decodeIfPresent(String.self, forKey: .format) {
                    guard ["MJPG", "YUYV", "NV12"].contains(format) else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .format, in: cam, debugDescription: "a replay camera plays MJPG, YUYV or NV12")
                    }
                    let width = try cam.decodeIfPresent(Int.self, forKey: .width) ?? 1280
                    let height = try cam.decodeIfPresent(Int.self, forKey: .height) ?? 720
                    guard (64...4096).contains(width), width % 2 == 0 else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .width, in: cam, debugDescription: "expected an even width, 64 to 4096")
                    }
                    guard (64...4096).contains(height), height % 2 == 0 else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .height, in: cam, debugDescription: "expected an even height, 64 to 4096")
                    }
                    replayAsCamera = ReplayAsCamera(format: format, width: width, height: height)
                }
            case "v4l2":
                let format = try cam.decodeIfPresent(String.self, forKey: .format)
                if let format, !["GREY", "NV12", "YU12", "YUYV", "MJPG"].contains(format) {
                    throw DecodingError.dataCorruptedError(
                        forKey: .format, in: cam, debugDescription: "expected GREY, NV12, YU12, YUYV or MJPG")
                }
                let controls = try cam.decodeIfPresent([String: ControlValue].self, forKey: .controls) ?? [:]
                let stallSeconds = try cam.decodeIfPresent(Double.self, forKey: .stallSeconds) ?? 3
                guard (0.2...60).contains(stallSeconds) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .stallSeconds, in: cam, debugDescription: "expected 0.2 to 60 seconds")
                }
                camera = .v4l2(
                    path: try cam.decode(String.self, forKey: .path),
                    width: try cam.decodeIfPresent(Int.self, forKey: .width) ?? 1280,
                    height: try cam.decodeIfPresent(Int.self, forKey: .height) ?? 720, fps: fps ?? 30, format: format,
                    controls: controls.mapValues(\.value), stallSeconds: stallSeconds)
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: cam, debugDescription: "expected \"replay\" or \"v4l2\", found \"\(type)\"")
            }
        } else {
            camera = nil
        }
        scanner = try c.decodeIfPresent(ScannerSettings.self, forKey: .scanner)
        mirror = try c.decodeIfPresent(MirrorSettings.self, forKey: .mirror)
        screen = try c.decodeIfPresent(ScreenSettings.self, forKey: .screen)
        if kind == .scanner, screen != nil {
            throw DecodingError.dataCorruptedError(
                forKey: .screen, in: c, debugDescription: "only kiosks and mirrors have a screen")
        }
        if kind != .scanner { screen = screen ?? ScreenSettings() }
        if kind == .mirror, c.contains(.screen),
            try c.nestedContainer(keyedBy: ScreenSettings.CodingKeys.self, forKey: .screen).contains(
                .answerTimeoutSeconds)
        {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [CodingKeys.screen, ScreenSettings.CodingKeys.answerTimeoutSeconds],
                    debugDescription: "only a kiosk's screen waits for answers to scans; remove it from a mirror"))
        }
        if kind == .mirror {
            mirror = mirror ?? MirrorSettings()
            if camera == nil {
                throw DecodingError.keyNotFound(
                    CodingKeys.camera, .init(codingPath: c.codingPath, debugDescription: "a mirror needs a camera"))
            }
        } else if mirror != nil {
            throw DecodingError.dataCorruptedError(
                forKey: .mirror, in: c, debugDescription: "only devices of kind \"mirror\" take a mirror section")
        }
        if kind == .kiosk && camera == nil {
            throw DecodingError.keyNotFound(
                CodingKeys.camera, .init(codingPath: c.codingPath, debugDescription: "a kiosk needs a camera"))
        }
        if kind == .scanner {
            guard scanner != nil else {
                throw DecodingError.keyNotFound(
                    CodingKeys.scanner,
                    .init(codingPath: c.codingPath, debugDescription: "a scanner needs a scanner section"))
            }
            if camera != nil {
                throw DecodingError.dataCorruptedError(
                    forKey: .camera, in: c, debugDescription: "a scanner has no camera; remove this section")
            }
            if c.contains(.decoder),
                try c.nestedContainer(keyedBy: DecoderSettings.CodingKeys.self, forKey: .decoder).contains(.symbologies)
            {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: [CodingKeys.decoder, DecoderSettings.CodingKeys.symbologies],
                        debugDescription:
                            "a scanner reports what it read; set scanner.symbology or scanner.aimIdentifiers instead"))
            }
        } else if scanner != nil {
            throw DecodingError.dataCorruptedError(
                forKey: .scanner, in: c, debugDescription: "only devices of kind \"scanner\" take a scanner section")
        }
    }
}

/// Loads every `*.json` descriptor in a folder, in name order; ids must be unique.
package enum DeviceDirectory {
    package static func load(_ folder: URL) throws(ConfigError) -> [DeviceDescriptor] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw ConfigError(file: folder.path, keyPath: "", problem: "device folder cannot be read")
        }
        var seen: [DeviceID: String] = [:]
        var result: [DeviceDescriptor] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            var descriptor = try ConfigFile.load(DeviceDescriptor.self, from: url)
            descriptor.file = url.path
            if let other = seen[descriptor.id] {
                throw ConfigError(
                    file: url.path, keyPath: "id", problem: "device id '\(descriptor.id)' is already used by \(other)")
            }
            seen[descriptor.id] = url.path
            result.append(descriptor)
        }
        return result
    }
}
