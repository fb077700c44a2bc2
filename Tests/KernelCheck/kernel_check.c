// Checks the face kernels (Sources/CFaceKernels) against a plain double-precision reference, for every kernel set
// the CPU runs. Built natively it checks SSE2 and AVX2+FMA; cross-built for arm64 and run under qemu it checks the
// NEON code an arm64 box would run (scripts/check-kernels). Exit status 0 when every case agrees.
#include "CFaceKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xFFFFFF) / (float)0x1000000 * 2.0f - 1.0f;
}

static float *random_floats(size_t count) {
    float *values = malloc((count + 16) * sizeof(float));
    for (size_t i = 0; i < count + 16; i++) values[i] = uniform();
    return values;
}

static double activate(double y, int activation) {
    switch (activation) {
    case 1: return y > 0 ? y : 0;
    case 2: return y < -1 ? -1 : (y > 1 ? 1 : y);
    case 3: return y < 0 ? 0 : (y > 6 ? 6 : y);
    default: return y;
    }
}

/// The epilogue of fk_epilogue's comment, on one output value of channel `c` at pixel `pixel`.
static double finish(double y, const fk_epilogue *e, ptrdiff_t pixel, ptrdiff_t c) {
    y = activate(y, e->activation);
    if (e->residual) {
        if (c < e->residual_channels) y += e->residual[pixel * e->residual_channels + c];
        y = activate(y, e->residual_activation);
    }
    if (e->alpha) y = y > 0 ? y : e->alpha[c] * y;
    return y;
}

/// The input value at (iy, ix, channel), zero outside the image.
static double at(const float *input, const fk_window *g, ptrdiff_t iy, ptrdiff_t ix, ptrdiff_t channel) {
    if (iy < 0 || ix < 0 || iy >= g->in_height || ix >= g->in_width) return 0;
    return input[(iy * g->in_width + ix) * g->in_channels + channel];
}

/// Depthwise and max pooling over the window of output pixel (oy, ox), channel c: with `weights`
/// ([kh][kw][padded]) the weighted sum, padding reading as zeros; without, the largest value inside the image.
static double window_reduce(
    const float *input, const fk_window *g, ptrdiff_t oy, ptrdiff_t ox, ptrdiff_t c, const float *weights,
    ptrdiff_t padded) {
    double result = weights ? 0 : -INFINITY;
    for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
        for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
            ptrdiff_t iy = oy * g->stride_y - g->pad_top + ky * g->dilation_y;
            ptrdiff_t ix = ox * g->stride_x - g->pad_left + kx * g->dilation_x;
            if (weights) {
                result += at(input, g, iy, ix, c) * weights[(ky * g->kernel_width + kx) * padded + c];
            } else if (iy >= 0 && ix >= 0 && iy < g->in_height && ix < g->in_width) {
                double value = at(input, g, iy, ix, c);
                if (value > result) result = value;
            }
        }
    }
    return result;
}

static int compare(const char *what, const float *got, const double *want, size_t count) {
    for (size_t i = 0; i < count; i++) {
        double tolerance = 1e-4 * (1 + fabs(want[i]));
        if (!(fabs(got[i] - want[i]) <= tolerance)) {
            printf("  FAIL %s: element %zu is %.7g, the reference %.7g\n", what, i, got[i], want[i]);
            return 1;
        }
    }
    return 0;
}

static fk_window window(
    ptrdiff_t height, ptrdiff_t width, ptrdiff_t channels, ptrdiff_t kernel, ptrdiff_t stride, ptrdiff_t dilation,
    int same_padding) {
    fk_window g = {height, width, channels, 0, 0, kernel, kernel, stride, stride, dilation, dilation, 0, 0};
    ptrdiff_t span = (kernel - 1) * dilation + 1;
    if (same_padding) {
        g.out_height = (height + stride - 1) / stride;
        g.out_width = (width + stride - 1) / stride;
        ptrdiff_t pad_y = (g.out_height - 1) * stride + span - height, pad_x = (g.out_width - 1) * stride + span - width;
        g.pad_top = pad_y > 0 ? pad_y / 2 : 0;
        g.pad_left = pad_x > 0 ? pad_x / 2 : 0;
    } else {
        g.out_height = (height - span) / stride + 1;
        g.out_width = (width - span) / stride + 1;
    }
    return g;
}

