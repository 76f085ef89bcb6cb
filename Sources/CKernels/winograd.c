// 3x3 convolutions with stride 1 and padding 1 by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 block
// of output pixels (a tile) is computed from the 4x4 input pixels around it as
//
//     Y = A^T [ (G g G^T) . (B^T d B) ] A     (. elementwise, per input/output channel pair)
//
// so the sum over input channels becomes 16 independent GEMMs, one per position xi of the
// 4x4 transformed tile: M_xi[tile, cout] = V_xi[tile, cin] U_xi[cin, cout]. That is 16
// multiply-adds per channel pair per 4 output pixels instead of 36 (2.25x fewer); the
// transforms B^T d B and A^T M A are additions only, and U = G g G^T (factors 1 and 1/2) is
// computed once per layer in double. With
//
//     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],   A^T = [1 1 1 0; 0 1 -1 -1].
//
// A worker takes its tile rows in blocks of WG_TILES tiles along the row: it transforms the
// block's inputs into V (16 x tiles x cin, channels padded to whole vectors), runs the 16
// GEMMs of the fp32 GEMM kernel into M, and transforms M into the output pixels, with the
// bias and the optional accumulation, while V and M stay in L2.

#include "CKernels.h"

#include "gemm_tile.h"
#include "simd_common.h"

#include <stdlib.h>

enum { WG_TILES = 32 };

static inline int wg_round16(int n) { return (n + 15) / 16 * 16; }

// The 16 input vectors of one tile and channel vector: pixel (ty * 2 - 1 + r, tx * 2 - 1 + c),
// zero outside the image.
CK_AVX512 static inline void wg_load_tile(const float *x, int height, int width, int cin, int y0, int x0, int ch,
                                          __mmask16 m, __m512 d[16]) {
    for (int r = 0; r < 4; r++) {
        const int iy = y0 + r;
        for (int c = 0; c < 4; c++) {
            const int ix = x0 + c;
            if (iy < 0 || iy >= height || ix < 0 || ix >= width) {
                d[r * 4 + c] = _mm512_setzero_ps();
            } else {
                const float *p = x + ((size_t)iy * width + ix) * cin + ch;
                d[r * 4 + c] = m == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
            }
        }
    }
}

// V = B^T d B for one tile, into v[xi * stride].
CK_AVX512 static inline void wg_input_transform(const __m512 d[16], float *v, size_t stride) {
    __m512 t[16];
    for (int c = 0; c < 4; c++) {  // B^T d: rows
        t[0 * 4 + c] = _mm512_sub_ps(d[0 * 4 + c], d[2 * 4 + c]);
        t[1 * 4 + c] = _mm512_add_ps(d[1 * 4 + c], d[2 * 4 + c]);
        t[2 * 4 + c] = _mm512_sub_ps(d[2 * 4 + c], d[1 * 4 + c]);
        t[3 * 4 + c] = _mm512_sub_ps(d[1 * 4 + c], d[3 * 4 + c]);
    }
    for (int r = 0; r < 4; r++) {  // (B^T d) B: columns
        const __m512 *row = t + r * 4;
        _mm512_storeu_ps(v + (size_t)(r * 4 + 0) * stride, _mm512_sub_ps(row[0], row[2]));
        _mm512_storeu_ps(v + (size_t)(r * 4 + 1) * stride, _mm512_add_ps(row[1], row[2]));
        _mm512_storeu_ps(v + (size_t)(r * 4 + 2) * stride, _mm512_sub_ps(row[2], row[1]));
        _mm512_storeu_ps(v + (size_t)(r * 4 + 3) * stride, _mm512_sub_ps(row[1], row[3]));
    }
}

CK_AVX512 int ck_winograd_f32(const float *x, int height, int width, int cin, const float *packed, int cout,
                              float *out, const float *bias, int accumulate, int tile_row_first, int tile_row_count) {
    if (cin < 1 || cout < 1 || height < 1 || width < 1) return 0;
    const int cinp = wg_round16(cin), coutp = wg_round16(cout);
    const int tiles_x = (width + 1) / 2;
    const size_t panel = ck_f32_packed_count(cin, cout);  // one position's packed U
    // Zeroed: the channels past cin and cout, which the GEMM neither reads nor writes, stay 0.
    float *v = (float *)calloc((size_t)16 * WG_TILES * (size_t)(cinp + coutp), sizeof(float));
    if (!v) return 0;
    float *mm = v + (size_t)16 * WG_TILES * cinp;
    const size_t vstride = (size_t)WG_TILES * cinp, mstride = (size_t)WG_TILES * coutp;
    for (int ty = tile_row_first; ty < tile_row_first + tile_row_count; ty++) {
        for (int tx0 = 0; tx0 < tiles_x; tx0 += WG_TILES) {
            const int nb = tiles_x - tx0 < WG_TILES ? tiles_x - tx0 : WG_TILES;
            for (int t = 0; t < nb; t++) {
                for (int ch = 0; ch < cin; ch += 16) {
                    __m512 d[16];
                    wg_load_tile(x, height, width, cin, 2 * ty - 1, 2 * (tx0 + t) - 1, ch, ck_column_mask(cin - ch), d);
                    wg_input_transform(d, v + (size_t)t * cinp + ch, vstride);
                }
            }
            for (int xi = 0; xi < 16; xi++)
                ck_gemm_f32(nb, cout, cin, v + xi * vstride, cinp, packed + xi * panel, mm + xi * mstride, coutp,
                            NULL, 0);
            for (int t = 0; t < nb; t++) {
                const int oy = 2 * ty, ox = 2 * (tx0 + t);
                const int rows = height - oy < 2 ? 1 : 2, cols = width - ox < 2 ? 1 : 2;
                for (int ch = 0; ch < cout; ch += 16) {
                    const __mmask16 m = ck_column_mask(cout - ch);
                    const float *src = mm + (size_t)t * coutp + ch;
                    __m512 s[8];  // A^T M: two rows of four
                    for (int c = 0; c < 4; c++) {
                        __m512 m0 = _mm512_loadu_ps(src + (0 * 4 + c) * mstride);
                        __m512 m1 = _mm512_loadu_ps(src + (1 * 4 + c) * mstride);
                        __m512 m2 = _mm512_loadu_ps(src + (2 * 4 + c) * mstride);
                        __m512 m3 = _mm512_loadu_ps(src + (3 * 4 + c) * mstride);
                        s[c] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                        s[4 + c] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                    }
                    const __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + ch) : _mm512_setzero_ps();
                    for (int r = 0; r < rows; r++) {
                        const __m512 *row = s + 4 * r;
                        __m512 y[2];
                        y[0] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(row[0], row[1]), row[2]), bv);
                        y[1] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(row[1], row[2]), row[3]), bv);
                        for (int c = 0; c < cols; c++) {
                            float *dst = out + ((size_t)(oy + r) * width + ox + c) * cout + ch;
                            if (m == 0xFFFF) {
                                __m512 o = accumulate ? _mm512_add_ps(y[c], _mm512_loadu_ps(dst)) : y[c];
                                _mm512_storeu_ps(dst, o);
                            } else {
                                __m512 o = accumulate ? _mm512_add_ps(y[c], _mm512_maskz_loadu_ps(m, dst)) : y[c];
                                _mm512_mask_storeu_ps(dst, m, o);
                            }
                        }
                    }
                }
            }
        }
    }
    free(v);
    return 1;
}
