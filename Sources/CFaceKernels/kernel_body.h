// The kernels, written once for a vector of FK_W floats and a tile of FK_MR pixels; kernels.c includes this file
// once per instruction set, with FK_NAME giving each copy its own names. Clang vector extensions, no intrinsics:
// the same text becomes SSE2, AVX2+FMA or NEON code.

typedef float FK_NAME(vec) __attribute__((vector_size(FK_W * sizeof(float))));
#define VEC FK_NAME(vec)
#define FK_INLINE static inline __attribute__((always_inline))

FK_INLINE VEC FK_NAME(load)(const float *p) {
    VEC v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

FK_INLINE void FK_NAME(store)(float *p, VEC v) { __builtin_memcpy(p, &v, sizeof v); }

FK_INLINE VEC FK_NAME(splat)(float x) {
    VEC v;
    for (int i = 0; i < FK_W; i++) v[i] = x;
    return v;
}

FK_INLINE VEC FK_NAME(activate)(VEC y, int activation) {
    switch (activation) {
    case 1: return __builtin_elementwise_max(y, FK_NAME(splat)(0));
    case 2: return __builtin_elementwise_min(__builtin_elementwise_max(y, FK_NAME(splat)(-1)), FK_NAME(splat)(1));
    case 3: return __builtin_elementwise_min(__builtin_elementwise_max(y, FK_NAME(splat)(0)), FK_NAME(splat)(6));
    default: return y;
    }
}

/// The epilogue for the channels [c, c + FK_W) of pixel `pixel`.
FK_INLINE VEC FK_NAME(finish)(VEC y, const fk_epilogue *e, ptrdiff_t pixel, ptrdiff_t c) {
    y = FK_NAME(activate)(y, e->activation);
    if (e->residual) {
        if (c < e->residual_channels) {
            VEC r = FK_NAME(load)(e->residual + pixel * e->residual_channels + c);
            // The residual's last vector may run into its next pixel: those lanes add nothing.
            if (c + FK_W > e->residual_channels) {
                for (int i = 0; i < FK_W; i++) r[i] = c + i < e->residual_channels ? r[i] : 0;
            }
            y += r;
        }
        y = FK_NAME(activate)(y, e->residual_activation);
    }
    if (e->alpha) {
        VEC zero = FK_NAME(splat)(0);
        y = __builtin_elementwise_max(y, zero) + FK_NAME(load)(e->alpha + c) * __builtin_elementwise_min(y, zero);
    }
    return y;
}

// The tiles of fk_conv: FK_MR or 1 pixels by 16 or 8 channels, each its own function so that its loops have
// constant bounds and its accumulators stay in registers.
#define TILE_MR FK_MR
#define TILE_NV (16 / FK_W)
#define TILE_NAME FK_NAME(conv_tile_full_wide)
#include "conv_tile.h"
#define TILE_MR FK_MR
#define TILE_NV (8 / FK_W)
#define TILE_NAME FK_NAME(conv_tile_full_narrow)
#include "conv_tile.h"
#define TILE_MR 1
#define TILE_NV (16 / FK_W)
#define TILE_NAME FK_NAME(conv_tile_one_wide)
#include "conv_tile.h"
#define TILE_MR 1
#define TILE_NV (8 / FK_W)
#define TILE_NAME FK_NAME(conv_tile_one_narrow)
#include "conv_tile.h"

/// The input pointers of a tile of `mr` pixels from `p` (see conv_tile.h), for a kernel bigger than 1x1. With
/// `by_rows`, a tap is a whole kernel row (kernel width x channels, one run of memory), copied into `edge` with
/// zeros beside it where it crosses the image's left or right side; rows outside the image read `zeros`.
FK_INLINE void FK_NAME(conv_pointers)(
    const float *input, const fk_window *g, ptrdiff_t p, int mr, int by_rows, const float *zeros, const float **a,
    float (*edge)[FK_ROW_TAPS][FK_ROW_DEPTH]) {
    const ptrdiff_t ic = g->in_channels;
    ptrdiff_t oy = p / g->out_width, ox = p % g->out_width;
    const ptrdiff_t iy0 = oy * g->stride_y - g->pad_top, ix0 = ox * g->stride_x - g->pad_left;
    if (by_rows && mr == FK_MR && ox + FK_MR <= g->out_width && iy0 >= 0
        && iy0 + (g->kernel_height - 1) * g->dilation_y < g->in_height && ix0 >= 0
        && ix0 + (FK_MR - 1) * g->stride_x + g->kernel_width <= g->in_width) {
        // The whole tile inside the image and on one output row: pointers one stride apart.
        for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
            const float *row = input + ((iy0 + ky * g->dilation_y) * g->in_width + ix0) * ic;
            for (int i = 0; i < FK_MR; i++) a[ky * FK_MR + i] = row + i * g->stride_x * ic;
        }
        return;
    }
    for (int i = 0; i < mr; i++) {
        for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
            ptrdiff_t iy = oy * g->stride_y - g->pad_top + ky * g->dilation_y;
            int row_inside = iy >= 0 && iy < g->in_height;
            if (by_rows) {
                ptrdiff_t left = ox * g->stride_x - g->pad_left;
                if (!row_inside) {
                    a[ky * mr + i] = zeros;
                } else if (left >= 0 && left + g->kernel_width <= g->in_width) {
                    a[ky * mr + i] = input + (iy * g->in_width + left) * ic;
                } else {
                    const float *row = input + iy * g->in_width * ic;
                    for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
                        ptrdiff_t ix = left + kx;
                        int inside = ix >= 0 && ix < g->in_width;
                        for (ptrdiff_t k = 0; k < ic; k++) edge[i][ky][kx * ic + k] = inside ? row[ix * ic + k] : 0;
                    }
                    a[ky * mr + i] = edge[i][ky];
                }
                continue;
            }
            for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
                ptrdiff_t ix = ox * g->stride_x - g->pad_left + kx * g->dilation_x;
                int inside = row_inside && ix >= 0 && ix < g->in_width;
                a[(ky * g->kernel_width + kx) * mr + i] = inside ? input + (iy * g->in_width + ix) * ic : zeros;
            }
        }
        if (++ox == g->out_width) {
            ox = 0;
            oy++;
        }
    }
}

