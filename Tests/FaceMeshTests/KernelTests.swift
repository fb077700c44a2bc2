import Foundation
import Testing

@testable import FaceMesh

@Suite("Face kernels: the fused plan and each instruction set", .serialized)
struct KernelTests {
    /// The models' graph outputs after `run()` on a fixed input (the reference's, or a ramp when set-up made none).
    func outputs(_ stem: String, _ body: (Interpreter) -> Void) throws -> [[Float]]? {
        let url = ReferenceFiles.models.appendingPathComponent("\(stem).tflite")
        guard ReferenceFiles.present([url]) else { return nil }
        let interpreter = try Interpreter(model: try TFLiteModel(contentsOf: url))
        let input = interpreter.input
        for i in input.indices { input[i] = Float(i % 97) / 48 - 1 }
        body(interpreter)
        return interpreter.model.outputs.map { Array(interpreter.tensor($0)) }
    }

    func largestDifference(_ a: [[Float]], _ b: [[Float]]) -> (difference: Float, scale: Float) {
        var difference: Float = 0
        var scale: Float = 0
        for (x, y) in zip(a, b) {
            for (u, v) in zip(x, y) {
                difference = max(difference, abs(u - v))
                scale = max(scale, abs(v))
            }
        }
        return (difference, scale)
    }

    static func runOperatorByOperator(_ interpreter: Interpreter) {
        for index in interpreter.model.operators.indices { interpreter.runStep(index) }
    }

    @Test("the fused plan gives what the operators give one by one", arguments: InterpreterTests.models)
    func fusedPlanMatchesOperatorByOperator(stem: String) throws {
        guard let fused = try outputs(stem, { $0.run() }), let single = try outputs(stem, Self.runOperatorByOperator)
        else { return }
        let (difference, scale) = largestDifference(fused, single)
        #expect(difference <= 1e-5 * max(scale, 1), "\(stem): fused and single differ by \(difference)")
    }

    @Test(
        "every kernel set this CPU supports gives the same outputs as the portable set",
        arguments: InterpreterTests.models)
    func kernelSetsAgree(stem: String) throws {
        let chosen = KernelSet.active
        defer { KernelSet.use(chosen) }
        #expect(KernelSet.use(.portable))
        guard let portable = try outputs(stem, { $0.run() }) else { return }
        for set in KernelSet.allCases where set != .portable && set.isSupported {
            #expect(KernelSet.use(set))
            let other = try #require(try outputs(stem, { $0.run() }))
            let (difference, scale) = largestDifference(other, portable)
            #expect(difference <= 1e-4 * max(scale, 1), "\(stem): \(set.rawValue) differs by \(difference)")
        }
    }

    @Test("the kernel set chosen at start is the best one this CPU supports")
    func dispatchPicksTheBestSupportedSet() {
        let best = KernelSet.allCases.last { $0.isSupported }
        #expect(KernelSet.active == best)
    }
}
