#ifndef SPKDEBLUR_AVX2_WIDE_H
#define SPKDEBLUR_AVX2_WIDE_H
// The fp32 kernels for CPUs with AVX2 and FMA but no AVX-512 (AMD Zen 1-3, Intel client
// cores). A *_avx2.c file includes this header, renames the kernel file's entry points and
// includes the kernel file itself: the same algorithm, compiled with each 16-lane vector
// held in two ymm registers. The subset of the AVX-512 vocabulary the fp32 kernels use is
// defined here on those pairs, lane for lane (each lane sees the same operations in the same
// order, so products and sums match the AVX-512 build; only horizontal reductions may
// associate differently, GELU's reciprocal estimate has 12 bits before its Newton step instead
// of 14, and exp's results under 2^-126 are not the subnormals vscalefps gives; see below). Tile sizes that would need more than 16 registers are set smaller
// by the including file (CK_F32_MR, CK_ATTENTION_KEYS).
//
// Masked loads use vmaskmovps, which reads nothing from masked-out lanes (as AVX-512 masked
// loads do), so tails never read past a buffer.

#include <immintrin.h>
#include <stdint.h>

#define CK_AVX2_WIDE 1
#define CK_AVX512 __attribute__((target("avx2,fma")))

typedef struct {
    __m256 lo, hi;
} ck_v16;

#define __m512 ck_v16

CK_AVX512 static inline ck_v16 ck_v16_pair(__m256 lo, __m256 hi) {
    ck_v16 r = {lo, hi};
    return r;
}

// The 8-lane masks of the low and high halves of a 16-bit lane mask.
CK_AVX512 static inline __m256i ck_half_mask(unsigned bits8) {
    const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i b = _mm256_and_si256(_mm256_set1_epi32((int)bits8), lane_bits);
    return _mm256_cmpeq_epi32(b, lane_bits);
}

CK_AVX512 static inline ck_v16 ck_w_loadu(const float *p) {
    return ck_v16_pair(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8));
}
CK_AVX512 static inline void ck_w_storeu(float *p, ck_v16 v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
}
CK_AVX512 static inline ck_v16 ck_w_maskz_loadu(__mmask16 m, const float *p) {
    if (m == 0xFFFF) return ck_w_loadu(p);
    __m256 lo = (m & 0xFF) ? _mm256_maskload_ps(p, ck_half_mask(m & 0xFF)) : _mm256_setzero_ps();
    __m256 hi = (m >> 8) ? _mm256_maskload_ps(p + 8, ck_half_mask(m >> 8)) : _mm256_setzero_ps();
    return ck_v16_pair(lo, hi);
}
CK_AVX512 static inline void ck_w_mask_storeu(float *p, __mmask16 m, ck_v16 v) {
    if (m == 0xFFFF) {
        ck_w_storeu(p, v);
        return;
    }
    if (m & 0xFF) _mm256_maskstore_ps(p, ck_half_mask(m & 0xFF), v.lo);
    if (m >> 8) _mm256_maskstore_ps(p + 8, ck_half_mask(m >> 8), v.hi);
}
CK_AVX512 static inline ck_v16 ck_w_setzero(void) { return ck_v16_pair(_mm256_setzero_ps(), _mm256_setzero_ps()); }
CK_AVX512 static inline ck_v16 ck_w_set1(float x) {
    __m256 v = _mm256_set1_ps(x);
    return ck_v16_pair(v, v);
}

#define CK_W_BINARY(NAME, OP)                                                                               \
    CK_AVX512 static inline ck_v16 NAME(ck_v16 a, ck_v16 b) { return ck_v16_pair(OP(a.lo, b.lo), OP(a.hi, b.hi)); }
CK_W_BINARY(ck_w_add, _mm256_add_ps)
CK_W_BINARY(ck_w_sub, _mm256_sub_ps)
CK_W_BINARY(ck_w_mul, _mm256_mul_ps)
CK_W_BINARY(ck_w_div, _mm256_div_ps)
CK_W_BINARY(ck_w_max, _mm256_max_ps)
CK_W_BINARY(ck_w_min, _mm256_min_ps)
CK_W_BINARY(ck_w_and, _mm256_and_ps)
CK_W_BINARY(ck_w_or, _mm256_or_ps)
#undef CK_W_BINARY

