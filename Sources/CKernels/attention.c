// Swin window attention for 64-token (8x8) windows and head sizes up to 32, in fp32 with
// AVX-512F. Per window and head: keys transposed through 16x16 in-register transposes,
// scores four query rows at a time in 16 zmm accumulators, softmax with a scalef-based exp,
// then P V eight rows at a time (the AVX2 build: fewer rows, CK_ATTENTION_QUERIES and
// CK_ATTENTION_PV_ROWS). Queries and values are read straight from the qkv rows.

#include "CKernels.h"

#include "simd_common.h"

#include <stdlib.h>
#include <string.h>

#ifndef CK_AVX2_WIDE
int ck_has_avx512f(void) { return ck_cpu_avx512_base(0); }

// AVX2 (leaf 7 EBX bit 5) and FMA (leaf 1 ECX bit 12), with XMM and YMM state enabled.
int ck_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27)) || !(c & (1u << 12))) return 0;  // OSXSAVE, FMA
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}
#endif

static inline __mmask16 lanes(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// One step E of a score tile: acc[r][v] += ROWS[r][E] * T[E * 64 + 16v ..< 16v + 16] for the
// R rows (queries of the larger heads, keys of the small ones) and the four vectors of the 64
// tokens of T (transposed keys, or queries). AVX-512: the four vectors loaded first, then the
// rows broadcast one by one; the AVX2 build (a vector in two registers) broadcasts its rows
// first and loads one vector at a time, so the tile fits its 16 registers. The same products
// and sums either way.
#ifdef CK_AVX2_WIDE
#define SCORE_STEP(R, ROWS, T, E)                                                                           \
    {                                                                                                       \
        __m512 x[R];                                                                                        \
        for (int r = 0; r < R; r++) x[r] = _mm512_set1_ps((ROWS)[r][E]);                                    \
        for (int v = 0; v < 4; v++) {                                                                       \
            __m512 t = _mm512_loadu_ps((T) + (E) * 64 + 16 * v);                                            \
            for (int r = 0; r < R; r++) acc[r][v] = _mm512_fmadd_ps(x[r], t, acc[r][v]);                    \
        }                                                                                                   \
    }
#else
#define SCORE_STEP(R, ROWS, T, E)                                                                           \
    {                                                                                                       \
        __m512 t[4];                                                                                        \
        for (int v = 0; v < 4; v++) t[v] = _mm512_loadu_ps((T) + (E) * 64 + 16 * v);                       \
        for (int r = 0; r < R; r++) {                                                                       \
            __m512 x = _mm512_set1_ps((ROWS)[r][E]);                                                        \
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_fmadd_ps(x, t[v], acc[r][v]);                    \
        }                                                                                                   \
    }
#endif

// One window, one head. DV = head vectors (1: d <= 16, 2: d <= 32).
#define ATTEND_HEAD(DV)                                                                                     \
    CK_AVX512 static void attend_head_##DV(const float *qkv, float *out, int c, int d, int head,           \
                                           const int *tok, const float *bm, float scale, float *kT,         \
                                           float *P, float *inv) {                                          \
        const int row3 = 3 * c;                                                                             \
        __mmask16 m[2] = {lanes(d), lanes(d - 16)};                                                         \
        /* K^T: kT[e * 64 + t] for e < 16 * DV (zero beyond d). */                                          \
        for (int tb = 0; tb < 4; tb++) {                                                                    \
            for (int eb = 0; eb < DV; eb++) {                                                               \
                __m512 r[16];                                                                               \
                for (int t = 0; t < 16; t++)                                                                \
                    r[t] = _mm512_maskz_loadu_ps(                                                           \
                        m[eb], qkv + (size_t)tok[tb * 16 + t] * row3 + c + head * d + 16 * eb);             \
                transpose16(r);                                                                             \
                for (int e = 0; e < 16; e++) _mm512_storeu_ps(kT + (16 * eb + e) * 64 + 16 * tb, r[e]);     \
            }                                                                                               \
        }                                                                                                   \
        /* Scores and softmax numerators, QR (four) query rows at a time. */                               \
        const __m512 vscale = _mm512_set1_ps(scale);                                                        \
        enum { QR = CK_ATTENTION_QUERIES };                                                                 \
        for (int i0 = 0; i0 < 64; i0 += QR) {                                                               \
            __m512 acc[QR][4];                                                                              \
            const float *q[QR];                                                                             \
            for (int r = 0; r < QR; r++) {                                                                  \
                q[r] = qkv + (size_t)tok[i0 + r] * row3 + head * d;                                         \
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();                                \
            }                                                                                               \
            for (int e = 0; e < d; e++) SCORE_STEP(QR, q, kT, e)                                            \
            for (int r = 0; r < QR; r++) {                                                                  \
                const float *b = bm + (i0 + r) * 64;                                                        \
                __m512 s[4];                                                                                \
                for (int v = 0; v < 4; v++) s[v] = _mm512_fmadd_ps(acc[r][v], vscale, _mm512_loadu_ps(b + 16 * v)); \
                float top = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(s[0], s[1]), _mm512_max_ps(s[2], s[3]))); \
                __m512 vt = _mm512_set1_ps(top), sum = _mm512_setzero_ps();                                 \
                for (int v = 0; v < 4; v++) {                                                               \
                    __m512 e = ck_exp_ps(_mm512_sub_ps(s[v], vt));                                             \
                    sum = _mm512_add_ps(sum, e);                                                            \
                    _mm512_storeu_ps(P + (i0 + r) * 64 + 16 * v, e);                                        \
                }                                                                                           \
                inv[i0 + r] = 1.0f / _mm512_reduce_add_ps(sum);                                             \
            }                                                                                               \
        }                                                                                                   \
        /* Output rows: P V, PR (eight) rows at a time, scaled by 1 / row sum. */                          \
        enum { PR = CK_ATTENTION_PV_ROWS };                                                                 \
        for (int i0 = 0; i0 < 64; i0 += PR) {                                                               \
            __m512 o[PR][DV];                                                                               \
            for (int r = 0; r < PR; r++)                                                                    \
                for (int v = 0; v < DV; v++) o[r][v] = _mm512_setzero_ps();                                 \
            for (int j = 0; j < 64; j++) {                                                                  \
                const float *vr = qkv + (size_t)tok[j] * row3 + 2 * c + head * d;                           \
                __m512 vv[DV];                                                                              \
                for (int v = 0; v < DV; v++) vv[v] = _mm512_maskz_loadu_ps(m[v], vr + 16 * v);              \
                for (int r = 0; r < PR; r++) {                                                              \
                    __m512 p = _mm512_set1_ps(P[(i0 + r) * 64 + j]);                                        \
                    for (int v = 0; v < DV; v++) o[r][v] = _mm512_fmadd_ps(p, vv[v], o[r][v]);              \
                }                                                                                           \
            }                                                                                               \
            for (int r = 0; r < PR; r++) {                                                                  \
                float *dst = out + (size_t)tok[i0 + r] * c + head * d;                                      \
                __m512 s = _mm512_set1_ps(inv[i0 + r]);                                                     \
                for (int v = 0; v < DV; v++) {                                                              \
                    /* Masked stores are slow on AMD cores: a whole vector may spill into later     */     \
                    /* heads' columns of the same row, which this thread writes afterwards.           */     \
                    if (m[v] == 0xFFFF || head * d + 16 * v + 16 <= c)                                      \
                        _mm512_storeu_ps(dst + 16 * v, _mm512_mul_ps(o[r][v], s));                          \
                    else                                                                                    \
                        _mm512_mask_storeu_ps(dst + 16 * v, m[v], _mm512_mul_ps(o[r][v], s));               \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

ATTEND_HEAD(1)
ATTEND_HEAD(2)

// O^T = P V of the small-head kernel, 16 queries (one vector) at a time. AVX-512: the
// exponentials computed once, in the loop over the keys that sums E rows e at once (E + 2
// of the 32 registers). The AVX2 build (16 registers, two per vector) writes the
// exponentials over the scores first, then sums four rows e at a time, and only the rows e < d
// (rounded up to 4): the same products and sums in the same order.
#ifdef CK_AVX2_WIDE
CK_AVX512 static inline void small_head_pv(const float *rows, int row3, int column, int d, float *ST,
                                           const __m512 mx[4], float *oT) {
    for (int v = 0; v < 4; v++) {
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < 64; j++) {
            __m512 p = ck_exp_ps(_mm512_sub_ps(_mm512_loadu_ps(ST + j * 64 + 16 * v), mx[v]));
            sum = _mm512_add_ps(sum, p);
            _mm512_storeu_ps(ST + j * 64 + 16 * v, p);
        }
        __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
        for (int e0 = 0; e0 < d; e0 += 4) {
            __m512 o[4];
            for (int e = 0; e < 4; e++) o[e] = _mm512_setzero_ps();
            for (int j = 0; j < 64; j++) {
                __m512 p = _mm512_loadu_ps(ST + j * 64 + 16 * v);
                const float *vr = rows + (size_t)j * row3 + column + e0;
                for (int e = 0; e < 4; e++) o[e] = _mm512_fmadd_ps(_mm512_set1_ps(vr[e]), p, o[e]);
            }
            for (int e = 0; e < 4; e++) _mm512_storeu_ps(oT + (e0 + e) * 64 + 16 * v, _mm512_mul_ps(o[e], inv));
        }
    }
}
#define SMALL_HEAD_PV(E) small_head_pv(rows, row3, 2 * c + head * d, d, ST, mx, oT);
#else
#define SMALL_HEAD_PV(E)                                                                                    \
        for (int v = 0; v < 4; v++) {                                                                       \
            __m512 o[E], sum = _mm512_setzero_ps();                                                         \
            for (int e = 0; e < E; e++) o[e] = _mm512_setzero_ps();                                         \
            for (int j = 0; j < 64; j++) {                                                                  \
                __m512 p = ck_exp_ps(_mm512_sub_ps(_mm512_loadu_ps(ST + j * 64 + 16 * v), mx[v]));          \
                sum = _mm512_add_ps(sum, p);                                                                \
                const float *vr = rows + (size_t)j * row3 + 2 * c + head * d;                               \
                for (int e = 0; e < E; e++) o[e] = _mm512_fmadd_ps(_mm512_set1_ps(vr[e]), p, o[e]);         \
            }                                                                                               \
            __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);                                          \
            for (int e = 0; e < E; e++) _mm512_storeu_ps(oT + e * 64 + 16 * v, _mm512_mul_ps(o[e], inv));   \
        }
#endif

// Small heads (d <= 16), transposed: queries go in the lanes, so the softmax over the keys
// of every query is a vertical reduction over 64 rows instead of 64 horizontal ones, and
// P V needs d FMAs per key and 16 queries instead of 8 rows x ceil(d / 16) vectors.
//   Q^T (scaled) by 16x16 transposes; S^T[j][i] = k_j . q_i + bias[i][j], CK_ATTENTION_KEYS
//   keys x 64 queries at a time (4 accumulators per key), with the column maxima kept on the
//   way; then, 16 queries at a time, O^T[e][i] = sum_j v_j[e] exp(S^T[j][i] - max_i) for E (8 or 16) rows e, the
//   exponentials computed once, in the same loop; O^T scaled by 1 / sum and transposed back.
// Rows e >= d of O^T multiply the next values of the qkv row (or the slack after the block)
// and are dropped.
#define ATTEND_SMALL(E)                                                                                     \
    CK_AVX512 static void attend_small_##E(const float *rows, float *out, int c, int d, int head,           \
                                           const float *bias_t, float scale, float *qT, float *ST,          \
                                           float *oT) {                                                     \
        const int row3 = 3 * c;                                                                             \
        ck_load_head_transposed(rows, row3, head * d, d, _mm512_set1_ps(scale), qT);                        \
        __m512 mx[4];                                                                                       \
        for (int v = 0; v < 4; v++) mx[v] = _mm512_set1_ps(-3.0e38f);                                       \
        for (int j0 = 0; j0 < 64; j0 += CK_ATTENTION_KEYS) {                                                \
            __m512 acc[CK_ATTENTION_KEYS][4];                                                               \
            const float *k[CK_ATTENTION_KEYS];                                                              \
            for (int r = 0; r < CK_ATTENTION_KEYS; r++) {                                                   \
                k[r] = rows + (size_t)(j0 + r) * row3 + c + head * d;                                       \
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_loadu_ps(bias_t + (j0 + r) * 64 + 16 * v);   \
            }                                                                                               \
            for (int e = 0; e < d; e++) SCORE_STEP(CK_ATTENTION_KEYS, k, qT, e)                             \
            for (int r = 0; r < CK_ATTENTION_KEYS; r++)                                                     \
                for (int v = 0; v < 4; v++) {                                                               \
                    _mm512_storeu_ps(ST + (j0 + r) * 64 + 16 * v, acc[r][v]);                               \
                    mx[v] = _mm512_max_ps(mx[v], acc[r][v]);                                                \
                }                                                                                           \
        }                                                                                                   \
        SMALL_HEAD_PV(E)                                                                                    \
        ck_store_head_transposed(oT, out, c, head * d, d);                                                      \
    }

