// Direct convolution kernels with AVX-512F for the convolutions whose im2col GEMM is mostly
// copying: depthwise (one filter per channel).

#include "CKernels.h"

#include "simd_common.h"

static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// Output rows `row_first ..< row_first + row_count`. Per output pixel, channels go 16 at a
// time: the accumulator starts at the bias and takes one FMA per tap inside the image, taps
// in row-major order (the order of the reference sum). Tail vectors of a pixel are stored
// whole when the next pixel of the row overwrites the spill (masked stores are slow on AMD).
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
            const int last_pixel = ox == out_width - 1;
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
                if (m == 0xFFFF || !last_pixel)
                    _mm512_storeu_ps(dst + ch, acc);
                else
                    _mm512_mask_storeu_ps(dst + ch, m, acc);
            }
        }
    }
}
