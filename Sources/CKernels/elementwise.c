// Element-wise and row-wise AVX-512 kernels: exact-form GELU, LayerNorm.

#include "CKernels.h"

#include "simd_common.h"

#include <math.h>

// 0.5 x (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7),
// the same formula as the Swift fallback (SIMDMath.gelu).
CK_AVX512 static inline __m512 gelu_ps(__m512 x) {
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    __m512 a = _mm512_abs_ps(z);
    __m512 den = _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f));
    __m512 t = _mm512_rcp14_ps(den);
    t = _mm512_mul_ps(t, _mm512_fnmadd_ps(den, t, _mm512_set1_ps(2.0f)));  // one Newton step
    __m512 y = _mm512_set1_ps(1.061405429f);
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-1.453152027f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(1.421413741f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-0.284496736f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(0.254829592f));
    __m512 decay = ck_exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), a), a));
    __m512 erf_abs = _mm512_fnmadd_ps(_mm512_mul_ps(y, t), decay, _mm512_set1_ps(1.0f));
    // erf is odd: copy the sign of z. 0.5 x (1 + erf) = 0.5 (x + x erf).
    __m512 erf = _mm512_or_ps(erf_abs, _mm512_and_ps(z, _mm512_set1_ps(-0.0f)));
    return _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_fmadd_ps(x, erf, x));
}

CK_AVX512 void ck_gelu_f32(float *x, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, gelu_ps(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}


// LayerNorm of rows held in V vectors each (c <= 16 * V): two-pass mean and biased
// variance, then (x - mean) / sqrt(var + eps) * w + b. V is a compile-time constant, so a
// row, the weight and the bias stay in registers (with a run-time count the row went
// through the stack, and the weight and bias were loaded again for every row).
enum { LN_MAXV = 8 };

#define LAYER_NORM_ROWS(V)                                                                                  \
    CK_AVX512 static void layer_norm_rows_##V(const float *x, const int32_t *index, int rows, int c,         \
                                              const float *w, const float *b, float eps, float *y) {         \
        __mmask16 m[V];                                                                                     \
        __m512 vw[V], vb[V];                                                                                \
        for (int i = 0; i < V; i++) {                                                                       \
            int left = c - 16 * i;                                                                          \
            m[i] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);                          \
            vw[i] = _mm512_maskz_loadu_ps(m[i], w + 16 * i);                                                \
            vb[i] = _mm512_maskz_loadu_ps(m[i], b + 16 * i);                                                \
        }                                                                                                   \
        for (int r = 0; r < rows; r++) {                                                                    \
            const float *src = x + (size_t)(index ? index[r] : r) * c;                                      \
            float *dst = y + (size_t)r * c;                                                                 \
            __m512 v[V];                                                                                    \
            __m512 sum = _mm512_setzero_ps();                                                               \
            for (int i = 0; i < V; i++) {                                                                   \
                v[i] = _mm512_maskz_loadu_ps(m[i], src + 16 * i);                                           \
                sum = _mm512_add_ps(sum, v[i]);                                                             \
            }                                                                                               \
            const __m512 vm = _mm512_set1_ps(_mm512_reduce_add_ps(sum) / (float)c);                         \
            __m512 sq = _mm512_setzero_ps();                                                                \
            for (int i = 0; i < V; i++) {                                                                   \
                v[i] = _mm512_maskz_sub_ps(m[i], v[i], vm);                                                 \
                sq = _mm512_fmadd_ps(v[i], v[i], sq);                                                       \
            }                                                                                               \
            const float var = _mm512_reduce_add_ps(sq) / (float)c;                                          \
            const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(var + eps));                                     \
            for (int i = 0; i < V; i++) {                                                                   \
                __m512 o = _mm512_fmadd_ps(_mm512_mul_ps(v[i], inv), vw[i], vb[i]);                         \
                if (m[i] == 0xFFFF)                                                                         \
                    _mm512_storeu_ps(dst + 16 * i, o);                                                      \
                else                                                                                        \
                    _mm512_mask_storeu_ps(dst + 16 * i, m[i], o);                                           \
            }                                                                                               \
        }                                                                                                   \
    }

LAYER_NORM_ROWS(1)
LAYER_NORM_ROWS(2)
LAYER_NORM_ROWS(3)
LAYER_NORM_ROWS(4)
LAYER_NORM_ROWS(5)
LAYER_NORM_ROWS(6)
LAYER_NORM_ROWS(7)
LAYER_NORM_ROWS(8)

