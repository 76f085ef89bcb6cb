// Element-wise AVX-512 kernels: exact-form GELU.

#include "CKernels.h"

#include "simd_common.h"

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

