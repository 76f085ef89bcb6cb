// Direct convolution kernels with AVX-512F for the convolutions whose im2col GEMM is mostly
// copying: depthwise (one filter per channel), and dense convolutions as a GEMM that reads
// its left operand straight from the image (implicit im2col).

#include "CKernels.h"

#include "gemm_tile.h"
#include "simd_common.h"

#include <stdlib.h>
#include <string.h>

static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// Output rows `row_first ..< row_first + row_count`. Per output pixel, channels go 16 at a
// time: the accumulator starts at the bias and takes one FMA per tap inside the image, taps
// in row-major order (the order of the reference sum). Tail vectors of a pixel are stored
// whole when the spill stays inside the output row, whose later pixels overwrite it (masked
// stores are slow on AMD).
CK_AVX512 void ck_depthwise_conv_f32(const float *x, float *out, int height, int width, int c, int kernel,
                                     int stride, int padding, const float *weight, const float *bias,
                                     int out_width, int row_first, int row_count) {
    const int vectors = (c + 15) / 16;
    for (int oy = row_first; oy < row_first + row_count; oy++) {
        int ky0 = padding - oy * stride;
        if (ky0 < 0) ky0 = 0;
        int ky1 = height + padding - oy * stride;
        if (ky1 > kernel) ky1 = kernel;
        for (int ox = 0; ox < out_width; ox++) {
            int kx0 = padding - ox * stride;
            if (kx0 < 0) kx0 = 0;
            int kx1 = width + padding - ox * stride;
            if (kx1 > kernel) kx1 = kernel;
            float *dst = out + ((size_t)oy * out_width + ox) * c;
            const int row_left = (out_width - ox) * c;  // floats from dst to the end of the row
            for (int v = 0; v < vectors; v++) {
                const int ch = 16 * v;
                const __mmask16 m = tail_mask(c - ch);
                __m512 acc = bias ? _mm512_maskz_loadu_ps(m, bias + ch) : _mm512_setzero_ps();
                for (int ky = ky0; ky < ky1; ky++) {
                    const int iy = oy * stride - padding + ky;
                    const float *row = x + (size_t)iy * width * c + ch;
                    const float *wrow = weight + (size_t)ky * kernel * c + ch;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const int ix = ox * stride - padding + kx;
                        __m512 xv, wv;
                        if (m == 0xFFFF) {
                            xv = _mm512_loadu_ps(row + (size_t)ix * c);
                            wv = _mm512_loadu_ps(wrow + (size_t)kx * c);
                        } else {
                            xv = _mm512_maskz_loadu_ps(m, row + (size_t)ix * c);
                            wv = _mm512_maskz_loadu_ps(m, wrow + (size_t)kx * c);
                        }
                        acc = _mm512_fmadd_ps(xv, wv, acc);
                    }
                }
                if (m == 0xFFFF || ch + 16 <= row_left)
                    _mm512_storeu_ps(dst + ch, acc);
                else
                    _mm512_mask_storeu_ps(dst + ch, m, acc);
            }
        }
    }
}

// Dense convolution, channels-last, right operand packed by ck_f32_pack_b from the
// `[kernel, kernel, cin, cout]` weight (the im2col GEMM's), in the fp32 GEMM's panels of 48.
//
// For an output pixel, the taps of kernel row ky are `kernel` neighbouring input pixels, so
// its `kernel * cin` patch values are one contiguous run of the input row: a tile of MR
// output pixels is a GEMM over `kernel` runs (segments) whose rows are read in place. Tiles
// touching the left or right border split the runs per tap, out-of-image taps reading a
// zero row; kernel rows outside the image are skipped. Segments accumulate in registers and
// the tile is stored once, with the bias and the optional accumulation.
enum { CONV_PANEL = 48, MR = CK_F32_MR, MAX_SEGMENTS = 64 };

#define CONV_MICRO(NV)                                                                                      \
    CK_AVX512 static void conv_micro_##NV(int segments, const float *const *a, int len, const int *boff,   \
                                          const float *panel, float *c, int ldc, int rows, int cols,         \
                                          const float *bias, int accumulate) {                               \
        __m512 acc[MR][NV];                                                                                 \
        for (int r = 0; r < MR; r++)                                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        for (int s = 0; s < segments; s++) {                                                                \
            const float *const *ar = a + s * MR;                                                            \
            const float *bp = panel + (size_t)boff[s] * 16 * NV;                                            \
            for (int kk = 0; kk < len; kk++) CK_TILE_STEP(NV, ar, kk, bp + (size_t)kk * 16 * NV)          \
        }                                                                                                   \
        CK_STORE_TILE(NV)                                                                                   \
    }

CONV_MICRO(1)
CONV_MICRO(2)
CONV_MICRO(3)

#define CONV_DRIVER ck_conv_f32_into
#define CONV_ATTR CK_AVX512
#define CONV_ELEM float
#define CONV_OPERAND float
#define CONV_UNIT 1
#define CONV_PANEL_WIDTH CONV_PANEL
#define CONV_PANEL_ROWS(patch) (patch)
#define CONV_SEGMENTS MAX_SEGMENTS
#include "conv_driver.h"

int ck_conv_f32(const float *x, int height, int width, int cin, int kernel, int stride, int padding, const float *packed,
                int cout, float *out, int out_width, const float *bias, int accumulate, int row_first, int row_count) {
    return ck_conv_f32_into(x, height, width, cin, kernel, stride, padding, packed, cout, out, out_width, bias, accumulate,
                        row_first, row_count, 0);
}
