// Float32 NHWC kernels of the face models, with one copy per instruction set and a choice made once at run time.
//
// Every function takes dense NHWC tensors. Output buffers must have 16 spare floats after their last element
// (the interpreter allocates them so): a channel block that ends inside a vector writes the whole vector, and the
// next block or pixel, written later, overwrites what spilled over. Weights are packed by the fk_*_pack functions.
#ifndef CFACEKERNELS_H
#define CFACEKERNELS_H

#include <stddef.h>

/// The kernel sets; fk_isa() says which one runs on this CPU.
typedef enum {
    FK_ISA_PORTABLE = 0,  ///< 128-bit vectors of the compiler's baseline (SSE2 on x86-64, NEON on arm64)
    FK_ISA_AVX2_FMA = 1,  ///< 256-bit AVX2 with fused multiply-add (x86-64 CPUs since 2013)
} fk_isa_t;

/// The kernel set in use: the best one this CPU and OS support, chosen at the first call.
fk_isa_t fk_isa(void);

/// Whether `isa` can run on this CPU.
int fk_isa_supported(fk_isa_t isa);

/// Makes `isa` the kernel set in use (tests compare the sets); returns 0 and changes nothing when unsupported.
int fk_set_isa(fk_isa_t isa);

/// What happens to a convolution's sums before they are stored, in this order: bias, `activation` (TFLite's
/// fused activation code: 0 none, 1 ReLU, 2 ReLU to [-1, 1], 3 ReLU6), then when `residual` is set, its
/// `residual_channels` channels per pixel (densely stored, at most the output's) are added to the output's first
/// channels and `residual_activation` applied to all, then when `alpha` is set, PReLU with one slope per channel
/// (padded to a multiple of 8). The residual buffer needs 16 spare floats after its end, as outputs do.
typedef struct {
    int activation;
    const float *residual;
    ptrdiff_t residual_channels;
    int residual_activation;
    const float *alpha;
} fk_epilogue;

/// Floats of a packed convolution: bias and weights in panels of 16 output channels (8 for the last if fewer).
size_t fk_conv_packed_count(ptrdiff_t taps, ptrdiff_t in_channels, ptrdiff_t out_channels);

/// Packs OHWI weights (`taps` = kernel height x width) and the bias for fk_conv.
void fk_conv_pack(
    const float *weights, const float *bias, ptrdiff_t taps, ptrdiff_t in_channels, ptrdiff_t out_channels,
    float *packed);

/// Geometry of a window operator on one image: sizes, kernel, strides, dilations, leading padding. Positions
/// outside the input (padding) read as zeros.
typedef struct {
    ptrdiff_t in_height, in_width, in_channels;
    ptrdiff_t out_height, out_width;
    ptrdiff_t kernel_height, kernel_width;
    ptrdiff_t stride_y, stride_x;
    ptrdiff_t dilation_y, dilation_x;
    ptrdiff_t pad_top, pad_left;
} fk_window;

/// The largest kernel fk_conv takes (height x width), and the tallest kernel fk_depthwise takes.
#define FK_MAX_TAPS 49
#define FK_MAX_KERNEL_HEIGHT 16

/// The largest input channel count fk_conv takes for kernels bigger than 1x1 (its zero row for padding).
#define FK_CONV_MAX_PADDED_CHANNELS 512

/// CONV_2D: a matrix product of pixels by packed weights. Kernels other than 1x1 need at most FK_MAX_TAPS taps
/// and FK_CONV_MAX_PADDED_CHANNELS input channels.
void fk_conv(
    const float *input, const fk_window *window, const float *packed, ptrdiff_t out_channels, float *output,
    const fk_epilogue *epilogue);

/// DEPTHWISE_CONV_2D, depth multiplier 1, kernel height at most FK_MAX_KERNEL_HEIGHT. `weights` are
/// [kh][kw][channels rounded up to 8], `bias` padded as well.
void fk_depthwise(
    const float *input, const fk_window *window, const float *weights, const float *bias, float *output,
    const fk_epilogue *epilogue);

/// MAX_POOL_2D; padded positions take no part. `activation` is TFLite's fused activation code.
void fk_max_pool(const float *input, const fk_window *window, float *output, int activation);

#endif