ATTEND_SMALL(8)
ATTEND_SMALL(16)

CK_AVX512 int ck_window_attention_block_f32(const float *rows, float *out, int c, int heads, const float *bias_mask,
                                            const float *bias_mask_t, float scale) {
    int d = heads > 0 ? c / heads : 0;
    if (d < 1 || d > 32 || d * heads != c) return 0;
    float kT[32 * 64] __attribute__((aligned(64)));
    float P[64 * 64] __attribute__((aligned(64)));
    float inv[64];
    int local[64];
    for (int t = 0; t < 64; t++) local[t] = t;
    for (int head = 0; head < heads; head++) {
        if (bias_mask_t && d <= 16) {
            const float *bt = bias_mask_t + (size_t)head * 64 * 64;
            if (d <= 8)
                attend_small_8(rows, out, c, d, head, bt, scale, kT, P, kT + 16 * 64);
            else
                attend_small_16(rows, out, c, d, head, bt, scale, kT, P, kT + 16 * 64);
            continue;
        }
        const float *bm = bias_mask + (size_t)head * 64 * 64;
        if (d <= 16)
            attend_head_1(rows, out, c, d, head, local, bm, scale, kT, P, inv);
        else
            attend_head_2(rows, out, c, d, head, local, bm, scale, kT, P, inv);
    }
    return 1;
}

