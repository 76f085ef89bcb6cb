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
        ck_store_head_transposed(qT, out, c, head * d, d);                                              \
    }

ATTEND_SMALL_BF16(8)
ATTEND_SMALL_BF16(16)

// The same attention with both products on AMX tiles (gemm_amx.c's tile configuration: all
// eight tiles 16 rows x 64 bytes), for heads of up to 32 channels:
//   S^T (keys x queries) = K Q^T + bias: left tiles are 16 key rows of K in bf16 (32 channels,
//   zero past d), right tiles the interleaved query pairs (pairs past d/2 zero);
//   O^T (channels x queries) = V^T P^T: left tiles 16 channels of V^T in bf16 (32 keys per
//   tile), right tiles the interleaved probabilities of key pairs, the layout the vector loop
//   builds.
// The softmax (maxima, exponentials, sums) stays in fp32 vectors.
void ck_amx_configure_thread(void);

#define CK_AMX_ATTN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))

#define SCORE_BLOCK(CI, BI, QB)                                                                             \
    _tile_loadd(CI, bias_t + (size_t)kb * 16 * 64 + 16 * (QB), 256);                                        \
    _tile_dpbf16ps(CI, 3, BI);                                                                              \
    _tile_stored(CI, ST + kb * 16 * 64 + 16 * (QB), 256);

#define OUTPUT_BLOCK(CI, QB)                                                                                \
    _tile_zero(CI);                                                                                         \
    _tile_loadd(6, pb2 + 16 * (QB), 256);                                                                   \
    _tile_dpbf16ps(CI, 4, 6);                                                                               \
    _tile_loadd(7, pb2 + 16 * 64 + 16 * (QB), 256);                                                         \
    _tile_dpbf16ps(CI, 5, 7);                                                                               \
    _tile_stored(CI, qT + eb * 16 * 64 + 16 * (QB), 256);