static int check_conv(const fk_window *g, ptrdiff_t out_channels, int activation, int residual, int prelu) {
    ptrdiff_t taps = g->kernel_height * g->kernel_width, depth = taps * g->in_channels;
    ptrdiff_t pixels = g->out_height * g->out_width, padded = (out_channels + 7) / 8 * 8;
    float *input = random_floats((size_t)(g->in_height * g->in_width * g->in_channels));
    float *weights = random_floats((size_t)(out_channels * depth)), *bias = random_floats((size_t)out_channels);
    float *packed = malloc(fk_conv_packed_count(taps, g->in_channels, out_channels) * sizeof(float));
    fk_conv_pack(weights, bias, taps, g->in_channels, out_channels, packed);
    float *residual_values = residual ? random_floats((size_t)(pixels * out_channels)) : NULL;
    float *alpha = prelu ? random_floats((size_t)padded) : NULL;
    fk_epilogue e = {activation, residual_values, out_channels, 1, alpha};
    double *want = malloc((size_t)(pixels * out_channels) * sizeof(double));
    for (ptrdiff_t oy = 0; oy < g->out_height; oy++) {
        for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
            for (ptrdiff_t o = 0; o < out_channels; o++) {
                double sum = bias[o];
                for (ptrdiff_t ky = 0; ky < g->kernel_height; ky++) {
                    for (ptrdiff_t kx = 0; kx < g->kernel_width; kx++) {
                        ptrdiff_t iy = oy * g->stride_y - g->pad_top + ky * g->dilation_y;
                        ptrdiff_t ix = ox * g->stride_x - g->pad_left + kx * g->dilation_x;
                        for (ptrdiff_t c = 0; c < g->in_channels; c++) {
                            sum += at(input, g, iy, ix, c)
                                * weights[o * depth + (ky * g->kernel_width + kx) * g->in_channels + c];
                        }
                    }
                }
                ptrdiff_t pixel = oy * g->out_width + ox;
                want[pixel * out_channels + o] = finish(sum, &e, pixel, o);
            }
        }
    }
    float *got = malloc((size_t)(pixels * out_channels + 16) * sizeof(float));
    fk_conv(input, g, packed, out_channels, got, &e);
    char what[160];
    snprintf(
        what, sizeof what, "conv %tdx%td stride %td dilation %td, %td->%td channels, activation %d%s%s",
        g->kernel_height, g->kernel_width, g->stride_y, g->dilation_y, g->in_channels, out_channels, activation,
        residual ? ", residual" : "", prelu ? ", PReLU" : "");
    int failed = compare(what, got, want, (size_t)(pixels * out_channels));
    free(input), free(weights), free(bias), free(packed), free(residual_values), free(alpha), free(want), free(got);
    return failed;
}

static int check_depthwise(const fk_window *g, int activation, int prelu) {
    ptrdiff_t channels = g->in_channels, padded = (channels + 7) / 8 * 8;
    ptrdiff_t pixels = g->out_height * g->out_width;
    float *input = random_floats((size_t)(g->in_height * g->in_width * channels));
    float *weights = random_floats((size_t)(g->kernel_height * g->kernel_width * padded));
    float *bias = random_floats((size_t)padded), *alpha = prelu ? random_floats((size_t)padded) : NULL;
    fk_epilogue e = {activation, NULL, 0, 0, alpha};
    double *want = malloc((size_t)(pixels * channels) * sizeof(double));
    for (ptrdiff_t oy = 0; oy < g->out_height; oy++) {
        for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
            for (ptrdiff_t c = 0; c < channels; c++) {
                double sum = bias[c] + window_reduce(input, g, oy, ox, c, weights, padded);
                ptrdiff_t pixel = oy * g->out_width + ox;
                want[pixel * channels + c] = finish(sum, &e, pixel, c);
            }
        }
    }
    float *got = malloc((size_t)(pixels * channels + 16) * sizeof(float));
    fk_depthwise(input, g, weights, bias, got, &e);
    char what[160];
    snprintf(
        what, sizeof what, "depthwise %tdx%td stride %td dilation %td, %td channels, activation %d%s",
        g->kernel_height, g->kernel_width, g->stride_y, g->dilation_y, channels, activation, prelu ? ", PReLU" : "");
    int failed = compare(what, got, want, (size_t)(pixels * channels));
    free(input), free(weights), free(bias), free(alpha), free(want), free(got);
    return failed;
}

