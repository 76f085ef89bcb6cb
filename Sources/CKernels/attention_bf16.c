// Swin window attention for 64-token (8x8) windows and heads of up to 16 channels with
// bf16 products (`vdpbf16ps`, AVX-512 BF16), for the model's bf16 precision: the layout of
// the fp32 small-head kernel (attention.c: queries in the lanes, the softmax a vertical
// reduction over the keys), with every dot product taken two terms at a time:
//   scores   S^T[j][i] = sum over channel pairs (k_j[e], k_j[e+1]) . (q_i[e], q_i[e+1]): the
//            query pairs interleaved in the lanes, the key pair broadcast as one 32-bit word;
//   output   O^T[e][i] = sum over key pairs (v_j[e], v_j+1[e]) . (p_j[i], p_j+1[i]): the
//            probabilities of two keys interleaved in the lanes, the value pair broadcast
//            from V^T in bf16.
// Scores, the softmax (max, exp, sum) and the output are accumulated in fp32; only the
// operands of the products are rounded to bf16 (round to nearest even), as in the GEMMs.

#include "CKernels.h"

#include "simd_common.h"

#define CK_BF16_ATTN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// Lane i of the result: 16-bit element i of `lo` then element i of `hi` (the two halves of
// `_mm512_cvtne2ps_pbh(hi, lo)` interleaved).
static const short ck_interleave_index[32] __attribute__((aligned(64))) = {
    0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31,
};

