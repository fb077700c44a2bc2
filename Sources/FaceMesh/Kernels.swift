/// Float32 NHWC kernels for the operators of the face models.
///
/// Channels are processed eight at a time (`SIMD8<Float>`). Every activation buffer has `Kernels.slack` spare
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
    /// For output row `oy`: the input row of kernel row 0, and the kernel rows that fall inside the input.
    @inline(__always)
    func rows(_ oy: Int) -> (origin: Int, taps: Range<Int>) {
        let origin = oy * strideY - padTop
        let first = max(0, (-origin + dilationY - 1) / dilationY)
        let end = min(kernelHeight, (inHeight - origin + dilationY - 1) / dilationY)
        return (origin, first..<max(first, end))
    }

    /// For output column `ox`: the input column of kernel column 0, and the kernel columns inside the input.
    @inline(__always)
    func columns(_ ox: Int) -> (origin: Int, taps: Range<Int>) {
        let origin = ox * strideX - padLeft
        let first = max(0, (-origin + dilationX - 1) / dilationX)
        let end = min(kernelWidth, (inWidth - origin + dilationX - 1) / dilationX)
        return (origin, first..<max(first, end))
    }
}

/// CONV_2D. Weights are repacked at load from OHWI to [kh][kw][in][out rounded up to 8 lanes].
struct Convolution {
    let geometry: WindowGeometry
    let inChannels: Int
    let outChannels: Int
    let paddedOut: Int
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let activation: FusedActivation

    var isPointwise: Bool {
        geometry.kernelHeight == 1 && geometry.kernelWidth == 1 && geometry.strideX == 1 && geometry.strideY == 1
            && geometry.padTop == 0 && geometry.padLeft == 0
    }

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        if isPointwise {
            runPointwise(input, output, pixels: geometry.outHeight * geometry.outWidth)
        } else {
            runGeneral(input, output)
        }
    }

    /// 1x1 convolution as a matrix product: four pixels by eight output channels held in registers (eight SSE or
    /// four AVX registers, so the block fits either without spilling).
    private func runPointwise(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, pixels: Int) {
        typealias Vec = Kernels.Vec
        let ic = inChannels
        let oc = outChannels
        var block = 0
        while block < oc {
            let count = min(oc - block, Kernels.lanes)
            let b = Kernels.load(bias + block)
            var p = 0
            while p + 4 <= pixels {
                var a0 = b
                var a1 = b
                var a2 = b
                var a3 = b
                let i0 = input + p * ic
                let i1 = i0 + ic
                let i2 = i1 + ic
                let i3 = i2 + ic
                var w = UnsafePointer(weights + block)
                for k in 0..<ic {
                    let w0 = Kernels.load(w)
                    a0 += Vec(repeating: i0[k]) * w0
                    a1 += Vec(repeating: i1[k]) * w0
                    a2 += Vec(repeating: i2[k]) * w0
                    a3 += Vec(repeating: i3[k]) * w0
                    w += paddedOut
                }
                let o = output + p * oc + block
                Kernels.store(Kernels.activate(a0, activation), o, count: count)
                Kernels.store(Kernels.activate(a1, activation), o + oc, count: count)
                Kernels.store(Kernels.activate(a2, activation), o + 2 * oc, count: count)
                Kernels.store(Kernels.activate(a3, activation), o + 3 * oc, count: count)
                p += 4
            }
            while p < pixels {
                var a0 = b
                let i0 = input + p * ic
                var w = UnsafePointer(weights + block)
                for k in 0..<ic {
                    a0 += Vec(repeating: i0[k]) * Kernels.load(w)
                    w += paddedOut
                }
                Kernels.store(Kernels.activate(a0, activation), output + p * oc + block, count: count)
                p += 1
            }
            block += Kernels.lanes
        }
    }

    /// Any kernel size, stride and padding: per output pixel and block of eight outputs, the taps (kernel position
    /// x input channel) accumulate in one register.
    private func runGeneral(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let g = geometry
        for oy in 0..<g.outHeight {
            let (iy0, kyRange) = g.rows(oy)
            for ox in 0..<g.outWidth {
                let (ix0, kxRange) = g.columns(ox)
                let o = output + (oy * g.outWidth + ox) * outChannels
                var block = 0
                while block < outChannels {
                    var acc = Kernels.load(bias + block)
                    for ky in kyRange {
                        for kx in kxRange {
                            let pixel =
                                input + ((iy0 + ky * g.dilationY) * g.inWidth + ix0 + kx * g.dilationX) * inChannels
                            var w = UnsafePointer(weights + (ky * g.kernelWidth + kx) * inChannels * paddedOut + block)
                            for k in 0..<inChannels {
                                acc += Kernels.Vec(repeating: pixel[k]) * Kernels.load(w)
                                w += paddedOut
                            }
                        }
                    }
                    let count = min(outChannels - block, Kernels.lanes)
                    Kernels.store(Kernels.activate(acc, activation), o + block, count: count)
                    block += Kernels.lanes
                }
            }
        }
    }
}

/// DEPTHWISE_CONV_2D with depth multiplier 1. Weights [kh][kw][channels rounded up to 8 lanes].
struct DepthwiseConvolution {
    let geometry: WindowGeometry
    let channels: Int
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let activation: FusedActivation

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let g = geometry
        let paddedChannels = Kernels.roundUp(channels)
        let kw = g.kernelWidth
        for oy in 0..<g.outHeight {
            let (iy0, kyRange) = g.rows(oy)
            for ox in 0..<g.outWidth {
                let (ix0, kxRange) = g.columns(ox)
                let o = output + (oy * g.outWidth + ox) * channels
                var c = 0
                while c < channels {
                    var acc = Kernels.load(bias + c)
                    for ky in kyRange {
                        let row = input + ((iy0 + ky * g.dilationY) * g.inWidth) * channels + c
                        let wRow = weights + ky * kw * paddedChannels + c
                        for kx in kxRange {
                            acc +=
                                Kernels.load(row + (ix0 + kx * g.dilationX) * channels)
                                * Kernels.load(wRow + kx * paddedChannels)
                        }
                    }
                    Kernels.store(Kernels.activate(acc, activation), o + c, count: min(channels - c, Kernels.lanes))
                    c += Kernels.lanes
                }
            }
        }
    }
}

/// MAX_POOL_2D; padded positions do not take part.
struct MaxPool {
    let geometry: WindowGeometry
    let channels: Int
    let activation: FusedActivation

    func run(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let g = geometry
        for oy in 0..<g.outHeight {
            let iy0 = oy * g.strideY - g.padTop
            for ox in 0..<g.outWidth {
                let ix0 = ox * g.strideX - g.padLeft
                let o = output + (oy * g.outWidth + ox) * channels
                var c = 0
                while c < channels {
                    var best = Kernels.Vec(repeating: -.infinity)
                    for ky in 0..<g.kernelHeight where iy0 + ky >= 0 && iy0 + ky < g.inHeight {
                        for kx in 0..<g.kernelWidth where ix0 + kx >= 0 && ix0 + kx < g.inWidth {
                            best = pointwiseMax(
                                best, Kernels.load(input + ((iy0 + ky) * g.inWidth + ix0 + kx) * channels + c))
                        }
                    }
                    Kernels.store(Kernels.activate(best, activation), o + c, count: min(channels - c, Kernels.lanes))
                    c += Kernels.lanes
                }
            }
        }
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
