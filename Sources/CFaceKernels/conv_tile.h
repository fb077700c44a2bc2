// One tile of fk_conv: TILE_MR pixels by TILE_NV vectors of output channels from `c0`, named TILE_NAME.
// kernel_body.h includes this file once per tile shape. `a` holds, per tap, the TILE_MR input pixels
// (`in_channels` floats each); `panel` is the bias, then the weights [tap][k][TILE_NV * FK_W].

static inline __attribute__((always_inline)) void TILE_NAME(
    ptrdiff_t taps, const float *const *a, ptrdiff_t in_channels, const float *panel, float *const *out,
    const ptrdiff_t *pixel, ptrdiff_t c0, const fk_epilogue *e) {
    VEC acc[TILE_MR][TILE_NV];
    for (int j = 0; j < TILE_NV; j++) {
        VEC b = FK_NAME(load)(panel + j * FK_W);
        for (int i = 0; i < TILE_MR; i++) acc[i][j] = b;
    }
    const float *w = panel + TILE_NV * FK_W;
    for (ptrdiff_t t = 0; t < taps; t++) {
        const float *const *at = a + t * TILE_MR;
        for (ptrdiff_t k = 0; k < in_channels; k++) {
            VEC wv[TILE_NV];
            for (int j = 0; j < TILE_NV; j++) wv[j] = FK_NAME(load)(w + j * FK_W);
            for (int i = 0; i < TILE_MR; i++) {
                VEC x = FK_NAME(splat)(at[i][k]);
                for (int j = 0; j < TILE_NV; j++) acc[i][j] += x * wv[j];
            }
            w += TILE_NV * FK_W;
        }
    }
    // Unrolled so that every accumulator has a constant index and none is kept in memory.
#pragma clang loop unroll(full)
    for (int i = 0; i < TILE_MR; i++) {
#pragma clang loop unroll(full)
        for (int j = 0; j < TILE_NV; j++) {
            FK_NAME(store)(out[i] + j * FK_W, FK_NAME(finish)(acc[i][j], e, pixel[i], c0 + j * FK_W));
        }
    }
}

#undef TILE_MR
#undef TILE_NV
#undef TILE_NAME
