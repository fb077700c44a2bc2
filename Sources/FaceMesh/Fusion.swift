import CFaceKernels

extension Interpreter {
    /// The steps `run()` executes: the operators' steps, with each convolution (or depthwise convolution) that
    /// starts a chain of CONV → ADD (of a residual) → PRELU or RELU doing the whole chain in its epilogue, and a
    /// PAD that only widens the residual's channels read in place instead of copied.
    ///
    /// A chain only goes on through a tensor that its next operator alone reads and that is no graph output; the
    /// fused step runs where the chain's last operator was (every tensor has its own buffer, so the residual and
    /// the convolution's input are both ready there) and writes that operator's output. The tensors inside a
    /// chain are no longer written by `run()`; `runStep` still runs operators one by one.
    func fusedPlan() -> [Step] {
        var plan = steps
        var readers = Array(repeating: [Int](), count: model.tensors.count)
        var producer = Array(repeating: -1, count: model.tensors.count)
        for (index, op) in model.operators.enumerated() {
            for tensor in Set(op.inputs) where tensor >= 0 { readers[tensor].append(index) }
            for tensor in op.outputs where tensor >= 0 { producer[tensor] = index }
        }
        let graphOutputs = Set(model.outputs)
        var claimed = Set<Int>()
        func soleReader(_ tensor: Int) -> Int? {
            guard !graphOutputs.contains(tensor), readers[tensor].count == 1, !claimed.contains(readers[tensor][0])
            else { return nil }
            return readers[tensor][0]
        }
        for index in plan.indices {
            var epilogue: fk_epilogue
            var channels: Int
            switch plan[index] {
            case .convolution(let kernel, _, _):
                epilogue = kernel.epilogue
                channels = kernel.outChannels
            case .depthwise(let kernel, _, _):
                epilogue = kernel.epilogue
                channels = kernel.window.in_channels
            default: continue
            }
            var tensor = model.operators[index].outputs[0]
            var chain = [index]
            if let next = soleReader(tensor), case .add(let add, let a, let b, let output) = plan[next], a != b {
                var residual = a == tensor ? b : a
                var residualChannels = channels
                let padIndex = producer[residual]
                if padIndex >= 0, soleReader(residual) == next, case .pad(let pad, let padInput, _) = plan[padIndex],
                    pad.padsChannelsAtTheEnd
                {
                    residual = padInput
                    residualChannels = pad.inShape[3]
                    chain.append(padIndex)
                }
                epilogue.residual = UnsafePointer(storage[residual]!)
                epilogue.residual_channels = residualChannels
                epilogue.residual_activation = Int32(add.activation.rawValue)
                chain.append(next)
                tensor = output
            }
            if let next = soleReader(tensor) {
                switch plan[next] {
                case .prelu(let prelu, _, let output):
                    epilogue.alpha = UnsafePointer(prelu.alpha)
                    chain.append(next)
                    tensor = output
                case .relu(_, _, let output) where epilogue.residual == nil && epilogue.activation == 0:
                    epilogue.activation = Int32(FusedActivation.relu.rawValue)
                    chain.append(next)
                    tensor = output
                case .relu(_, _, let output) where epilogue.residual != nil && epilogue.residual_activation == 0:
                    epilogue.residual_activation = Int32(FusedActivation.relu.rawValue)
                    chain.append(next)
                    tensor = output
                default: break
                }
            }
            guard chain.count > 1 else { continue }
            let last = chain.max()!
            for member in chain {
                plan[member] = .none
                claimed.insert(member)
            }
            switch steps[index] {
            case .convolution(var kernel, let input, _):
                kernel.epilogue = epilogue
                plan[last] = .convolution(kernel, input: input, output: tensor)
            case .depthwise(var kernel, let input, _):
                kernel.epilogue = epilogue
                plan[last] = .depthwise(kernel, input: input, output: tensor)
            default: break
            }
        }
        return plan.filter {
            if case .none = $0 { return false }
            return true
        }
    }
}
