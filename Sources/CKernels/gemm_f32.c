// fp32 GEMM with AVX-512F for the products whose right operand is a layer's weights.
//
// Right operand: packed once into column panels of 48 (the last one 16, 32 or 48 wide,
// zero-padded), row k of a panel holding its 48 values contiguously. Left operand: read in
// place, one value of a row broadcast to all lanes, so activations are never copied (a BLAS
// packs them again on every call). Micro-kernel: 8 rows x 48 columns (24 zmm accumulators),
// bias and accumulation applied when the tile is stored.

#include "CKernels.h"
#include "simd_common.h"
#include "gemm_tile.h"

#include <immintrin.h>


#ifndef CK_F32_MC
#define CK_F32_MC 64
#endif
enum { PANEL = 48, MR = CK_F32_MR, MC = CK_F32_MC };

// Rows per tile of a 16-column panel (the last panel of n = 16, 64, 112, ...). The AVX2
// build takes 6, which keeps its 12 accumulators of the 48-column tile, so short k loops still
// have enough independent FMAs in flight (3 rows of 32 columns spilled there: slower); the
// AVX-512 build keeps 8 rows for every panel.
#ifndef CK_F32_MR_16
#define CK_F32_MR_16 CK_F32_MR
#endif

#ifndef CK_AVX2_WIDE

size_t ck_f32_packed_count(int k, int n) {
    int full = n / PANEL, rest = n - full * PANEL;
    int last = (rest + 15) / 16 * 16;
    return (size_t)k * (size_t)(full * PANEL + last);
}

void ck_f32_pack_b(const float *b, int k, int n, int transposed, float *packed) {
    float *out = packed;
    for (int j0 = 0; j0 < n; j0 += PANEL) {
        int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
        for (int kk = 0; kk < k; kk++) {
            for (int j = 0; j < w; j++) {
                int col = j0 + j;
                *out++ = col < n ? (transposed ? b[(size_t)col * k + kk] : b[(size_t)kk * n + col]) : 0.0f;
            }
        }
    }
}

#endif

#define MICRO_KERNEL(NV, ROWS)                                                                              \
    CK_AVX512 static void micro_##NV(int k, const float *a, int lda, int rows, const float *panel, float *c, \
                                     int ldc, int cols, const float *bias, int accumulate) {                 \
        enum { MR = ROWS };                                                                                 \
        __m512 acc[MR][NV];                                                                                 \
        for (int r = 0; r < MR; r++)                                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        const float *ar[MR];                                                                                \
        for (int r = 0; r < MR; r++) ar[r] = a + (size_t)(r < rows ? r : rows - 1) * lda;                   \
        for (int kk = 0; kk < k; kk++) CK_TILE_STEP(NV, ar, kk, panel + (size_t)kk * 16 * NV)             \
        CK_STORE_TILE(NV)                                                                                   \
    }

MICRO_KERNEL(1, CK_F32_MR_16)
MICRO_KERNEL(2, CK_F32_MR)
MICRO_KERNEL(3, CK_F32_MR)

CK_AVX512 void ck_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                           const float *bias, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        ck_gemm_empty(m, n, c, ldc, bias, accumulate);
        return;
    }
    for (int i0 = 0; i0 < m; i0 += MC) {
        int mc = m - i0 < MC ? m - i0 : MC;
        const float *panel = packed;
        for (int j0 = 0; j0 < n; j0 += PANEL) {
            int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
            int cols = n - j0 < w ? n - j0 : w;
            const float *bj = bias ? bias + j0 : NULL;
            const int mr = w == 16 ? CK_F32_MR_16 : MR;
            for (int ir = 0; ir < mc; ir += mr) {
                int rows = mc - ir < mr ? mc - ir : mr;
                const float *ai = a + (size_t)(i0 + ir) * lda;
                float *ci = c + (size_t)(i0 + ir) * ldc + j0;
                switch (w / 16) {
                case 3: micro_3(k, ai, lda, rows, panel, ci, ldc, cols, bj, accumulate); break;
                case 2: micro_2(k, ai, lda, rows, panel, ci, ldc, cols, bj, accumulate); break;
                default: micro_1(k, ai, lda, rows, panel, ci, ldc, cols, bj, accumulate); break;
                }
            }
            panel += (size_t)k * w;
        }
    }
}