static void FK_NAME(conv)(
    const float *input, const fk_window *g, const float *packed, ptrdiff_t out_channels, float *output,
    const fk_epilogue *epilogue) {
    // A local copy: the stores of results cannot alias it, so its fields stay in registers.
    const fk_epilogue local = *epilogue, *e = &local;
    static const float zeros[FK_CONV_MAX_PADDED_CHANNELS + 16];
    const ptrdiff_t ic = g->in_channels;
    const ptrdiff_t taps = g->kernel_height * g->kernel_width;
    const ptrdiff_t pixels = g->out_height * g->out_width;
    const int pointwise = taps == 1 && g->stride_y == 1 && g->stride_x == 1 && g->pad_top == 0 && g->pad_left == 0
        && g->in_height == g->out_height && g->in_width == g->out_width;
    // With few input channels (a model's first layer), a kernel row is one tap.
    const int by_rows = !pointwise && g->dilation_x == 1 && g->kernel_width * ic <= FK_ROW_DEPTH
        && g->kernel_height <= FK_ROW_TAPS;
    const ptrdiff_t tap_count = by_rows ? g->kernel_height : taps;
    const ptrdiff_t depth = by_rows ? g->kernel_width * ic : ic;
    const ptrdiff_t padded = (out_channels + 7) / 8 * 8;
    // Panels of 16 channels (the last may be 8); the last panel goes first so that what its stores spill into the
    // next pixel is overwritten by that pixel's first panel afterwards.
    const ptrdiff_t panel_count = (padded + 15) / 16;
    const float *a[FK_MAX_TAPS * FK_MR];
    float edge[FK_MR][FK_ROW_TAPS][FK_ROW_DEPTH];
    float *out[FK_MR];
    ptrdiff_t pixel[FK_MR];
    for (ptrdiff_t p = 0; p < pixels;) {
        // Whole tiles of FK_MR pixels, then single pixels.
        const int mr = pixels - p >= FK_MR ? FK_MR : 1;
        for (int i = 0; i < mr; i++) {
            pixel[i] = p + i;
            out[i] = output + pixel[i] * out_channels;
            if (pointwise) a[i] = input + pixel[i] * ic;
        }
        if (!pointwise) FK_NAME(conv_pointers)(input, g, p, mr, by_rows, zeros, a, edge);
        for (ptrdiff_t n = 0; n < panel_count; n++) {
            ptrdiff_t q = n == 0 ? panel_count - 1 : n - 1;
            ptrdiff_t c0 = q * 16;
            const float *panel = packed + c0 * (1 + taps * ic);
            float *tile_out[FK_MR];
            for (int i = 0; i < mr; i++) tile_out[i] = out[i] + c0;
            const int wide = padded - c0 >= 16;
            if (mr == FK_MR && wide) {
                FK_NAME(conv_tile_full_wide)(tap_count, a, depth, panel, tile_out, pixel, c0, e);
            } else if (mr == FK_MR) {
                FK_NAME(conv_tile_full_narrow)(tap_count, a, depth, panel, tile_out, pixel, c0, e);
            } else if (wide) {
                FK_NAME(conv_tile_one_wide)(tap_count, a, depth, panel, tile_out, pixel, c0, e);
            } else {
                FK_NAME(conv_tile_one_narrow)(tap_count, a, depth, panel, tile_out, pixel, c0, e);
            }
        }
        p += mr;
    }
}

