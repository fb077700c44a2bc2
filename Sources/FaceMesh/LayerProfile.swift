import Foundation

/// Per-operator CPU time of the face models, for finding which layers to make faster (`facemesh-bench --layers`).
package enum LayerProfile {
    /// One line per operator, slowest first: model, operator index, code, output shape, median microseconds of
    /// CPU time of `iterations` runs (the machine may be shared), and its share of the model's total. The models run on zeros, which costs the same as a face.
    package static func report(modelsDirectory: URL, iterations: Int) throws(FaceMeshError) -> String {
        var lines: [String] = []
        for name in [FaceLandmarker.detectorModelName, FaceLandmarker.landmarkModelName] {
            let model = try TFLiteModel(contentsOf: modelsDirectory.appendingPathComponent(name))
            let interpreter = try Interpreter(model: model)
            interpreter.run()
            var samples = Array(repeating: [Double](), count: model.operators.count)
            for _ in 0..<iterations {
                for index in model.operators.indices {
                    let start = threadCPUMicroseconds()
                    interpreter.runStep(index)
                    samples[index].append(threadCPUMicroseconds() - start)
                }
            }
            let medians = samples.map { $0.sorted()[$0.count / 2] }
            let total = medians.reduce(0, +)
            var runs: [Double] = []
            for _ in 0..<iterations {
                let start = threadCPUMicroseconds()
                interpreter.run()
                runs.append(threadCPUMicroseconds() - start)
            }
            lines.append(
                "\(name): \(String(format: "%.0f", runs.sorted()[runs.count / 2])) us per fused run; "
                    + "\(String(format: "%.0f", total)) us operator by operator:")
            for index in medians.indices.sorted(by: { medians[$0] > medians[$1] }) where medians[index] > 0.5 {
                let op = model.operators[index]
                let shape = model.tensors[op.outputs[0]].shape
                let inputs = op.inputs.filter { $0 >= 0 }.map { model.tensors[$0].shape }
                lines.append(
                    String(
                        format: "%4d %-20@ %7.1f us %5.1f%%  %@ <- %@", index, "\(op.code)" as NSString,
                        medians[index], 100 * medians[index] / total, "\(shape)" as NSString,
                        "\(inputs)" as NSString))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func threadCPUMicroseconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) * 1e-3
    }
}