CK_AVX512 static inline ck_v16 ck_w_fmadd(ck_v16 a, ck_v16 b, ck_v16 c) {
    return ck_v16_pair(_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi));
}
CK_AVX512 static inline ck_v16 ck_w_fnmadd(ck_v16 a, ck_v16 b, ck_v16 c) {
    return ck_v16_pair(_mm256_fnmadd_ps(a.lo, b.lo, c.lo), _mm256_fnmadd_ps(a.hi, b.hi, c.hi));
}
CK_AVX512 static inline ck_v16 ck_w_abs(ck_v16 a) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    return ck_v16_pair(_mm256_and_ps(a.lo, magnitude), _mm256_and_ps(a.hi, magnitude));
}
// `a - b` in the lanes of `m`, zero elsewhere.
CK_AVX512 static inline ck_v16 ck_w_maskz_sub(__mmask16 m, ck_v16 a, ck_v16 b) {
    ck_v16 d = ck_w_sub(a, b);
    if (m == 0xFFFF) return d;
    return ck_v16_pair(_mm256_and_ps(d.lo, _mm256_castsi256_ps(ck_half_mask(m & 0xFF))),
                       _mm256_and_ps(d.hi, _mm256_castsi256_ps(ck_half_mask(m >> 8))));
}
// The 12-bit estimate vrcpps where AVX-512 has a 14-bit one: the only caller (GELU) refines
// it with a Newton step, after which it is within 2^-23 either way, below that formula's own
// error (1.5e-7). A division (an exact value) costs several times more on these cores.
CK_AVX512 static inline ck_v16 ck_w_rcp(ck_v16 a) { return ck_v16_pair(_mm256_rcp_ps(a.lo), _mm256_rcp_ps(a.hi)); }
// Round to nearest even (the only rounding the kernels ask for).
CK_AVX512 static inline ck_v16 ck_w_round_nearest(ck_v16 a) {
    return ck_v16_pair(_mm256_round_ps(a.lo, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                       _mm256_round_ps(a.hi, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
// x 2^n for integral n, as vscalefps for n in [-126, 127]: one factor 2^n built in the
// exponent bits. Below -126 (where vscalefps goes subnormal, then to zero) n is taken as
// -126. Its only caller is exp (ck_exp_ps: softmax, GELU, sigmoid), whose values under 2^-126
// are added to sums of at least 1 or multiplied into a term subtracted from 1, so what they
// give is the same; three integer and one float operation per register instead of nine.
CK_AVX512 static inline __m256 ck_scale_half(__m256 x, __m256 n) {
    __m256i ni = _mm256_cvtps_epi32(_mm256_max_ps(n, _mm256_set1_ps(-126.0f)));
    __m256 p = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(x, p);
}
CK_AVX512 static inline ck_v16 ck_w_scalef(ck_v16 x, ck_v16 n) {
    return ck_v16_pair(ck_scale_half(x.lo, n.lo), ck_scale_half(x.hi, n.hi));
}
CK_AVX512 static inline float ck_w_reduce_add(ck_v16 a) {
    __m256 s = _mm256_add_ps(a.lo, a.hi);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}
CK_AVX512 static inline float ck_w_reduce_max(ck_v16 a) {
    __m256 s = _mm256_max_ps(a.lo, a.hi);
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

#undef _mm512_loadu_ps
#define _mm512_loadu_ps(p) ck_w_loadu((const float *)(p))
#undef _mm512_storeu_ps
#define _mm512_storeu_ps(p, v) ck_w_storeu((float *)(p), v)
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(m, p) ck_w_maskz_loadu(m, (const float *)(p))
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, m, v) ck_w_mask_storeu((float *)(p), m, v)
#undef _mm512_setzero_ps
#define _mm512_setzero_ps() ck_w_setzero()
#undef _mm512_set1_ps
#define _mm512_set1_ps(x) ck_w_set1(x)
#undef _mm512_add_ps
#define _mm512_add_ps(a, b) ck_w_add(a, b)
#undef _mm512_sub_ps
#define _mm512_sub_ps(a, b) ck_w_sub(a, b)
#undef _mm512_mul_ps
#define _mm512_mul_ps(a, b) ck_w_mul(a, b)
#undef _mm512_div_ps
#define _mm512_div_ps(a, b) ck_w_div(a, b)
#undef _mm512_max_ps
#define _mm512_max_ps(a, b) ck_w_max(a, b)
#undef _mm512_min_ps
#define _mm512_min_ps(a, b) ck_w_min(a, b)
#undef _mm512_and_ps
#define _mm512_and_ps(a, b) ck_w_and(a, b)
#undef _mm512_or_ps
#define _mm512_or_ps(a, b) ck_w_or(a, b)
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps(a, b, c) ck_w_fmadd(a, b, c)
#undef _mm512_fnmadd_ps
#define _mm512_fnmadd_ps(a, b, c) ck_w_fnmadd(a, b, c)
#undef _mm512_abs_ps
#define _mm512_abs_ps(a) ck_w_abs(a)
#undef _mm512_maskz_sub_ps
#define _mm512_maskz_sub_ps(m, a, b) ck_w_maskz_sub(m, a, b)
#undef _mm512_rcp14_ps
#define _mm512_rcp14_ps(a) ck_w_rcp(a)
#undef _mm512_roundscale_ps
#define _mm512_roundscale_ps(a, mode) ck_w_round_nearest(a)
#undef _mm512_scalef_ps
#define _mm512_scalef_ps(x, n) ck_w_scalef(x, n)
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps(a) ck_w_reduce_add(a)
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps(a) ck_w_reduce_max(a)

// 8 rows of 8 floats transposed in place (unpack, shuffle, then swap the 128-bit halves).
CK_AVX512 static inline void ck_transpose8(__m256 *r0, __m256 *r1, __m256 *r2, __m256 *r3, __m256 *r4, __m256 *r5,
                                           __m256 *r6, __m256 *r7) {
    __m256 t0 = _mm256_unpacklo_ps(*r0, *r1), t1 = _mm256_unpackhi_ps(*r0, *r1);
    __m256 t2 = _mm256_unpacklo_ps(*r2, *r3), t3 = _mm256_unpackhi_ps(*r2, *r3);
    __m256 t4 = _mm256_unpacklo_ps(*r4, *r5), t5 = _mm256_unpackhi_ps(*r4, *r5);
    __m256 t6 = _mm256_unpacklo_ps(*r6, *r7), t7 = _mm256_unpackhi_ps(*r6, *r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    *r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
    *r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
    *r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
    *r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
    *r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
    *r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
    *r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
    *r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// The 16x16 transpose of simd_common.h on pairs: the four 8x8 blocks transposed, the two
// off-diagonal ones swapped.
CK_AVX512 static inline void transpose16(ck_v16 r[16]) {
    ck_transpose8(&r[0].lo, &r[1].lo, &r[2].lo, &r[3].lo, &r[4].lo, &r[5].lo, &r[6].lo, &r[7].lo);
    ck_transpose8(&r[0].hi, &r[1].hi, &r[2].hi, &r[3].hi, &r[4].hi, &r[5].hi, &r[6].hi, &r[7].hi);
    ck_transpose8(&r[8].lo, &r[9].lo, &r[10].lo, &r[11].lo, &r[12].lo, &r[13].lo, &r[14].lo, &r[15].lo);
    ck_transpose8(&r[8].hi, &r[9].hi, &r[10].hi, &r[11].hi, &r[12].hi, &r[13].hi, &r[14].hi, &r[15].hi);
    for (int i = 0; i < 8; i++) {
        __m256 upper_right = r[i].hi;
        r[i].hi = r[8 + i].lo;
        r[8 + i].lo = upper_right;
    }
}

#endif
