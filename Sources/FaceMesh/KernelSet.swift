import CFaceKernels

/// Which copy of the convolution kernels runs: chosen once per process from what the CPU supports (AVX2 and FMA on
/// x86-64, else the portable copy, which is SSE2 on x86-64 and NEON on arm64).
package enum KernelSet: String, CaseIterable, Sendable {
    case portable
    case avx2FMA = "avx2+fma"

    /// The set the face models run on now.
    package static var active: KernelSet { KernelSet(fk_isa()) }

    /// Whether this CPU can run `set`.
    package var isSupported: Bool { fk_isa_supported(isa) != 0 }

    /// Runs the face models on `set` from now on (benchmarks and tests compare the sets); false when this CPU
    /// cannot run it, and nothing changes.
    @discardableResult
    package static func use(_ set: KernelSet) -> Bool { fk_set_isa(set.isa) != 0 }

    private init(_ isa: fk_isa_t) { self = isa == FK_ISA_AVX2_FMA ? .avx2FMA : .portable }

    private var isa: fk_isa_t {
        switch self {
        case .portable: FK_ISA_PORTABLE
        case .avx2FMA: FK_ISA_AVX2_FMA
        }
    }
}
