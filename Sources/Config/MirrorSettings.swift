import Foundation

/// A try-on mirror's settings: the `mirror` section of a descriptor of kind `mirror`.
package struct MirrorSettings: Sendable, Decodable, Equatable {
    /// The shade shown until a shopper picks one (a SKU of the catalog), or none.
    package var defaultShade: String?
    /// Demo: switch to the catalog's next shade every this many seconds (nil: only on command).
    package var cycleShadesSeconds: Double?
    /// Where the face guide on the mirror puts the face, `[x, y, width, height]` in camera pixels: the classical
    /// locator looks for lips in it.
    package var faceGuide: [Double]?
    /// Demo: a 468-point face mesh computed once for the replayed portrait (fixture format), moved with its
    /// synthetic motion; a relative path is relative to the descriptor.
    package var landmarks: String?
    /// How long snapshots stay retrievable.
    package var snapshotTTLSeconds: Double
    /// Frames per second sent to mirror screens and the status page.
    package var streamFps: Double
    /// JPEG quality of the stream and snapshots.
    package var jpegQuality: Int

    package init(
        defaultShade: String? = nil, cycleShadesSeconds: Double? = nil, faceGuide: [Double]? = nil,
        landmarks: String? = nil, snapshotTTLSeconds: Double = 900, streamFps: Double = 15, jpegQuality: Int = 80
    ) {
        self.defaultShade = defaultShade
        self.cycleShadesSeconds = cycleShadesSeconds
        self.faceGuide = faceGuide
        self.landmarks = landmarks
        self.snapshotTTLSeconds = snapshotTTLSeconds
        self.streamFps = streamFps
        self.jpegQuality = jpegQuality
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case defaultShade, cycleShadesSeconds, faceGuide, landmarks, snapshotTTLSeconds, streamFps, jpegQuality
    }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MirrorSettings()
        defaultShade = try c.decodeIfPresent(String.self, forKey: .defaultShade)
        cycleShadesSeconds = try c.decodeIfPresent(Double.self, forKey: .cycleShadesSeconds)
        faceGuide = try c.decodeIfPresent([Double].self, forKey: .faceGuide)
        landmarks = try c.decodeIfPresent(String.self, forKey: .landmarks)
        snapshotTTLSeconds =
            try c.decodeIfPresent(Double.self, forKey: .snapshotTTLSeconds) ?? defaults.snapshotTTLSeconds
        streamFps = try c.decodeIfPresent(Double.self, forKey: .streamFps) ?? defaults.streamFps
        jpegQuality = try c.decodeIfPresent(Int.self, forKey: .jpegQuality) ?? defaults.jpegQuality
        if let cycle = cycleShadesSeconds, !(1...3600).contains(cycle) {
            throw DecodingError.dataCorruptedError(
                forKey: .cycleShadesSeconds, in: c, debugDescription: "expected 1 to 3600 seconds")
        }
        if let guide = faceGuide, guide.count != 4 || guide[2] <= 0 || guide[3] <= 0 {
            throw DecodingError.dataCorruptedError(
                forKey: .faceGuide, in: c, debugDescription: "expected [x, y, width, height] with a positive size")
        }
        guard (10...86400).contains(snapshotTTLSeconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: .snapshotTTLSeconds, in: c, debugDescription: "expected 10 to 86400 seconds")
        }
        guard streamFps > 0 && streamFps <= 60 else {
            throw DecodingError.dataCorruptedError(
                forKey: .streamFps, in: c, debugDescription: "expected 0 < fps <= 60")
        }
        guard (1...100).contains(jpegQuality) else {
            throw DecodingError.dataCorruptedError(forKey: .jpegQuality, in: c, debugDescription: "expected 1 to 100")
        }
    }
}