CK_BF16_ATTN static inline __m512i pair_lanes(__m512 lo, __m512 hi, __m512i index) {
    return _mm512_permutexvar_epi16(index, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

// E: 8 (d <= 8) or 16 (d <= 16) output rows of O^T.
#define ATTEND_SMALL_BF16(E)                                                                                \
    CK_BF16_ATTN static void attend_bf16_##E(const float *rows, float *out, int c, int d, int head,       \
                                             const float *bias_t, float scale) {                            \
        const int row3 = 3 * c, pairs = (d + 1) / 2;                                                        \
        const __mmask16 md = (__mmask16)(d >= 16 ? 0xFFFF : (1u << d) - 1);                                 \
        const __m512 vscale = _mm512_set1_ps(scale);                                                        \
        const __m512i interleave = _mm512_load_si512((const void *)ck_interleave_index);                    \
        float qT[16 * 64] __attribute__((aligned(64)));                                                     \
        uint32_t q2[8 * 64] __attribute__((aligned(64)));     /* [pair][query] */                          \
        uint32_t k2[64 * 8] __attribute__((aligned(64)));     /* [key][pair] */                            \
        uint16_t vTb[16 * 64] __attribute__((aligned(64)));   /* [channel][key] */                         \
        float ST[64 * 64] __attribute__((aligned(64)));                                                     \
        /* Q^T scaled (fp32), then its channel pairs interleaved in bf16. */                                \
        ck_load_head_transposed(rows, row3, head * d, d, vscale, qT);                                       \
        if (d & 1) /* the odd channel's pair partner */                                                     \
            for (int v = 0; v < 4; v++) _mm512_store_ps(qT + d * 64 + 16 * v, _mm512_setzero_ps());         \
        for (int p = 0; p < pairs; p++)                                                                     \
            for (int v = 0; v < 4; v++)                                                                     \
                _mm512_store_si512((void *)(q2 + p * 64 + 16 * v),                                          \
                                   pair_lanes(_mm512_load_ps(qT + 2 * p * 64 + 16 * v),                     \
                                              _mm512_load_ps(qT + (2 * p + 1) * 64 + 16 * v), interleave)); \
        /* K rows in bf16 (channel pairs are 32-bit words), V^T in bf16. */                                 \
        for (int j = 0; j < 64; j++) {                                                                      \
            __m512 kr = _mm512_maskz_loadu_ps(md, rows + (size_t)j * row3 + c + head * d);                  \
            _mm256_store_si256((__m256i *)(k2 + j * 8), (__m256i)_mm512_cvtneps_pbh(kr));                   \
        }                                                                                                   \
        for (int tb = 0; tb < 4; tb++) {                                                                    \
            __m512 r[16];                                                                                   \
            for (int t = 0; t < 16; t++)                                                                    \
                r[t] = _mm512_maskz_loadu_ps(md, rows + (size_t)(16 * tb + t) * row3 + 2 * c + head * d);   \
            transpose16(r);                                                                                 \
            for (int e = 0; e < E; e++)                                                                     \
                _mm256_store_si256((__m256i *)(vTb + e * 64 + 16 * tb), (__m256i)_mm512_cvtneps_pbh(r[e])); \
        }                                                                                                   \
        /* Scores with the bias (and mask), four keys x 64 queries at a time; column maxima. */             \
        __m512 mx[4];                                                                                       \
        for (int v = 0; v < 4; v++) mx[v] = _mm512_set1_ps(-3.0e38f);                                       \
        for (int j0 = 0; j0 < 64; j0 += 4) {                                                                \
            __m512 acc[4][4];                                                                               \
            for (int r = 0; r < 4; r++)                                                                     \
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_loadu_ps(bias_t + (j0 + r) * 64 + 16 * v);   \
            for (int p = 0; p < pairs; p++) {                                                               \
                __m512bh q[4];                                                                              \
                for (int v = 0; v < 4; v++) q[v] = (__m512bh)_mm512_load_si512((const void *)(q2 + p * 64 + 16 * v)); \
                for (int r = 0; r < 4; r++) {                                                               \
                    __m512bh x = (__m512bh)_mm512_set1_epi32((int)k2[(j0 + r) * 8 + p]);                    \
                    for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, q[v]);           \
                }                                                                                           \
            }                                                                                               \
            for (int r = 0; r < 4; r++)                                                                     \
                for (int v = 0; v < 4; v++) {                                                               \
                    _mm512_store_ps(ST + (j0 + r) * 64 + 16 * v, acc[r][v]);                                \
                    mx[v] = _mm512_max_ps(mx[v], acc[r][v]);                                                \
                }                                                                                           \
        }                                                                                                   \
        /* 16 queries at a time: exponentials of two keys, interleaved, times V^T pairs. */                 \
        const uint32_t *v2 = (const uint32_t *)vTb;                                                         \
        for (int v = 0; v < 4; v++) {                                                                       \
            __m512 o[E], sum = _mm512_setzero_ps();                                                         \
            for (int e = 0; e < E; e++) o[e] = _mm512_setzero_ps();                                         \
            for (int jp = 0; jp < 32; jp++) {                                                               \
                __m512 pa = ck_exp_ps_for_bf16(_mm512_sub_ps(_mm512_load_ps(ST + (2 * jp) * 64 + 16 * v), mx[v]));   \
                __m512 pb = ck_exp_ps_for_bf16(_mm512_sub_ps(_mm512_load_ps(ST + (2 * jp + 1) * 64 + 16 * v), mx[v])); \
                sum = _mm512_add_ps(sum, _mm512_add_ps(pa, pb));                                            \
                __m512bh pp = (__m512bh)pair_lanes(pa, pb, interleave);                                     \
                for (int e = 0; e < E; e++)                                                                 \
                    o[e] = _mm512_dpbf16_ps(o[e], (__m512bh)_mm512_set1_epi32((int)v2[e * 32 + jp]), pp);   \
            }                                                                                               \
            __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);                                          \
            for (int e = 0; e < E; e++) _mm512_store_ps(qT + e * 64 + 16 * v, _mm512_mul_ps(o[e], inv));    \
        }                                                                                                   \
        /* O^T (now in qT) transposed back into the head's columns of the output rows. */                   \
        ck_store_head_transposed(qT, out, c, d, head);                                                      \
    }

ATTEND_SMALL_BF16(8)
ATTEND_SMALL_BF16(16)

int ck_window_attention_block_bf16(const float *rows, float *out, int c, int heads, const float *bias_mask_t,
                                   float scale) {
    int d = heads > 0 ? c / heads : 0;
    if (d < 1 || d > 16 || d * heads != c || !bias_mask_t) return 0;
    for (int head = 0; head < heads; head++) {
        const float *bt = bias_mask_t + (size_t)head * 64 * 64;
        if (d <= 8)
            attend_bf16_8(rows, out, c, d, head, bt, scale);
        else
            attend_bf16_16(rows, out, c, d, head, bt, scale);
    }
    return 1;
}
