// Two copies of the kernels (kernel_body.h): the compiler's baseline, and AVX2+FMA on x86-64, chosen at run time
// by cpuid so that one binary runs on any x86-64 and uses the wider units where they exist.
#include "CFaceKernels.h"

#include <stdatomic.h>
#include <string.h>

// Multiply-add pairs become fused multiply-adds where the instruction set has them (AVX2+FMA, NEON).
#pragma clang fp contract(fast)

// fk_conv takes a whole kernel row as one tap when it holds at most FK_ROW_DEPTH floats and the kernel has at most
// FK_ROW_TAPS rows (its stack buffer for rows that cross the image's side).
enum { FK_ROW_DEPTH = 64, FK_ROW_TAPS = 7 };

#define FK_CONCAT2(a, b) a##b
#define FK_CONCAT(a, b) FK_CONCAT2(a, b)

#define FK_W 4
#if defined(__aarch64__)
#define FK_MR 4  // 32 NEON registers: 16 accumulators, 4 weight vectors
#else
#define FK_MR 3  // 16 SSE registers: 12 accumulators, 4 weight vectors
#endif
#define FK_NAME(name) FK_CONCAT(portable_, name)
#include "kernel_body.h"
#undef FK_W
#undef FK_MR
#undef FK_NAME

#if defined(__x86_64__)
#include <cpuid.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define FK_W 8
#define FK_MR 6  // 16 YMM registers: 12 accumulators, 2 weight vectors, 1 broadcast
#define FK_NAME(name) FK_CONCAT(avx2_, name)
#include "kernel_body.h"
#undef FK_W
#undef FK_MR
#undef FK_NAME
#pragma clang attribute pop

static int cpu_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | osxsave | avx)) != (fma | osxsave | avx)) return 0;
    // The OS must save the YMM registers on a context switch (XCR0 bits 1 and 2).
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;
}
#endif

static _Atomic int selected = -1;

int fk_isa_supported(fk_isa_t isa) {
    switch (isa) {
    case FK_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case FK_ISA_AVX2_FMA: return cpu_has_avx2_fma();
#endif
    default: return 0;
    }
}

fk_isa_t fk_isa(void) {
    int isa = atomic_load_explicit(&selected, memory_order_relaxed);
    if (isa < 0) {
        isa = fk_isa_supported(FK_ISA_AVX2_FMA) ? FK_ISA_AVX2_FMA : FK_ISA_PORTABLE;
        atomic_store_explicit(&selected, isa, memory_order_relaxed);
    }
    return (fk_isa_t)isa;
}

int fk_set_isa(fk_isa_t isa) {
    if (!fk_isa_supported(isa)) return 0;
    atomic_store_explicit(&selected, (int)isa, memory_order_relaxed);
    return 1;
}

size_t fk_conv_packed_count(ptrdiff_t taps, ptrdiff_t in_channels, ptrdiff_t out_channels) {
    return (size_t)((out_channels + 7) / 8 * 8 * (1 + taps * in_channels));
}

void fk_conv_pack(
    const float *weights, const float *bias, ptrdiff_t taps, ptrdiff_t in_channels, ptrdiff_t out_channels,
    float *packed) {
    const ptrdiff_t padded = (out_channels + 7) / 8 * 8;
    const ptrdiff_t depth = taps * in_channels;
    for (ptrdiff_t c0 = 0; c0 < padded; c0 += 16) {
        const ptrdiff_t width = padded - c0 >= 16 ? 16 : padded - c0;
        float *panel = packed + c0 * (1 + depth);
        for (ptrdiff_t j = 0; j < width; j++) panel[j] = c0 + j < out_channels ? bias[c0 + j] : 0;
        for (ptrdiff_t k = 0; k < depth; k++) {
            for (ptrdiff_t j = 0; j < width; j++) {
                panel[width + k * width + j] = c0 + j < out_channels ? weights[(c0 + j) * depth + k] : 0;
            }
        }
    }
}

/// One copy of the kernels; `sets` is indexed by fk_isa_t.
typedef struct {
    void (*conv)(const float *, const fk_window *, const float *, ptrdiff_t, float *, const fk_epilogue *);
    void (*depthwise)(const float *, const fk_window *, const float *, const float *, float *, const fk_epilogue *);
    void (*max_pool)(const float *, const fk_window *, float *, int);
} kernel_set;

static const kernel_set sets[] = {
    [FK_ISA_PORTABLE] = {portable_conv, portable_depthwise, portable_max_pool},
#if defined(__x86_64__)
    [FK_ISA_AVX2_FMA] = {avx2_conv, avx2_depthwise, avx2_max_pool},
#endif
};

void fk_conv(
    const float *input, const fk_window *window, const float *packed, ptrdiff_t out_channels, float *output,
    const fk_epilogue *epilogue) {
    sets[fk_isa()].conv(input, window, packed, out_channels, output, epilogue);
}

void fk_depthwise(
    const float *input, const fk_window *window, const float *weights, const float *bias, float *output,
    const fk_epilogue *epilogue) {
    sets[fk_isa()].depthwise(input, window, weights, bias, output, epilogue);
}

void fk_max_pool(const float *input, const fk_window *window, float *output, int activation) {
    sets[fk_isa()].max_pool(input, window, output, activation);
}
