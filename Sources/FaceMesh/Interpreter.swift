import CFaceKernels

/// Runs one TensorFlow Lite model on float32 tensors.
///
/// Everything is prepared at load: constant weights are converted (float16 to float32), repacked for the
/// kernels, and every tensor gets its own buffer, so `run()` allocates nothing. Reshape outputs share their
/// input's buffer. Not safe for concurrent use: one interpreter per pipeline.
final class Interpreter {
    enum Step {
        case convolution(Convolution, input: Int, output: Int)
        case depthwise(DepthwiseConvolution, input: Int, output: Int)
        case maxPool(MaxPool, input: Int, output: Int)
        case add(Addition, Int, Int, output: Int)
        case prelu(ParametricReLU, input: Int, output: Int)
        case relu(count: Int, input: Int, output: Int)
        case pad(ZeroPad, input: Int, output: Int)
        case concatenation(outer: Int, inputs: [(tensor: Int, inner: Int)], output: Int)
        /// DEQUANTIZE of constants and RESHAPE: done at load.
        case none
    }

    let model: TFLiteModel
    private(set) var storage: [UnsafeMutablePointer<Float>?]
    private var owned: [UnsafeMutablePointer<Float>] = []
    /// One step per operator, for `runStep` (the operator-by-operator checks).
    private(set) var steps: [Step] = []
    /// What `run()` executes: `steps` with chains fused (see `fusedPlan`).
    private var plan: [Step] = []

    init(model: TFLiteModel) throws(FaceMeshError) {
        self.model = model
        storage = Array(repeating: nil, count: model.tensors.count)
        isConstant = model.tensors.map { $0.data != nil }
        for (index, tensor) in model.tensors.enumerated() where tensor.type != .int32 {
            if let data = tensor.data {
                storage[index] = allocate(tensor.count)
                Interpreter.decode(data, type: tensor.type, count: tensor.count, into: storage[index]!)
            }
        }
        // Constants first (DEQUANTIZE), then one buffer per activation; RESHAPE outputs share their input's.
        for (index, op) in model.operators.enumerated() where op.code == .dequantize {
            guard op.inputs.count == 1, op.outputs.count == 1, op.inputs[0] >= 0,
                let data = model.tensors[op.inputs[0]].data
            else { throw fail(index, op, "dequantizes something other than one constant") }
            let output = op.outputs[0]
            guard model.tensors[output].count == model.tensors[op.inputs[0]].count else {
                throw fail(index, op, "changes the element count")
            }
            let pointer = allocate(model.tensors[output].count)
            Interpreter.decode(
                data, type: model.tensors[op.inputs[0]].type, count: model.tensors[output].count, into: pointer)
            storage[output] = pointer
            isConstant[output] = true
        }
        var aliases: [Int: Int] = [:]
        for op in model.operators where op.code == .reshape && op.inputs.first ?? -1 >= 0 && op.outputs.count == 1 {
            aliases[op.outputs[0]] = op.inputs[0]
        }
        for (index, tensor) in model.tensors.enumerated()
        where storage[index] == nil && tensor.type != .int32 && aliases[index] == nil {
            storage[index] = allocate(tensor.count)
        }
        for op in model.operators where op.code == .reshape {
            if let output = op.outputs.first, let source = aliases[output] { storage[output] = storage[source] }
        }
        for (index, op) in model.operators.enumerated() {
            if op.code != .dequantize {
                // Every tensor a step reads or writes must be float32 with a buffer (PAD's paddings are int32).
                let read = op.code == .pad ? Array(op.inputs.prefix(1)) : op.inputs.filter { $0 >= 0 }
                for tensor in read + op.outputs where storage[tensor] == nil {
                    throw fail(index, op, "uses tensor \(model.tensors[tensor].name), which is not float32")
                }
            }
            steps.append(try compile(op, index: index))
        }
        plan = fusedPlan()
    }

    deinit { for pointer in owned { UnsafeMutableRawPointer(pointer).deallocate() } }

