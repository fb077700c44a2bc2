import ArgumentParser
import Capture
import Foundation
import Hub
import HubCore
import TryOn

struct TryOnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tryon",
        abstract: "Render a lipstick shade on a face photo (JPEG or PNG) and write it as a JPEG.",
        discussion: """
            The lips come from --landmarks when given: a JSON file with a 468-point face mesh in the image's \
            pixels ({"width": W, "height": H, "landmarks": [[x, y, z], ...]}) or landmarks as sent on \
            mirror.landmarks.<device>. Without it the native face pipeline finds them, as a mirror does, when \
            the face models are in --models; when they are not, when it finds no face, or with --classical, the \
            classical locator looks for them in --face-guide (default: the middle of the image), with low \
            confidence. Prints one JSON line: locator (native, mesh, bus or classical), confidence, strength, \
            renderMs.
            """)

    @Argument(help: "The face photo.")
    var image: String

    @Option(name: .long, help: "The shade's SKU.")
    var shade: String

    @Option(name: .shortAndLong, help: "Where to write the rendered JPEG.")
    var output: String

    @Option(name: .long, help: "Shade catalog. Default: Assets/shades.json, else /usr/share/storehub/shades.json.")
    var catalog: String?

    @Option(name: .long, help: "Face landmarks for the photo (JSON).")
    var landmarks: String?

    @Option(name: .long, help: "Where the face is, x,y,width,height in pixels (classical locator).")
    var faceGuide: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Folder with the face models for the native face pipeline.",
            discussion: "Default: .cache/models (scripts/fetch-assets), else .storehub/models."))
    var models: String?

    @Flag(name: .long, help: "Use the classical locator even when the face models are there.")
    var classical = false

    @Option(name: .long, help: "JPEG quality 1-100.")
    var quality: Int32 = 90

    func run() throws {
        let catalogURL = URL(
            fileURLWithPath: catalog
                ?? (FileManager.default.fileExists(atPath: "Assets/shades.json")
                    ? "Assets/shades.json" : "/usr/share/storehub/shades.json"))
        let shades: ShadeCatalog
        do {
            shades = try ShadeCatalog.load(catalogURL)
        } catch {
            printError("\(error)")
            throw ExitCode.usage
        }
        guard let chosen = shades[shade], let prepared = PreparedShade(chosen) else {
            printError(
                "no shade '\(shade)' in \(catalogURL.path) (it has \(shades.shades.map(\.sku).joined(separator: ", ")))"
            )
            throw ExitCode.usage
        }
        let frame: Frame
        do {
            frame = try ColorImage.loadNV12(URL(fileURLWithPath: image))
        } catch {
            printError("\(error)")
            throw ExitCode.dataError
        }
        let locator: any LipLocator
        if let landmarks {
            locator = try Self.landmarkLocator(landmarks, frame: frame)
        } else {
            var guide: (x: Float, y: Float, width: Float, height: Float)?
            if let faceGuide {
                let parts = faceGuide.split(separator: ",").compactMap {
                    Float($0.trimmingCharacters(in: .whitespaces))
                }
                guard parts.count == 4, parts[2] > 0, parts[3] > 0 else {
                    printError("--face-guide: expected x,y,width,height in pixels, found '\(faceGuide)'")
                    throw ExitCode.usage
                }
                guide = (parts[0], parts[1], parts[2], parts[3])
            }
            let fallback = ClassicalLipLocator(faceGuide: guide)
            if !classical, let native = nativeLocator() {
                locator = LocatorChain([native, fallback])
            } else {
                locator = fallback
            }
        }
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        let start = ContinuousClock.now
        let observation = locator.locate(in: frame)
        let outcome = renderer.render(frame, observation: observation, shade: prepared, time: nil)
        let elapsed = ContinuousClock.now - start
        guard let encoder = ColorJPEGEncoder(quality: min(max(quality, 1), 100)), let jpeg = encoder.encode(frame)
        else {
            printError("libjpeg-turbo could not encode the result")
            throw ExitCode.software
        }
        do {
            try Data(jpeg).write(to: URL(fileURLWithPath: output))
        } catch {
            printError("\(output): cannot be written (\(error.localizedDescription))")
            throw ExitCode.cannotCreate
        }
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        let line = JSONValue.object([
            "output": .string(output), "shade": .string(chosen.sku),
            "locator": observation.map { .string($0.locator.rawValue) } ?? .null,
            "confidence": .double(Double(outcome.confidence)), "strength": .double(Double(outcome.strength)),
            "renderMs": .double((milliseconds * 1000).rounded() / 1000),
        ])
        print(String(decoding: line.jsonBytes, as: UTF8.self))
        if observation == nil { printError("no lips found in \(image); the photo was written unchanged") }
    }

    /// The folder the face models are looked for in: --models, else the one scripts/fetch-assets fills in a
    /// checkout, else the default state directory's (where a hub started here looks).
    var modelsDirectory: URL {
        if let models { return URL(fileURLWithPath: models) }
        let fetched = ".cache/models"
        return URL(fileURLWithPath: FileManager.default.fileExists(atPath: fetched) ? fetched : ".storehub/models")
    }

    /// The native face pipeline's locator, or nil (said on stderr with what is missing) without the models.
    func nativeLocator() -> MeshLipLocator? {
        do {
            return try MeshLipLocator.native(modelsDirectory: modelsDirectory)
        } catch {
            printError("no native face landmarks, the classical locator looks for the lips: \(error)")
            return nil
        }
    }

    /// A locator over landmarks read from a file: a fixture-style mesh or the bus format.
    static func landmarkLocator(_ path: String, frame: Frame) throws -> any LipLocator {
        let value: JSONValue
        do {
            value = try JSONParser.parse(
                String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
        } catch {
            printError("\(path): not readable JSON (\(error))")
            throw ExitCode.dataError
        }
        if value["landmarks"] != nil {
            do {
                return MeshLipLocator(
                    provider: FixedLandmarkProvider(face: try FaceLandmarks.mesh(from: value, score: 1)))
            } catch {
                printError("\(path): \(error)")
                throw ExitCode.dataError
            }
        }
        do {
            let observation = try BusLandmarks.parse(value, frameWidth: frame.width, frameHeight: frame.height)
            return FixedLocator(observation)
        } catch {
            printError("\(path): \(error)")
            throw ExitCode.dataError
        }
    }
}

/// A locator that always reports the same observation (landmarks given for a still).
final class FixedLocator: LipLocator {
    let observation: LipObservation
    init(_ observation: LipObservation) { self.observation = observation }
    var kind: LocatorKind { observation.locator }
    func locate(in frame: Frame) -> LipObservation? { observation }
}
