// Shared by the fp32 and bf16 GEMMs: the store of an MR x (16 * NV) accumulator tile.
#ifndef SPKDEBLUR_GEMM_TILE_H
#define SPKDEBLUR_GEMM_TILE_H

#include <immintrin.h>
#include <stddef.h>

static inline __mmask16 ck_column_mask(int valid) {
    return valid >= 16 ? (__mmask16)0xFFFF : valid <= 0 ? 0 : (__mmask16)((1u << valid) - 1);
}

// c[r][16v + j] = acc[r][v][j] + bias[16v + j] (+ c[r][16v + j] when accumulate), for the
// first `rows` rows and `cols` columns. Whole vectors are stored unmasked: masked stores are
// slow on AMD cores.
#define CK_STORE_TILE(NV)                                                                                   \
    for (int v = 0; v < NV; v++) {                                                                          \
        __mmask16 m = ck_column_mask(cols - 16 * v);                                                        \
        if (!m) continue;                                                                                   \
        __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + 16 * v) : _mm512_setzero_ps();                   \
        for (int r = 0; r < MR && r < rows; r++) {                                                          \
            float *dst = c + (size_t)r * ldc + 16 * v;                                                      \
            __m512 y = _mm512_add_ps(acc[r][v], bv);                                                        \
            if (m == 0xFFFF) {                                                                              \
                if (accumulate) y = _mm512_add_ps(y, _mm512_loadu_ps(dst));                                 \
                _mm512_storeu_ps(dst, y);                                                                   \
            } else {                                                                                        \
                if (accumulate) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, dst));                        \
                _mm512_mask_storeu_ps(dst, m, y);                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

// One step kk of an MR x (16 * NV) fp32 tile: acc[r][v] += AR[r][kk] * B[16v ..< 16v + 16]
// (B: the step's row of the packed panel). With 32 zmm registers (AVX-512) the NV vectors of
// B are loaded first and the rows broadcast one by one; with 16 (the AVX2 build, a vector
// being two registers) the MR rows are broadcast first and B loaded one vector at a time, so
// the tile, the rows and one vector fit without spills.
#ifdef CK_AVX2_WIDE
#define CK_TILE_STEP(NV, AR, KK, B)                                                                         \
    {                                                                                                       \
        __m512 x[MR];                                                                                       \
        for (int r = 0; r < MR; r++) x[r] = _mm512_set1_ps((AR)[r][KK]);                                    \
        for (int v = 0; v < NV; v++) {                                                                      \
            __m512 b = _mm512_loadu_ps((B) + 16 * v);                                                       \
            for (int r = 0; r < MR; r++) acc[r][v] = _mm512_fmadd_ps(x[r], b, acc[r][v]);                   \
        }                                                                                                   \
    }
#else
#define CK_TILE_STEP(NV, AR, KK, B)                                                                         \
    {                                                                                                       \
        __m512 b[NV];                                                                                       \
        for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps((B) + 16 * v);                                  \
        for (int r = 0; r < MR; r++) {                                                                      \
            __m512 x = _mm512_set1_ps((AR)[r][KK]);                                                         \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, b[v], acc[r][v]);                   \
        }                                                                                                   \
    }
#endif

// The inner size of a bf16 packed panel: k rounded up to whole AMX tiles of 32 values.
static inline int ck_pad32(int k) { return (k + 31) & ~31; }

// An empty sum (k == 0): C = bias (+ C).
static inline void ck_gemm_empty(int m, int n, float *c, int ldc, const float *bias, int accumulate) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[(size_t)i * ldc + j] = (accumulate ? c[(size_t)i * ldc + j] : 0) + (bias ? bias[j] : 0);
}

#endif
