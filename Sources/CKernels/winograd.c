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

#include "simd_common.h"

#include <stdlib.h>

enum { WG_TILES = 32 };

static inline int wg_round16(int n) { return (n + 15) / 16 * 16; }

// V = B^T d B for one tile, channel by channel: d[r * 4 + c] points at input pixel
// (2 ty - 1 + r, 2 tx - 1 + c), or at zeros outside the image; V[xi] goes to v + xi * stride.
// Plain loops over the channels, which the compiler vectorizes at the build's width (so 24
// channels take three 8-lane steps in the AVX2 build, not two 16-lane ones).
CK_AVX512 static void wg_input_transform(const float *const d[16], int cin, float *restrict v, size_t stride) {
    for (int ch = 0; ch < cin; ch++) {
        float t[16];
        for (int c = 0; c < 4; c++) {  // B^T d: rows
            const float d0 = d[0 + c][ch], d1 = d[4 + c][ch], d2 = d[8 + c][ch], d3 = d[12 + c][ch];
            t[0 + c] = d0 - d2;
            t[4 + c] = d1 + d2;
            t[8 + c] = d2 - d1;
            t[12 + c] = d1 - d3;
        }
        for (int r = 0; r < 4; r++) {  // (B^T d) B: columns
            const float *row = t + 4 * r;
            v[(size_t)(4 * r + 0) * stride + ch] = row[0] - row[2];
            v[(size_t)(4 * r + 1) * stride + ch] = row[1] + row[2];
            v[(size_t)(4 * r + 2) * stride + ch] = row[2] - row[1];
            v[(size_t)(4 * r + 3) * stride + ch] = row[1] - row[3];
        }
    }
}

// Y = A^T M A (+ bias) (+ Y when accumulate) for one tile: M[xi] at m + xi * stride, output
// pixel (2 ty + r, 2 tx + c) at y[r * 2 + c] (for pixels outside the image, a scratch row of
// its own, whose values are never used).
CK_AVX512 static void wg_output_transform(const float *restrict m, size_t stride, int cout, const float *bias,
                                          int accumulate, float *const y[4]) {
    for (int ch = 0; ch < cout; ch++) {
        float s[8];  // A^T M: two rows of four
        for (int c = 0; c < 4; c++) {
            const float m0 = m[(size_t)(0 + c) * stride + ch], m1 = m[(size_t)(4 + c) * stride + ch];
            const float m2 = m[(size_t)(8 + c) * stride + ch], m3 = m[(size_t)(12 + c) * stride + ch];
            s[c] = m0 + m1 + m2;
            s[4 + c] = m1 - m2 - m3;
        }
        const float b = bias ? bias[ch] : 0.0f;
        for (int r = 0; r < 2; r++) {
            const float *row = s + 4 * r;
            const float y0 = row[0] + row[1] + row[2] + b, y1 = row[1] - row[2] - row[3] + b;
            y[2 * r][ch] = accumulate ? y[2 * r][ch] + y0 : y0;
            y[2 * r + 1][ch] = accumulate ? y[2 * r + 1][ch] + y1 : y1;
        }
    }
}

CK_AVX512 int ck_winograd_f32(const float *x, int height, int width, int cin, const float *packed, int cout,
                              float *out, const float *bias, int accumulate, int tile_row_first, int tile_row_count) {
    if (cin < 1 || cout < 1 || height < 1 || width < 1) return 0;
    const int cinp = wg_round16(cin), coutp = wg_round16(cout);
    const int tiles_x = (width + 1) / 2;
    const size_t panel = ck_f32_packed_count(cin, cout);  // one position's packed U
    // V and M of a block, then a row of zeros (input outside the image) and a scratch row
    // (output outside it, one per pixel of a tile). Zeroed: the channels past cin and cout, which the GEMM neither
    // reads nor writes, stay 0.
    const size_t vsize = (size_t)16 * WG_TILES * cinp, msize = (size_t)16 * WG_TILES * coutp;
    float *v = (float *)calloc(vsize + msize + (size_t)cin + 4 * (size_t)cout, sizeof(float));
    if (!v) return 0;
    float *mm = v + vsize, *zeros = mm + msize, *scratch = zeros + cin;
    const size_t vstride = (size_t)WG_TILES * cinp, mstride = (size_t)WG_TILES * coutp;
    for (int ty = tile_row_first; ty < tile_row_first + tile_row_count; ty++) {
        for (int tx0 = 0; tx0 < tiles_x; tx0 += WG_TILES) {
            const int nb = tiles_x - tx0 < WG_TILES ? tiles_x - tx0 : WG_TILES;
            for (int t = 0; t < nb; t++) {
                const float *d[16];
                for (int r = 0; r < 4; r++) {
                    const int iy = 2 * ty - 1 + r;
                    for (int c = 0; c < 4; c++) {
                        const int ix = 2 * (tx0 + t) - 1 + c;
                        d[4 * r + c] = iy < 0 || iy >= height || ix < 0 || ix >= width
                                           ? zeros
                                           : x + ((size_t)iy * width + ix) * cin;
                    }
                }
                wg_input_transform(d, cin, v + (size_t)t * cinp, vstride);
            }
            for (int xi = 0; xi < 16; xi++)
                ck_gemm_f32(nb, cout, cin, v + xi * vstride, cinp, packed + xi * panel, mm + xi * mstride, coutp,
                            NULL, 0);
            for (int t = 0; t < nb; t++) {
                float *y[4];
                for (int r = 0; r < 2; r++) {
                    const int oy = 2 * ty + r;
                    for (int c = 0; c < 2; c++) {
                        const int ox = 2 * (tx0 + t) + c;
                        y[2 * r + c] = oy < height && ox < width ? out + ((size_t)oy * width + ox) * cout
                                                                 : scratch + (size_t)(2 * r + c) * cout;
                    }
                }
                wg_output_transform(mm + (size_t)t * coutp, mstride, cout, bias, accumulate, y);
            }
        }
    }
    free(v);
    return 1;
}