CK_AVX512 int ck_layer_norm_f32(const float *x, const int32_t *index, int rows, int c, const float *weight,
                                const float *bias, float epsilon, float *y) {
    if (c < 1 || c > 16 * LN_MAXV) return 0;
    switch ((c + 15) / 16) {
    case 1: layer_norm_rows_1(x, index, rows, c, weight, bias, epsilon, y); break;
    case 2: layer_norm_rows_2(x, index, rows, c, weight, bias, epsilon, y); break;
    case 3: layer_norm_rows_3(x, index, rows, c, weight, bias, epsilon, y); break;
    case 4: layer_norm_rows_4(x, index, rows, c, weight, bias, epsilon, y); break;
    case 5: layer_norm_rows_5(x, index, rows, c, weight, bias, epsilon, y); break;
    case 6: layer_norm_rows_6(x, index, rows, c, weight, bias, epsilon, y); break;
    case 7: layer_norm_rows_7(x, index, rows, c, weight, bias, epsilon, y); break;
    default: layer_norm_rows_8(x, index, rows, c, weight, bias, epsilon, y); break;
    }
    return 1;
}

// 1 / (1 + exp(-x)); exp's argument is clamped at 88 so that very negative x give 0, not NaN.
CK_AVX512 static inline __m512 sigmoid_ps(__m512 x) {
    __m512 e = ck_exp_ps(_mm512_min_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(88.0f)));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

CK_AVX512 void ck_sigmoid_f32(float *x, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, sigmoid_ps(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, sigmoid_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

CK_AVX512 void ck_dot_rows_f32(int rows, int k, const float *a, int lda, const float *w, const float *bias,
                               float *c, int ldc, int accumulate) {
    const float b = bias ? bias[0] : 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *row = a + (size_t)r * lda;
        __m512 acc = _mm512_setzero_ps();
        int i = 0;
        for (; i + 16 <= k; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(row + i), _mm512_loadu_ps(w + i), acc);
        if (i < k) {
            __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, row + i), _mm512_maskz_loadu_ps(m, w + i), acc);
        }
        float y = _mm512_reduce_add_ps(acc) + b;
        c[(size_t)r * ldc] = accumulate ? c[(size_t)r * ldc] + y : y;
    }
}

#ifndef CK_AVX2_WIDE
void ck_channel_sums(const float *x, size_t pixels, int c, double *sums) {
    enum { BLOCK = 256, MAXC = 1024 };
    float part[MAXC];
    if (c > MAXC) {
        for (size_t p = 0; p < pixels; p++)
            for (int i = 0; i < c; i++) sums[i] += x[p * (size_t)c + i];
        return;
    }
    for (size_t p0 = 0; p0 < pixels; p0 += BLOCK) {
        size_t p1 = p0 + BLOCK < pixels ? p0 + BLOCK : pixels;
        for (int i = 0; i < c; i++) part[i] = 0;
        for (size_t p = p0; p < p1; p++) {
            const float *row = x + p * (size_t)c;
            for (int i = 0; i < c; i++) part[i] += row[i];
        }
        for (int i = 0; i < c; i++) sums[i] += part[i];
    }
}
#endif

CK_AVX512 void ck_transpose_f32(const float *src, size_t ld_src, float *dst, size_t ld_dst, size_t rows,
                                size_t cols) {
    // Up to 4 rows or columns (RGB, one channel): plain loops along the long side, the
    // contiguous side read or written in order; a 16x16 block would hold mostly padding, and
    // its masked loads and stores are slow on AMD cores (3 x 400,000, one core: 2.4 -> 0.5 ms
    // from planes, 0.8 -> 0.4 ms to them).
    if (rows <= 4) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) dst[j * ld_dst + i] = src[i * ld_src + j];
        return;
    }
    if (cols <= 4) {
        for (size_t j = 0; j < cols; j++)
            for (size_t i = 0; i < rows; i++) dst[j * ld_dst + i] = src[i * ld_src + j];
        return;
    }
    // Output rows outermost: each block of 16 output rows is finished while in cache (with
    // the input rows outermost, a wide output would be swept once per 16 input rows).
    for (size_t j0 = 0; j0 < cols; j0 += 16) {
        const size_t nj = cols - j0 < 16 ? cols - j0 : 16;
        const __mmask16 mj = (__mmask16)(nj == 16 ? 0xFFFF : (1u << nj) - 1);
        for (size_t i0 = 0; i0 < rows; i0 += 16) {
            const size_t ni = rows - i0 < 16 ? rows - i0 : 16;
            const __mmask16 mi = (__mmask16)(ni == 16 ? 0xFFFF : (1u << ni) - 1);
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = i < ni ? _mm512_maskz_loadu_ps(mj, src + (i0 + i) * ld_src + j0) : _mm512_setzero_ps();
            transpose16(r);
            for (size_t j = 0; j < nj; j++) {
                float *d = dst + (j0 + j) * ld_dst + i0;
                if (mi == 0xFFFF)
                    _mm512_storeu_ps(d, r[j]);
                else
                    _mm512_mask_storeu_ps(d, mi, r[j]);
            }
        }
    }
}