CK_AMX_ATTN static void attend_bf16_amx(const float *rows, float *out, int c, int d, int head, const float *bias_t,
                                         float scale) {
    ck_amx_configure_thread();
    const int row3 = 3 * c, pairs = (d + 1) / 2, blocks = (d + 15) / 16;
    const int width[2] = {d < 16 ? d : 16, d - 16};  /* channels in each 16-channel block */
    const __mmask16 m[2] = {(__mmask16)(d >= 16 ? 0xFFFF : (1u << d) - 1),
                            (__mmask16)(d >= 32 ? 0xFFFF : d <= 16 ? 0 : (1u << (d - 16)) - 1)};
    const __m512 vscale = _mm512_set1_ps(scale);
    const __m512i interleave = _mm512_load_si512((const void *)ck_interleave_index);
    float qT[32 * 64] __attribute__((aligned(64)));
    uint32_t q2[16 * 64] __attribute__((aligned(64)));   /* [pair][query], pairs past d/2 zero */
    uint32_t k2[64 * 16] __attribute__((aligned(64)));   /* [key][pair], channels past d zero */
    uint16_t vTb[32 * 64] __attribute__((aligned(64)));  /* [channel][key], channels past d zero */
    uint32_t pb2[32 * 64] __attribute__((aligned(64)));  /* [key pair][query] */
    float ST[64 * 64] __attribute__((aligned(64)));
    for (int eb = 0; eb < blocks; eb++)
        ck_load_head_transposed(rows, row3, head * d + 16 * eb, width[eb], vscale, qT + eb * 16 * 64);
    if (d & 1)
        for (int v = 0; v < 4; v++) _mm512_store_ps(qT + d * 64 + 16 * v, _mm512_setzero_ps());
    for (int p = 0; p < 16; p++)
        for (int v = 0; v < 4; v++)
            _mm512_store_si512((void *)(q2 + p * 64 + 16 * v),
                               p < pairs ? pair_lanes(_mm512_load_ps(qT + 2 * p * 64 + 16 * v),
                                                      _mm512_load_ps(qT + (2 * p + 1) * 64 + 16 * v), interleave)
                                         : _mm512_setzero_si512());
    for (int j = 0; j < 64; j++) {
        const float *kr = rows + (size_t)j * row3 + c + head * d;
        __m512 lo = _mm512_maskz_loadu_ps(m[0], kr), hi = _mm512_maskz_loadu_ps(m[1], kr + 16);
        _mm512_store_si512((void *)(k2 + j * 16), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (int eb = 0; eb < blocks; eb++)
        for (int tb = 0; tb < 4; tb++) {
            __m512 r[16];
            for (int t = 0; t < 16; t++)
                r[t] = _mm512_maskz_loadu_ps(m[eb], rows + (size_t)(16 * tb + t) * row3 + 2 * c + head * d + 16 * eb);
            transpose16(r);
            for (int e = 0; e < 16; e++)
                _mm256_store_si256((__m256i *)(vTb + (16 * eb + e) * 64 + 16 * tb), (__m256i)_mm512_cvtneps_pbh(r[e]));
        }
    // Scores: four key blocks x four query blocks, the bias as the starting sums.
    _tile_loadd(4, q2, 256);
    _tile_loadd(5, q2 + 16, 256);
    _tile_loadd(6, q2 + 32, 256);
    _tile_loadd(7, q2 + 48, 256);
    for (int kb = 0; kb < 4; kb++) {
        _tile_loadd(3, k2 + kb * 16 * 16, 64);
        SCORE_BLOCK(0, 4, 0)
        SCORE_BLOCK(1, 5, 1)
        SCORE_BLOCK(2, 6, 2)
        SCORE_BLOCK(0, 7, 3)
    }
    // Softmax over the keys (rows of S^T) for 16 queries at a time; probabilities of key pairs
    // interleaved, the right operand of the output product.
    __m512 inv[4];
    for (int v = 0; v < 4; v++) {
        __m512 mx = _mm512_set1_ps(-3.0e38f), sum = _mm512_setzero_ps();
        for (int j = 0; j < 64; j++) mx = _mm512_max_ps(mx, _mm512_load_ps(ST + j * 64 + 16 * v));
        for (int jp = 0; jp < 32; jp++) {
            __m512 pa = ck_exp_ps_for_bf16(_mm512_sub_ps(_mm512_load_ps(ST + (2 * jp) * 64 + 16 * v), mx));
            __m512 pb = ck_exp_ps_for_bf16(_mm512_sub_ps(_mm512_load_ps(ST + (2 * jp + 1) * 64 + 16 * v), mx));
            sum = _mm512_add_ps(sum, _mm512_add_ps(pa, pb));
            _mm512_store_si512((void *)(pb2 + jp * 64 + 16 * v), pair_lanes(pa, pb, interleave));
        }
        inv[v] = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
    }
    // O^T = V^T P^T: 16 channel rows x 16 queries per tile, 64 keys in two tiles.
    for (int eb = 0; eb < blocks; eb++) {
        _tile_loadd(4, vTb + eb * 16 * 64, 128);
        _tile_loadd(5, vTb + eb * 16 * 64 + 32, 128);
        OUTPUT_BLOCK(0, 0)
        OUTPUT_BLOCK(1, 1)
        OUTPUT_BLOCK(2, 2)
        OUTPUT_BLOCK(3, 3)
    }
    for (int e = 0; e < d; e++)
        for (int v = 0; v < 4; v++)
            _mm512_store_ps(qT + e * 64 + 16 * v, _mm512_mul_ps(_mm512_load_ps(qT + e * 64 + 16 * v), inv[v]));
    for (int eb = 0; eb < blocks; eb++)
        ck_store_head_transposed(qT + eb * 16 * 64, out, c, head * d + 16 * eb, width[eb]);
}

int ck_window_attention_block_bf16(const float *rows, float *out, int c, int heads, const float *bias_mask_t,
                                   float scale) {
    int d = heads > 0 ? c / heads : 0;
    const int amx = ck_amx_active();
    if (d < 1 || d > (amx ? 32 : 16) || d * heads != c || !bias_mask_t) return 0;
    for (int head = 0; head < heads; head++) {
        const float *bt = bias_mask_t + (size_t)head * 64 * 64;
        if (amx)
            attend_bf16_amx(rows, out, c, d, head, bt, scale);
        else if (d <= 8)
            attend_bf16_8(rows, out, c, d, head, bt, scale);
        else
            attend_bf16_16(rows, out, c, d, head, bt, scale);
    }
    return 1;
}
