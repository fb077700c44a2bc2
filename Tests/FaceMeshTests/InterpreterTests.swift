import Foundation
import Testing

@testable import FaceMesh

extension ReferenceFiles {
    /// The models and their layer references, by model name.
    static let layerStems = ["face_detection_short_range", "face_landmark"]
    static let layerFiles = layerStems.flatMap { stem in
        [models.appendingPathComponent("\(stem).tflite"), layers.appendingPathComponent("\(stem).json")]
    }
}

@Suite("TFLite interpreter against the reference interpreter, layer by layer", .needs(ReferenceFiles.layerFiles))
struct InterpreterTests {
    static let models = ReferenceFiles.layerStems

    /// The reference tensors and a fresh interpreter for one model.
    func load(_ stem: String) throws -> (LayerReference, Interpreter) {
        let model = ReferenceFiles.models.appendingPathComponent("\(stem).tflite")
        try ReferenceFiles.require([model, ReferenceFiles.layers.appendingPathComponent("\(stem).json")])
        return (try LayerReference(stem: stem), try Interpreter(model: try TFLiteModel(contentsOf: model)))
    }

    @Test("each operator, fed the reference's inputs, gives the reference's output", arguments: models)
    func eachOperatorMatchesTheReference(stem: String) throws {
        let (reference, interpreter) = try load(stem)
        var checked = 0
        for (index, op) in interpreter.model.operators.enumerated() where op.code != .dequantize && op.code != .reshape
        {
            for input in op.inputs where input >= 0 {
                if let values = reference.values[input] {
                    let target = interpreter.tensor(input)
                    _ = target.update(from: values)
                }
            }
            interpreter.runStep(index)
            let output = op.outputs[0]
            let expected = try #require(reference.values[output], "no reference for tensor \(output)")
            let (error, scale) = compare(UnsafeBufferPointer(interpreter.tensor(output)), expected)
            #expect(
                error <= 1e-4 * max(scale, 1),
                "\(stem) operator \(index) \(op.code) → \(interpreter.model.tensors[output].name): max error \(error), scale \(scale)"
            )
            checked += 1
        }
        #expect(checked > 30)
    }

    @Test("the whole graph run from the fixed input gives the reference's outputs", arguments: models)
    func wholeGraphMatchesTheReference(stem: String) throws {
        let (reference, interpreter) = try load(stem)
        _ = interpreter.input.update(from: try #require(reference.values[reference.index.input]))
        interpreter.run()
        #expect(interpreter.model.outputs == reference.index.outputs)
        for output in reference.index.outputs {
            let (error, scale) = compare(UnsafeBufferPointer(interpreter.tensor(output)), reference.values[output]!)
            #expect(error <= 1e-3 * max(scale, 1), "\(stem) output \(output): max error \(error), scale \(scale)")
        }
    }
}

@Suite("TFLite reader on damaged files")
struct DamagedModelTests {
    @Test(
        "a model with bytes overwritten in its structure loads or throws a FaceMeshError, never crashes",
        .needs([ReferenceFiles.detectorModel]))
    func damagedBytesNeverCrash() throws {
        let url = ReferenceFiles.detectorModel
        let original = [UInt8](try Data(contentsOf: url))
        var generator = SplitMix64(seed: 20_261_126)
        var refused = 0
        for trial in 0..<40 {
            var bytes = original
            // The flatbuffer's tables and vectors sit in the first and last few kilobytes; weights fill the middle.
            for _ in 0..<4 {
                let region = Bool.random(using: &generator) ? 0..<4096 : (bytes.count - 8192)..<bytes.count
                bytes[Int.random(in: region, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                _ = try Interpreter(model: try TFLiteModel(bytes: bytes, name: "trial \(trial)"))
            } catch {
                #expect(error.message.contains("trial \(trial)"))
                refused += 1
            }
        }
        print("FaceMeshTests: \(refused) of 40 damaged models refused, the rest loaded")
    }
}

/// A small seeded generator (SplitMix64) so the damaged files are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
