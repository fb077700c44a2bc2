import FaceMesh
import Foundation
import Testing

/// Files the face tests read: the models and the reference tensors made at set-up (never committed).
enum ReferenceFiles {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let cache = repository.appendingPathComponent(".cache")
    static let models = cache.appendingPathComponent("models")
    static let layers = cache.appendingPathComponent("facemesh-layers")
    static let fixtures = repository.appendingPathComponent("Tests/Fixtures/faces")

    /// True when `make test` demands the set-up files (STOREHUB_REQUIRE_MODELS=1): then a missing file fails.
    static var required: Bool { ProcessInfo.processInfo.environment["STOREHUB_REQUIRE_MODELS"] == "1" }

    static let detectorModel = models.appendingPathComponent(FaceLandmarker.detectorModelName)
    static let landmarkModel = models.appendingPathComponent(FaceLandmarker.landmarkModelName)

    /// Whether a test that reads `files` runs: they exist, or `make test` demands them (the test then fails on the
    /// first missing one, saying what to run).
    static func present(_ files: [URL]) -> Bool {
        required || files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Throws, naming the files and the script that makes them, when one of `files` is missing.
    static func require(_ files: [URL]) throws {
        let missing = files.filter { !FileManager.default.fileExists(atPath: $0.path) }
        guard !missing.isEmpty else { return }
        throw MissingFiles(
            description: "missing \(missing.map(\.path).joined(separator: ", ")): run scripts/install-deps "
                + "(it fetches the face models and writes the layer reference)")
    }

    struct MissingFiles: Error, CustomStringConvertible {
        var description: String
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only when `files` are there (or `make test` demands them); otherwise it shows as skipped.
    static func needs(_ files: [URL]) -> Self {
        .enabled(
            if: ReferenceFiles.present(files), "needs the face models and layer reference: run scripts/install-deps")
    }
}

/// The tensors one model produced in the reference interpreter on the fixed input.
struct LayerReference {
    struct Entry: Decodable {
        let index: Int
        let name: String
        let shape: [Int]
        let offset: Int
    }

    struct Index: Decodable {
        let model: String
        let input: Int
        let outputs: [Int]
        let tensors: [Entry]
    }

    let index: Index
    let values: [Int: [Float]]

    init(stem: String) throws {
        let json = try Data(contentsOf: ReferenceFiles.layers.appendingPathComponent("\(stem).json"))
        index = try JSONDecoder().decode(Index.self, from: json)
        let blob = try Data(contentsOf: ReferenceFiles.layers.appendingPathComponent("\(stem).bin"))
        var values: [Int: [Float]] = [:]
        for entry in index.tensors {
            let count = entry.shape.reduce(1, *)
            values[entry.index] = blob.withUnsafeBytes { raw in
                (0..<count).map { i in
                    Float(
                        bitPattern: UInt32(
                            littleEndian: raw.loadUnaligned(fromByteOffset: entry.offset + 4 * i, as: UInt32.self)))
                }
            }
        }
        self.values = values
    }
}

/// Largest absolute difference, and the largest magnitude in the reference (the scale tolerances refer to).
func compare(_ actual: UnsafeBufferPointer<Float>, _ expected: [Float]) -> (error: Float, scale: Float) {
    var error: Float = 0
    var scale: Float = 0
    for (a, e) in zip(actual, expected) {
        error = max(error, abs(a - e))
        scale = max(scale, abs(e))
    }
    if actual.count != expected.count { error = .infinity }
    return (error, scale)
}