/// One output row of a depthwise convolution for the channel vector at `c`; kh x kw is 3x3 or 5x5, a constant
/// after inlining, so the weights stay in registers. Rows outside the input read a valid row with zero weights, so
/// the inner loop has no branch; one accumulator per kernel row shortens the chain of dependent additions.
FK_INLINE void FK_NAME(depthwise_row)(
    const int kh, const int kw, const float *const *rows, const fk_window *g, ptrdiff_t c, const float *weights,
    ptrdiff_t padded, VEC bias, float *out, ptrdiff_t first_pixel, const fk_epilogue *e) {
    const ptrdiff_t channels = g->in_channels;
    const float *valid = 0;
    for (int ky = 0; ky < kh; ky++) {
        if (rows[ky]) valid = rows[ky];
    }
    if (!valid) {
        // No kernel row overlaps the input: the bias alone.
        for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
            FK_NAME(store)(out + ox * channels + c, FK_NAME(finish)(bias, e, first_pixel + ox, c));
        }
        return;
    }
    VEC w[25];
    const float *r[5];
    for (int ky = 0; ky < kh; ky++) {
        r[ky] = (rows[ky] ? rows[ky] : valid) + c;
        for (int kx = 0; kx < kw; kx++) {
            w[ky * kw + kx] = rows[ky] ? FK_NAME(load)(weights + (ky * kw + kx) * padded + c) : FK_NAME(splat)(0);
        }
    }
    // Columns whose whole kernel lies inside the input: [inner_begin, inner_end).
    const ptrdiff_t sx = g->stride_x, pl = g->pad_left;
    ptrdiff_t inner_begin = (pl + sx - 1) / sx;
    ptrdiff_t inner_end = g->in_width - kw + pl >= 0 ? (g->in_width - kw + pl) / sx + 1 : 0;
    if (inner_end > g->out_width) inner_end = g->out_width;
    if (inner_begin > inner_end) inner_begin = inner_end;
    // Left to right, so that what a partial channel vector spills into the next pixel is overwritten after.
    for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
        if (ox == inner_begin) {
            for (; ox < inner_end; ox++) {
                ptrdiff_t ix0 = ox * sx - pl;
                VEC part[5];
                for (int ky = 0; ky < kh; ky++) {
                    const float *x = r[ky] + ix0 * channels;
                    part[ky] = FK_NAME(load)(x) * w[ky * kw];
                    for (int kx = 1; kx < kw; kx++) part[ky] += FK_NAME(load)(x + kx * channels) * w[ky * kw + kx];
                }
                VEC acc = bias;
                for (int ky = 0; ky < kh; ky++) acc += part[ky];
                FK_NAME(store)(out + ox * channels + c, FK_NAME(finish)(acc, e, first_pixel + ox, c));
            }
            if (ox >= g->out_width) break;
        }
        ptrdiff_t ix0 = ox * sx - pl;
        VEC acc = bias;
        for (int ky = 0; ky < kh; ky++) {
            for (int kx = 0; kx < kw; kx++) {
                ptrdiff_t ix = ix0 + kx;
                if (ix < 0 || ix >= g->in_width) continue;
                acc += FK_NAME(load)(r[ky] + ix * channels) * w[ky * kw + kx];
            }
        }
        FK_NAME(store)(out + ox * channels + c, FK_NAME(finish)(acc, e, first_pixel + ox, c));
    }
}