    /// A zeroed buffer on a cache line boundary: a 32-byte vector then never straddles two lines where a tensor's
    /// channels are a multiple of eight (the depthwise kernels measured about 15% faster than on malloc's 16 bytes).
    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: (count + Kernels.slack) * MemoryLayout<Float>.stride, alignment: 64)
        let pointer = raw.bindMemory(to: Float.self, capacity: count + Kernels.slack)
        pointer.initialize(repeating: 0, count: count + Kernels.slack)
        owned.append(pointer)
        return pointer
    }

    /// The float buffer of a tensor (graph inputs, outputs, or any intermediate for checks).
    func tensor(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage[index]!, count: model.tensors[index].count)
    }

    var input: UnsafeMutableBufferPointer<Float> { tensor(model.inputs[0]) }

    func output(_ position: Int) -> UnsafeMutableBufferPointer<Float> { tensor(model.outputs[position]) }

    /// Runs the whole graph on what is in `input`.
    func run() {
        for step in plan { run(step) }
    }

    /// Runs operator `index` alone on the current contents of its input tensors.
    func runStep(_ index: Int) {
        run(steps[index])
    }

    private func run(_ step: Step) {
        switch step {
        case .convolution(let kernel, let input, let output):
            kernel.run(storage[input]!, storage[output]!)
        case .depthwise(let kernel, let input, let output):
            kernel.run(storage[input]!, storage[output]!)
        case .maxPool(let kernel, let input, let output):
            kernel.run(storage[input]!, storage[output]!)
        case .add(let kernel, let a, let b, let output):
            kernel.run(storage[a]!, storage[b]!, storage[output]!)
        case .prelu(let kernel, let input, let output):
            kernel.run(storage[input]!, storage[output]!)
        case .relu(let count, let input, let output):
            Addition.relu(count: count, storage[input]!, storage[output]!)
        case .pad(let kernel, let input, let output):
            kernel.run(storage[input]!, storage[output]!)
        case .concatenation(let outer, let inputs, let output):
            var target = storage[output]!
            for o in 0..<outer {
                for (tensor, inner) in inputs {
                    target.update(from: storage[tensor]! + o * inner, count: inner)
                    target += inner
                }
            }
        case .none:
            break
        }
    }

    /// The error for operator `index` that the interpreter cannot run: the model and operator named.
    func fail(_ index: Int, _ op: TFLiteModel.Operator, _ what: String) -> FaceMeshError {
        FaceMeshError(.unsupportedModel, "\(model.name): operator \(index) (\(op.code)) \(what)")
    }

    func shape(_ tensor: Int) -> [Int] { model.tensors[tensor].shape }

    /// A fused activation field's value, or the error naming an unknown one.
    func activation(_ raw: UInt8, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError)
        -> FusedActivation
    {
        guard let value = FusedActivation(rawValue: raw) else { throw fail(index, op, "has fused activation \(raw)") }
        return value
    }

    /// The buffer of `tensor`, which must hold constant weights (decoded at load).
    func constant(_ tensor: Int, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError)
        -> UnsafeMutablePointer<Float>
    {
        guard tensor >= 0, let pointer = storage[tensor], isConstant[tensor]
        else { throw fail(index, op, "needs constant weights in tensor \(tensor)") }
        return pointer
    }

    private var isConstant: [Bool]

    static func int32s(_ data: ArraySlice<UInt8>) -> [Int] {
        var values: [Int] = []
        var i = data.startIndex
        while i + 4 <= data.endIndex {
            let bits =
                UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            values.append(Int(Int32(bitPattern: bits)))
            i += 4
        }
        return values
    }

    /// Converts little-endian float32 or float16 constants to float32.
    static func decode(
        _ data: ArraySlice<UInt8>, type: TFLiteModel.ElementType, count: Int, into target: UnsafeMutablePointer<Float>
    ) {
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                switch type {
                case .float32:
                    target[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                case .float16:
                    target[i] = halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                case .int32:
                    target[i] = Float(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                }
            }
        }
    }

    /// IEEE 754 binary16 to binary32, including subnormals, infinities and NaN.
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
    }
}

extension Addition {
    static func relu(count: Int, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < count {
            Kernels.store(
                Kernels.activate(Kernels.load(input + i), .relu), output + i, count: min(count - i, Kernels.lanes))
            i += Kernels.lanes
        }
    }
}
