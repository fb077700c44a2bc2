import CFaceKernels

/// Compiling an operator into a step, once at load: its shapes checked against what the kernels do and its
/// weights packed for them. One function per operator kind.
extension Interpreter {
    func compile(_ op: TFLiteModel.Operator, index: Int) throws(FaceMeshError) -> Step {
        switch op.code {
        case .dequantize:
            return .none
        case .reshape:
            return try compileReshape(op, index)
        case .conv2D:
            return try compileConvolution(op, index)
        case .depthwiseConv2D:
            return try compileDepthwise(op, index)
        case .maxPool2D:
            return try compileMaxPool(op, index)
        case .add:
            return try compileAdd(op, index)
        case .relu:
            return try compileReLU(op, index)
        case .prelu:
            return try compilePReLU(op, index)
        case .pad:
            return try compilePad(op, index)
        case .concatenation:
            return try compileConcatenation(op, index)
        }
    }

    /// Checks that `op` has `inputs` inputs (all present) at least, and one output.
    private func need(_ inputs: Int, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError) {
        guard op.inputs.count >= inputs, op.outputs.count == 1, op.inputs.prefix(inputs).allSatisfy({ $0 >= 0 })
        else { throw fail(index, op, "has \(op.inputs.count) inputs and \(op.outputs.count) outputs") }
    }

    /// The shape of `tensor`, which must be 1xHxWxC.
    private func rank4(_ tensor: Int, _ index: Int, _ op: TFLiteModel.Operator) throws(FaceMeshError) -> [Int] {
        let s = shape(tensor)
        guard s.count == 4, s[0] == 1 else { throw fail(index, op, "needs a 1xHxWxC tensor, has \(s)") }
        return s
    }

    /// A RESHAPE: its output shares its input's buffer, so only the element count is checked.
    private func compileReshape(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let output = op.outputs.first ?? -1
        try need(1, index, op)
        guard model.tensors[op.inputs[0]].count == model.tensors[output].count,
            storage[output] == storage[op.inputs[0]]
        else { throw fail(index, op, "changes the element count") }
        return .none
    }

    /// A CONV_2D: weights and bias packed for the register-blocked kernel, its activation in the epilogue.
    private func compileConvolution(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        let output = op.outputs.first ?? -1
        try need(3, index, op)
        let input = try rank4(op.inputs[0], index, op)
        let out = try rank4(output, index, op)
        let filter = shape(op.inputs[1])
        guard filter.count == 4, filter[3] == input[3], filter[0] == out[3] else {
            throw fail(index, op, "has filter \(filter) for input \(input)")
        }
        let geometry = try window(
            options, input: input, output: out, kernel: (filter[1], filter[2]), strideFields: (2, 1),
            dilationFields: (5, 4), index, op)
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
    }

    /// A DEPTHWISE_CONV_2D (depth multiplier 1): weights and bias padded to whole vectors.
    private func compileDepthwise(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        let output = op.outputs.first ?? -1
        try need(3, index, op)
        let input = try rank4(op.inputs[0], index, op)
        let out = try rank4(output, index, op)
        let filter = shape(op.inputs[1])
        guard filter.count == 4, filter[3] == input[3], out[3] == input[3], filter[1] <= FK_MAX_KERNEL_HEIGHT else {
            throw fail(index, op, "has filter \(filter) for input \(input) (only depth multiplier 1 is supported)")
        }
        let geometry = try window(
            options, input: input, output: out, kernel: (filter[1], filter[2]), strideFields: (2, 1),
            dilationFields: (6, 5), index, op)
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
    }

    /// A MAX_POOL_2D.
    private func compileMaxPool(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        let output = op.outputs.first ?? -1
        try need(1, index, op)
        let input = try rank4(op.inputs[0], index, op)
        let out = try rank4(output, index, op)
        let kernel = (Int(try options?.int32(4) ?? 0), Int(try options?.int32(3) ?? 0))
        guard kernel.0 > 0, kernel.1 > 0, input[3] == out[3] else { throw fail(index, op, "has a bad pool size") }
        let geometry = try window(
            options, input: input, output: out, kernel: kernel, strideFields: (2, 1), dilationFields: nil, index, op)
        return .maxPool(
            MaxPool(
                window: geometry.window(channels: out[3]),
                activation: try activation(try options?.uint8(5) ?? 0, index, op)),
            input: op.inputs[0], output: output)
    }

    /// An ADD of two tensors of the output's shape (no broadcasting).
    private func compileAdd(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        let output = op.outputs.first ?? -1
        try need(2, index, op)
        guard shape(op.inputs[0]) == shape(output), shape(op.inputs[1]) == shape(output) else {
            throw fail(index, op, "needs equal shapes (broadcasting is not implemented)")
        }
        return .add(
            Addition(
                count: model.tensors[output].count,
                activation: try activation(try options?.uint8(0) ?? 0, index, op)),
            op.inputs[0], op.inputs[1], output: output)
    }

    /// A RELU.
    private func compileReLU(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let output = op.outputs.first ?? -1
        try need(1, index, op)
        return .relu(count: model.tensors[output].count, input: op.inputs[0], output: output)
    }

    /// A PRELU with one slope per channel, padded to whole vectors.
    private func compilePReLU(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let output = op.outputs.first ?? -1
        try need(2, index, op)
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
    }

    /// A PAD with zeros by constant int32 paddings.
    private func compilePad(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let output = op.outputs.first ?? -1
        try need(2, index, op)
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
    }

    /// A CONCATENATION along one axis, as copies of contiguous runs.
    private func compileConcatenation(_ op: TFLiteModel.Operator, _ index: Int) throws(FaceMeshError) -> Step {
        let options = op.options
        let output = op.outputs.first ?? -1
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

    /// The sliding window of a convolution or pool over `input`, from its options; it must give the model's `output`
    /// shape.
    private func window(
        _ options: FlatTable?, input: [Int], output out: [Int], kernel: (Int, Int), strideFields: (Int, Int),
        dilationFields: (Int, Int)?, _ index: Int, _ op: TFLiteModel.Operator
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
        guard geometry.outHeight == out[1], geometry.outWidth == out[2] else {
            throw fail(index, op, "output \(out) does not match its geometry")
        }
        return geometry
    }
}
