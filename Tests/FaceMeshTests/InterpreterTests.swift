import Foundation
import Testing

@testable import FaceMesh

@Suite("TFLite interpreter against the reference interpreter, layer by layer")
struct InterpreterTests {
    static let models = ["face_detection_short_range", "face_landmark"]

    /// The reference tensors and a fresh interpreter for one model, or nil when set-up has not made them.
    func load(_ stem: String) throws -> (LayerReference, Interpreter)? {
        let model = ReferenceFiles.models.appendingPathComponent("\(stem).tflite")
        guard ReferenceFiles.available([model, ReferenceFiles.layers.appendingPathComponent("\(stem).json")]) else {
            return nil
        }
        return (try LayerReference(stem: stem), try Interpreter(model: try TFLiteModel(contentsOf: model)))
    }

    @Test("each operator, fed the reference's inputs, gives the reference's output", arguments: models)
    func eachOperatorMatchesTheReference(stem: String) throws {
        guard let (reference, interpreter) = try load(stem) else { return }
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
        guard let (reference, interpreter) = try load(stem) else { return }
        _ = interpreter.input.update(from: try #require(reference.values[reference.index.input]))
        interpreter.run()
        #expect(interpreter.model.outputs == reference.index.outputs)
        for output in reference.index.outputs {
            let (error, scale) = compare(UnsafeBufferPointer(interpreter.tensor(output)), reference.values[output]!)
            #expect(error <= 1e-3 * max(scale, 1), "\(stem) output \(output): max error \(error), scale \(scale)")
        }
    }
}
