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
    private func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
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

    private func fail(_ index: Int, _ op: TFLiteModel.Operator, _ what: String) -> FaceMeshError {
        FaceMeshError(.unsupportedModel, "\(model.name): operator \(index) (\(op.code)) \(what)")
    }

    private func shape(_ tensor: Int) -> [Int] { model.tensors[tensor].shape }

    private func activation(_ raw: UInt8, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError)
        -> FusedActivation
    {
        guard let value = FusedActivation(rawValue: raw) else { throw fail(index, op, "has fused activation \(raw)") }
        return value
    }

    private func constant(_ tensor: Int, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError)
        -> UnsafeMutablePointer<Float>
    {
        guard tensor >= 0, let pointer = storage[tensor], isConstant[tensor]
        else { throw fail(index, op, "needs constant weights in tensor \(tensor)") }
        return pointer
    }

    private var isConstant: [Bool]

    private func compile(_ op: TFLiteModel.Operator, index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        func need(_ inputs: Int) throws(FaceMeshError) {
            guard op.inputs.count >= inputs, op.outputs.count == 1, op.inputs.prefix(inputs).allSatisfy({ $0 >= 0 })
            else { throw fail(index, op, "has \(op.inputs.count) inputs and \(op.outputs.count) outputs") }
        }
        func rank4(_ tensor: Int) throws(FaceMeshError) -> [Int] {
            let s = shape(tensor)
            guard s.count == 4, s[0] == 1 else { throw fail(index, op, "needs a 1xHxWxC tensor, has \(s)") }
            return s
        }
        let output = op.outputs.first ?? -1
        switch op.code {
        case .dequantize:
            return .none
        case .reshape:
            try need(1)
            guard model.tensors[op.inputs[0]].count == model.tensors[output].count,
                storage[output] == storage[op.inputs[0]]
            else { throw fail(index, op, "changes the element count") }
            return .none
        case .conv2D:
            try need(3)
            let input = try rank4(op.inputs[0])
            let out = try rank4(output)
            let filter = shape(op.inputs[1])
            guard filter.count == 4, filter[3] == input[3], filter[0] == out[3] else {
                throw fail(index, op, "has filter \(filter) for input \(input)")
            }
            let geometry = try window(
                options, input: input, kernel: (filter[1], filter[2]), strideFields: (2, 1),
                dilationFields: (5, 4), index, op)
            guard geometry.outHeight == out[1], geometry.outWidth == out[2] else {
                throw fail(index, op, "output \(out) does not match its geometry")
            }
            let weights = try constant(op.inputs[1], index, op)
            let bias = try constant(op.inputs[2], index, op)
            let taps = filter[1] * filter[2]
            guard taps == 1 || (taps <= FK_MAX_TAPS && Kernels.roundUp(input[3]) <= FK_CONV_MAX_PADDED_CHANNELS) else {
                throw fail(index, op, "has a \(filter[1])x\(filter[2]) kernel on \(input[3]) channels (too large)")
            }
            let packed = allocate(fk_conv_packed_count(taps, input[3], out[3]))
            fk_conv_pack(weights, bias, taps, input[3], out[3], packed)
            return .convolution(
                Convolution(
                    window: geometry.window(channels: input[3]), outChannels: out[3], packed: packed,
                    epilogue: fk_epilogue(try activation(try options?.uint8(3) ?? 0, index, op))),
                input: op.inputs[0], output: output)
        case .depthwiseConv2D:
            try need(3)
            let input = try rank4(op.inputs[0])
            let out = try rank4(output)
            let filter = shape(op.inputs[1])
            guard filter.count == 4, filter[3] == input[3], out[3] == input[3], filter[1] <= FK_MAX_KERNEL_HEIGHT else {
                throw fail(index, op, "has filter \(filter) for input \(input) (only depth multiplier 1 is supported)")
            }
            let geometry = try window(
                options, input: input, kernel: (filter[1], filter[2]), strideFields: (2, 1),
                dilationFields: (6, 5), index, op)
            guard geometry.outHeight == out[1], geometry.outWidth == out[2] else {
                throw fail(index, op, "output \(out) does not match its geometry")
            }
            let weights = try constant(op.inputs[1], index, op)
            let bias = try constant(op.inputs[2], index, op)
            let padded = Kernels.roundUp(out[3])
            let packed = allocate(filter[1] * filter[2] * padded)
            for tap in 0..<(filter[1] * filter[2]) {
                (packed + tap * padded).update(from: weights + tap * out[3], count: out[3])
            }
            let packedBias = allocate(padded)
            packedBias.update(from: bias, count: out[3])
            return .depthwise(
                DepthwiseConvolution(
                    window: geometry.window(channels: out[3]), weights: packed, bias: packedBias,
                    epilogue: fk_epilogue(try activation(try options?.uint8(4) ?? 0, index, op))),
                input: op.inputs[0], output: output)
        case .maxPool2D:
            try need(1)
            let input = try rank4(op.inputs[0])
            let out = try rank4(output)
            let kernel = (Int(try options?.int32(4) ?? 0), Int(try options?.int32(3) ?? 0))
            guard kernel.0 > 0, kernel.1 > 0, input[3] == out[3] else { throw fail(index, op, "has a bad pool size") }
            let geometry = try window(
                options, input: input, kernel: kernel, strideFields: (2, 1), dilationFields: nil, index, op)
            guard geometry.outHeight == out[1], geometry.outWidth == out[2] else {
                throw fail(index, op, "output \(out) does not match its geometry")
            }
            return .maxPool(
                MaxPool(
                    window: geometry.window(channels: out[3]),
                    activation: try activation(try options?.uint8(5) ?? 0, index, op)),
                input: op.inputs[0], output: output)
        case .add:
            try need(2)
            guard shape(op.inputs[0]) == shape(output), shape(op.inputs[1]) == shape(output) else {
                throw fail(index, op, "needs equal shapes (broadcasting is not implemented)")
            }
            return .add(
                Addition(
                    count: model.tensors[output].count,
                    activation: try activation(try options?.uint8(0) ?? 0, index, op)),
                op.inputs[0], op.inputs[1], output: output)
        case .relu:
            try need(1)
            return .relu(count: model.tensors[output].count, input: op.inputs[0], output: output)
        case .prelu:
            try need(2)
            let s = shape(op.inputs[0])
            let channels = s.last ?? 1
            let alphaCount = model.tensors[op.inputs[1]].count
            guard alphaCount == channels, shape(output) == s else {
                throw fail(index, op, "needs one slope per channel, has \(alphaCount) for \(s)")
            }
            let alpha = try constant(op.inputs[1], index, op)
            let packed = allocate(Kernels.roundUp(channels))
            packed.update(from: alpha, count: channels)
            return .prelu(
                ParametricReLU(pixels: model.tensors[output].count / channels, channels: channels, alpha: packed),
                input: op.inputs[0], output: output)
        case .pad:
            try need(2)
            let input = shape(op.inputs[0])
            let out = shape(output)
            let paddings = model.tensors[op.inputs[1]]
            guard input.count == 4, out.count == 4, paddings.type == .int32, paddings.shape == [4, 2],
                let raw = paddings.data
            else { throw fail(index, op, "needs a 4-D input and constant int32 paddings") }
            let values = Interpreter.int32s(raw)
            let before = [values[0], values[2], values[4], values[6]]
            for axis in 0..<4
            where values[2 * axis] < 0 || input[axis] + values[2 * axis] + values[2 * axis + 1] != out[axis] {
                throw fail(index, op, "paddings \(values) do not turn \(input) into \(out)")
            }
            return .pad(ZeroPad(inShape: input, outShape: out, before: before), input: op.inputs[0], output: output)
        case .concatenation:
            guard op.outputs.count == 1, !op.inputs.isEmpty, op.inputs.allSatisfy({ $0 >= 0 }) else {
                throw fail(index, op, "has no inputs")
            }
            let out = shape(output)
            var axis = Int(try options?.int32(0) ?? 0)
            if axis < 0 { axis += out.count }
            guard axis >= 0, axis < out.count, try options?.uint8(1) ?? 0 == 0 else {
                throw fail(index, op, "has axis \(axis) or a fused activation")
            }
            let outer = out[..<axis].reduce(1, *)
            var parts: [(tensor: Int, inner: Int)] = []
            var total = 0
            for tensor in op.inputs {
                let s = shape(tensor)
                guard s.count == out.count, s[..<axis] == out[..<axis], s[(axis + 1)...] == out[(axis + 1)...] else {
                    throw fail(index, op, "joins \(s) into \(out) along axis \(axis)")
                }
                parts.append((tensor, s[axis...].reduce(1, *)))
                total += s[axis]
            }
            guard total == out[axis] else { throw fail(index, op, "inputs do not add up to \(out)") }
            return .concatenation(outer: outer, inputs: parts, output: output)
        }
    }

    private func window(
        _ options: FlatTable?, input: [Int], kernel: (Int, Int), strideFields: (Int, Int), dilationFields: (Int, Int)?,
        _ index: Int, _ op: TFLiteModel.Operator
    ) throws(FaceMeshError) -> WindowGeometry {
        guard let options else { throw fail(index, op, "has no options") }
        let rawPadding = try options.uint8(0)
        guard let padding = Padding(rawValue: rawPadding) else { throw fail(index, op, "has padding \(rawPadding)") }
        let strideY = Int(try options.int32(strideFields.0))
        let strideX = Int(try options.int32(strideFields.1))
        var dilation = (1, 1)
        if let fields = dilationFields {
            dilation = (Int(try options.int32(fields.0, default: 1)), Int(try options.int32(fields.1, default: 1)))
        }
        guard strideY > 0, strideX > 0, dilation.0 > 0, dilation.1 > 0 else {
            throw fail(index, op, "has stride \(strideY)x\(strideX) and dilation \(dilation)")
        }
        let geometry = WindowGeometry(
            inHeight: input[1], inWidth: input[2], kernelHeight: kernel.0, kernelWidth: kernel.1, strideY: strideY,
            strideX: strideX, dilationY: dilation.0, dilationX: dilation.1, padding: padding)
        guard geometry.outHeight > 0, geometry.outWidth > 0 else { throw fail(index, op, "has an empty output") }
        return geometry
    }

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