static int check_max_pool(const fk_window *g, int activation) {
    ptrdiff_t channels = g->in_channels, pixels = g->out_height * g->out_width;
    float *input = random_floats((size_t)(g->in_height * g->in_width * channels));
    double *want = malloc((size_t)(pixels * channels) * sizeof(double));
    for (ptrdiff_t oy = 0; oy < g->out_height; oy++) {
        for (ptrdiff_t ox = 0; ox < g->out_width; ox++) {
            for (ptrdiff_t c = 0; c < channels; c++) {
                double best = window_reduce(input, g, oy, ox, c, NULL, 0);
                want[(oy * g->out_width + ox) * channels + c] = activate(best, activation);
            }
        }
    }
    float *got = malloc((size_t)(pixels * channels + 16) * sizeof(float));
    fk_max_pool(input, g, got, activation);
    char what[120];
    snprintf(what, sizeof what, "max pool %tdx%td stride %td, %td channels", g->kernel_height, g->kernel_width,
        g->stride_y, channels);
    int failed = compare(what, got, want, (size_t)(pixels * channels));
    free(input), free(want), free(got);
    return failed;
}

/// The shapes of the face models' layers, and the edges of each kernel's fast paths: 1x1 (pointwise), kernels
/// whose rows fit a tap or not, strides 1 and 2, dilation, channel counts that are not a multiple of 8 or 16,
/// images narrower than a tile.
static int check_all(void) {
    int failures = 0, cases = 0;
    const ptrdiff_t conv_shapes[][6] = {
        // height, width, in channels, kernel, stride, out channels
        {16, 16, 16, 1, 1, 32}, {9, 7, 24, 1, 1, 20}, {12, 12, 3, 3, 2, 16}, {11, 13, 8, 3, 1, 24},
        {10, 10, 32, 3, 1, 8}, {8, 9, 5, 5, 1, 12}, {14, 14, 4, 7, 2, 16}, {3, 2, 16, 3, 1, 40}, {6, 6, 80, 2, 2, 36},
    };
    for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) {
        const ptrdiff_t *s = conv_shapes[i];
        for (int variant = 0; variant < 4; variant++) {
            fk_window g = window(s[0], s[1], s[2], s[3], s[4], 1, variant != 3);
            if (g.out_height <= 0 || g.out_width <= 0) continue;
            failures += check_conv(&g, s[5], variant, variant == 1, variant == 2);
            cases++;
        }
    }
    const ptrdiff_t depthwise_shapes[][5] = {
        // height, width, channels, kernel, stride
        {16, 16, 32, 3, 1}, {15, 17, 20, 3, 2}, {9, 9, 8, 5, 1}, {10, 11, 12, 5, 2}, {4, 3, 64, 3, 1}, {7, 7, 3, 7, 1},
    };
    for (size_t i = 0; i < sizeof depthwise_shapes / sizeof depthwise_shapes[0]; i++) {
        const ptrdiff_t *s = depthwise_shapes[i];
        for (int variant = 0; variant < 3; variant++) {
            fk_window g = window(s[0], s[1], s[2], s[3], s[4], variant == 2 ? 2 : 1, 1);
            failures += check_depthwise(&g, variant == 0 ? 3 : 0, variant == 1);
            cases++;
        }
    }
    const ptrdiff_t pool_shapes[][5] = {{16, 16, 24, 2, 2}, {9, 7, 10, 3, 1}, {5, 5, 48, 2, 2}};
    for (size_t i = 0; i < sizeof pool_shapes / sizeof pool_shapes[0]; i++) {
        const ptrdiff_t *s = pool_shapes[i];
        fk_window g = window(s[0], s[1], s[2], s[3], s[4], 1, 1);
        failures += check_max_pool(&g, (int)i % 2);
        cases++;
    }
    printf("  %d cases, %d failed\n", cases, failures);
    return failures;
}

int main(void) {
#if defined(__aarch64__)
    const char *names[] = {"portable (NEON, arm64)", "AVX2+FMA"};
#else
    const char *names[] = {"portable (SSE2, x86-64)", "AVX2+FMA"};
#endif
    int failures = 0, checked = 0;
    for (int isa = FK_ISA_PORTABLE; isa <= FK_ISA_AVX2_FMA; isa++) {
        if (!fk_set_isa((fk_isa_t)isa)) {
            printf("%s: not on this CPU, not checked\n", names[isa]);
            continue;
        }
        printf("%s:\n", names[isa]);
        rng_state = 0x9E3779B97F4A7C15ull;
        failures += check_all();
        checked++;
    }
    return failures == 0 && checked > 0 ? 0 : 1;
}