static void FK_NAME(depthwise)(
    const float *input, const fk_window *g, const float *weights, const float *bias, float *output,
    const fk_epilogue *epilogue) {
    const fk_epilogue local = *epilogue, *e = &local;
    const ptrdiff_t channels = g->in_channels;
    const ptrdiff_t padded = (channels + 7) / 8 * 8;
    const ptrdiff_t vectors = (channels + FK_W - 1) / FK_W;
    const float *rows[FK_MAX_KERNEL_HEIGHT];
    for (ptrdiff_t oy = 0; oy < g->out_height; oy++) {
        for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
            ptrdiff_t iy = oy * g->stride_y - g->pad_top + ky * g->dilation_y;
            rows[ky] = iy >= 0 && iy < g->in_height ? input + iy * g->in_width * channels : 0;
        }
        float *out = output + oy * g->out_width * channels;
        // The last channel vector first: what it spills into the next pixel is overwritten by that pixel's first.
        for (ptrdiff_t n = 0; n < vectors; n++) {
            ptrdiff_t c = (n == 0 ? vectors - 1 : n - 1) * FK_W;
            VEC b = FK_NAME(load)(bias + c);
            const int undilated = g->dilation_y == 1 && g->dilation_x == 1;
            if (undilated && g->kernel_height == 3 && g->kernel_width == 3) {
                FK_NAME(depthwise_row)(3, 3, rows, g, c, weights, padded, b, out, oy * g->out_width, e);
            } else if (undilated && g->kernel_height == 5 && g->kernel_width == 5) {
                FK_NAME(depthwise_row)(5, 5, rows, g, c, weights, padded, b, out, oy * g->out_width, e);
            } else {
                // Any other size or a dilation: weights loaded per tap.
                for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
                    ptrdiff_t ix0 = ox * g->stride_x - g->pad_left;
                    VEC acc = b;
                    for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
                        if (!rows[ky]) continue;
                        for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
                            ptrdiff_t ix = ix0 + kx * g->dilation_x;
                            if (ix < 0 || ix >= g->in_width) continue;
                            acc += FK_NAME(load)(rows[ky] + ix * channels + c)
                                * FK_NAME(load)(weights + (ky * g->kernel_width + kx) * padded + c);
                        }
                    }
                    FK_NAME(store)(out + ox * channels + c, FK_NAME(finish)(acc, e, oy * g->out_width + ox, c));
                }
            }
        }
    }
}

static void FK_NAME(max_pool)(const float *input, const fk_window *g, float *output, int activation) {
    const ptrdiff_t channels = g->in_channels;
    const ptrdiff_t vectors = (channels + FK_W - 1) / FK_W;
    for (ptrdiff_t oy = 0; oy < g->out_height; oy++) {
        ptrdiff_t iy0 = oy * g->stride_y - g->pad_top;
        for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
            ptrdiff_t ix0 = ox * g->stride_x - g->pad_left;
            float *out = output + (oy * g->out_width + ox) * channels;
            for (ptrdiff_t n = 0; n < vectors; n++) {
                ptrdiff_t c = (n == 0 ? vectors - 1 : n - 1) * FK_W;
                VEC best = FK_NAME(splat)(-__builtin_inff());
                for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
                    ptrdiff_t iy = iy0 + ky * g->dilation_y;
                    if (iy < 0 || iy >= g->in_height) continue;
                    for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
                        ptrdiff_t ix = ix0 + kx * g->dilation_x;
                        if (ix < 0 || ix >= g->in_width) continue;
                        best = __builtin_elementwise_max(
                            best, FK_NAME(load)(input + (iy * g->in_width + ix) * channels + c));
                    }
                }
                FK_NAME(store)(out + c, FK_NAME(activate)(best, activation));
            }
        }
    }
}

#undef VEC
#undef FK_INLINE
