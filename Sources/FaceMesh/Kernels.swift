import CFaceKernels

/// Float32 NHWC kernels for the operators of the face models.
///
/// Convolutions and pooling run on the C kernels (CFaceKernels), which pick AVX2+FMA or portable code at run time;
/// the element-wise operators below process channels eight at a time (`SIMD8<Float>`). Every activation buffer has `Kernels.slack` spare
/// floats at its end so a vector load of the last channels of the last pixel stays inside the allocation;
/// stores of a partial vector write only the lanes that belong to the tensor.
enum Kernels {
    typealias Vec = SIMD8<Float>
    static let lanes = 8
    static let slack = 16

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> Vec {
        UnsafeRawPointer(pointer).loadUnaligned(as: Vec.self)
    }

    @inline(__always)
    static func store(_ value: Vec, _ pointer: UnsafeMutablePointer<Float>, count: Int) {
        if count >= lanes {
            UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Vec.self)
        } else {
            for lane in 0..<count { pointer[lane] = value[lane] }
        }
    }

    @inline(__always)
    static func activate(_ value: Vec, _ activation: FusedActivation) -> Vec {
        switch activation {
        case .none: return value
        case .relu: return value.replacing(with: 0, where: value .< 0)
        case .relu6: return value.replacing(with: 0, where: value .< 0).replacing(with: 6, where: value .> 6)
        case .reluN1To1: return value.replacing(with: -1, where: value .< -1).replacing(with: 1, where: value .> 1)
        }
    }

    static func roundUp(_ value: Int) -> Int { (value + lanes - 1) / lanes * lanes }
}

/// Geometry of a 2-D window operator (convolution, depthwise convolution, pooling) on one NHWC image.
struct WindowGeometry {
    var inHeight: Int
    var inWidth: Int
    var outHeight: Int
    var outWidth: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var strideY: Int
    var strideX: Int
    var dilationY: Int = 1
    var dilationX: Int = 1
    var padTop: Int
    var padLeft: Int

    /// TFLite's SAME/VALID rule: SAME pads (out - 1) * stride + effective kernel - in, the smaller half in front.
    init(
        inHeight: Int, inWidth: Int, kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
        dilationY: Int, dilationX: Int, padding: Padding
    ) {
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.dilationY = dilationY
        self.dilationX = dilationX
        let effectiveH = (kernelHeight - 1) * dilationY + 1
        let effectiveW = (kernelWidth - 1) * dilationX + 1
        switch padding {
        case .same:
            outHeight = (inHeight + strideY - 1) / strideY
            outWidth = (inWidth + strideX - 1) / strideX
            padTop = max((outHeight - 1) * strideY + effectiveH - inHeight, 0) / 2
            padLeft = max((outWidth - 1) * strideX + effectiveW - inWidth, 0) / 2
        case .valid:
            outHeight = (inHeight - effectiveH) / strideY + 1
            outWidth = (inWidth - effectiveW) / strideX + 1
            padTop = 0
            padLeft = 0
        }
    }
}

extension WindowGeometry {
    /// The geometry as the C kernels take it.
    func window(channels: Int) -> fk_window {
        fk_window(
            in_height: inHeight, in_width: inWidth, in_channels: channels, out_height: outHeight, out_width: outWidth,
            kernel_height: kernelHeight, kernel_width: kernelWidth, stride_y: strideY, stride_x: strideX,
            dilation_y: dilationY, dilation_x: dilationX, pad_top: padTop, pad_left: padLeft)
    }
}

extension fk_epilogue {
    /// Only the operator's own fused activation.
    init(_ activation: FusedActivation) {
        self.init(
            activation: Int32(activation.rawValue), residual: nil, residual_channels: 0, residual_activation: 0,
            alpha: nil)
    }
}

/// CONV_2D on the C kernels (CFaceKernels): a register-blocked matrix product of pixels by weights packed at load
/// into panels of 16 output channels. The epilogue holds what the interpreter fused into it (residual ADD, ReLU,
/// PReLU).
struct Convolution {
    var window: fk_window
    let outChannels: Int
    let packed: UnsafeMutablePointer<Float>
    var epilogue: fk_epilogue

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: window) { window in
            withUnsafePointer(to: epilogue) { fk_conv(input, window, packed, outChannels, output, $0) }
        }
    }
}

/// DEPTHWISE_CONV_2D with depth multiplier 1 on the C kernels. Weights [kh][kw][channels rounded up to 8].
struct DepthwiseConvolution {
    var window: fk_window
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    var epilogue: fk_epilogue

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: window) { window in
            withUnsafePointer(to: epilogue) { fk_depthwise(input, window, weights, bias, output, $0) }
        }
    }
}

/// MAX_POOL_2D on the C kernels; padded positions do not take part.
struct MaxPool {
    let window: fk_window
    let activation: FusedActivation

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: window) { fk_max_pool(input, $0, output, Int32(activation.rawValue)) }
    }
}

/// ADD of two tensors of the same shape.
struct Addition {
    let count: Int
    let activation: FusedActivation

    func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < count {
            let sum = Kernels.activate(Kernels.load(a + i) + Kernels.load(b + i), activation)
            Kernels.store(sum, output + i, count: min(count - i, Kernels.lanes))
            i += Kernels.lanes
        }
    }
}

/// PRELU with one slope per channel (last dimension): x < 0 ? alpha * x : x.
struct ParametricReLU {
    let pixels: Int
    let channels: Int
    /// Rounded up to 8 lanes.
    let alpha: UnsafeMutablePointer<Float>

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            let i = input + p * channels
            let o = output + p * channels
            var c = 0
            while c < channels {
                let x = Kernels.load(i + c)
                let y = x.replacing(with: x * Kernels.load(alpha + c), where: x .< 0)
                Kernels.store(y, o + c, count: min(channels - c, Kernels.lanes))
                c += Kernels.lanes
            }
        }
    }
}

/// PAD of a 4-D tensor with zeros.
struct ZeroPad {
    let inShape: [Int]
    let outShape: [Int]
    let before: [Int]

    /// Whether only channels are added, after the existing ones (a residual widened to a block's output).
    var padsChannelsAtTheEnd: Bool {
        before.allSatisfy { $0 == 0 } && inShape.prefix(3) == outShape.prefix(3)
    }

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        output.update(repeating: 0, count: outShape.reduce(1, *))
        let rowLength = inShape[3]
        for n in 0..<inShape[0] {
            for y in 0..<inShape[1] {
                for x in 0..<inShape[2] {
                    let source = input + ((n * inShape[1] + y) * inShape[2] + x) * inShape[3]
                    let target =
                        output
                        + (((n + before[0]) * outShape[1] + y + before[1]) * outShape[2] + x + before[2]) * outShape[3]
                        + before[3]
                    target.update(from: source, count: rowLength)
                }
            }
        }
    }
}