CK_AVX512 int ck_window_attention_f32(const float *qkv, float *out, int height, int width, int c, int heads,
                                      int shift, const float *bias_mask, float scale, int first, int count) {
    const int win = 8, n = 64;
    int d = c / heads;
    if (d < 1 || d > 32 || d * heads != c || height % win || width % win) return 0;
    int windows_x = width / win, windows_y = height / win;
    float kT[32 * 64] __attribute__((aligned(64)));
    float P[64 * 64] __attribute__((aligned(64)));
    float inv[64];
    int tok[64], local[64];
    // The window's 64 qkv rows are copied into a contiguous block first, and its output rows
    // gathered in one: the rows of a window lie 8 image rows apart in the full qkv matrix,
    // and reading them in place per head ran at half the speed of cache-resident windows.
    float *rows = (float *)aligned_alloc(64, sizeof(float) * (size_t)n * 3 * c);
    float *orows = (float *)aligned_alloc(64, sizeof(float) * ((size_t)n * c + 16));
    if (!rows || !orows) {
        free(rows);
        free(orows);
        return 0;
    }
    for (int t = 0; t < n; t++) local[t] = t;
    for (int wi = first; wi < first + count; wi++) {
        int wy = wi / windows_x, wx = wi % windows_x;
        int kind = shift > 0 ? (wy == windows_y - 1 ? 1 : 0) + (wx == windows_x - 1 ? 2 : 0) : 0;
        for (int t = 0; t < n; t++) {
            int sy = wy * win + t / win, sx = wx * win + t % win;
            tok[t] = ((sy + shift) % height) * width + (sx + shift) % width;
            memcpy(rows + (size_t)t * 3 * c, qkv + (size_t)tok[t] * 3 * c, sizeof(float) * 3 * c);
        }
        for (int head = 0; head < heads; head++) {
            const float *bm = bias_mask + ((size_t)kind * heads + head) * n * n;
            if (d <= 16)
                attend_head_1(rows, orows, c, d, head, local, bm, scale, kT, P, inv);
            else
                attend_head_2(rows, orows, c, d, head, local, bm, scale, kT, P, inv);
        }
        for (int t = 0; t < n; t++) memcpy(out + (size_t)tok[t] * c, orows + (size_t)t * c, sizeof(float) * c);
    }
    free(rows);
    free(orows);
    return 1;
}
