#ifndef SPKDEBLUR_SIMD_COMMON_H
#define SPKDEBLUR_SIMD_COMMON_H
// Shared by the kernel files: the AVX-512 target attribute, the CPU feature probe, the
// vector exp and the 16x16 transpose. Internal to CKernels (not part of include/).

#include <cpuid.h>
#include <immintrin.h>

// A file compiled through avx2_wide.h has defined it (and the vector type) for AVX2 already.
#ifndef CK_AVX2_WIDE
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#endif

// Rows of the fp32 GEMM and convolution micro-kernels (8 rows x 48 columns: 24 of the 32 zmm
// registers); the AVX2 build, with 16 ymm registers, takes fewer.
#ifndef CK_F32_MR
#define CK_F32_MR 8
#endif
// Keys per step of the small-head attention's score loop (4 x 64 queries: 16 zmm).
#ifndef CK_ATTENTION_KEYS
#define CK_ATTENTION_KEYS 4
#endif
// Query rows per step of the 17-32-channel heads' score loop (4 x 64 keys: 16 zmm) and of
// their P V loop (8 rows x 2 vectors).
#ifndef CK_ATTENTION_QUERIES
#define CK_ATTENTION_QUERIES 4
#endif
#ifndef CK_ATTENTION_PV_ROWS
#define CK_ATTENTION_PV_ROWS 8
#endif

// AVX-512 F, DQ, BW and VL present (CPUID leaf 7 EBX) and their register state enabled by
// the OS (XCR0: XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM). Fills leaf 7 sub-leaf 0's EAX
// (the highest sub-leaf) for callers that probe further.
static inline int ck_cpu_avx512_base(unsigned *leaf7_max_subleaf) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (leaf7_max_subleaf) *leaf7_max_subleaf = a;
    return ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);  // F, DQ, BW, VL
}

// exp(x) for x <= ~88: 2^(x log2 e) = 2^n * 2^f, |f| <= 1/2, 2^f by its Taylor polynomial,
// 2^n applied by vscalefps (which underflows to 0 for very negative n). `ck_exp_reduce`
// returns f and sets n.
CK_AVX512 static inline __m512 ck_exp_reduce(__m512 x, __m512 *n) {
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    t = _mm512_max_ps(t, _mm512_set1_ps(-200.0f));
    *n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_sub_ps(t, *n);
}

// Horner steps of 2^f's Taylor polynomial from degree 5 down (ln2^k / k!).
CK_AVX512 static inline __m512 ck_exp_poly5(__m512 p, __m512 f) {
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284770e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821576e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-01f));
    return _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
}

// Degree 7 (relative error ~5e-9 before rounding).
CK_AVX512 static inline __m512 ck_exp_ps(__m512 x) {
    __m512 n, f = ck_exp_reduce(x, &n);
    __m512 p = _mm512_set1_ps(1.5252733804059838e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428441e-03f));
    return _mm512_scalef_ps(ck_exp_poly5(p, f), n);
}

// Degree 5 (relative error 2.4e-6 at |f| = 1/2): for values rounded to bf16 (relative step
// 2^-8) before use.
CK_AVX512 static inline __m512 ck_exp_ps_for_bf16(__m512 x) {
    __m512 n, f = ck_exp_reduce(x, &n);
    return _mm512_scalef_ps(ck_exp_poly5(_mm512_set1_ps(1.3333558146428441e-03f), f), n);
}

#ifndef CK_AVX2_WIDE
// In-place transpose of 16 rows of 16 floats: four butterfly stages, each swapping the
// off-diagonal h x h blocks of every 2h x 2h block (h = 8, 4, 2, 1). Stage s reads lane j of
// its output pair from lane ck_transpose_index[s][0 or 1][j] of the two-row concatenation.
static const int ck_transpose_index[4][2][16] __attribute__((aligned(64))) = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
     {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
    {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
     {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
    {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
     {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
    {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
     {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}},
};

CK_AVX512 static inline void transpose16(__m512 r[16]) {
    for (int stage = 0; stage < 4; stage++) {
        const int h = 8 >> stage;
        __m512i ilo = _mm512_load_si512((const void *)ck_transpose_index[stage][0]);
        __m512i ihi = _mm512_load_si512((const void *)ck_transpose_index[stage][1]);
        for (int i = 0; i < 16; i++) {
            if (i & h) continue;
            __m512 a = r[i], b = r[i + h];
            r[i] = _mm512_permutex2var_ps(a, ilo, b);
            r[i + h] = _mm512_permutex2var_ps(a, ihi, b);
        }
    }
}

#endif

// The 64 rows' `d` (<= 16) values at column `column` of rows `row_stride` floats apart,
// times `scale`, transposed: `dst[e * 64 + t]` for e < d (rows e >= d of each 16-row block
// are zero in the registers and not stored).
CK_AVX512 static inline void ck_load_head_transposed(const float *rows, int row_stride, int column, int d,
                                                     __m512 scale, float *dst) {
    const __mmask16 md = (__mmask16)(d >= 16 ? 0xFFFF : (1u << d) - 1);
    for (int tb = 0; tb < 4; tb++) {
        __m512 r[16];
        for (int t = 0; t < 16; t++)
            r[t] = _mm512_mul_ps(_mm512_maskz_loadu_ps(md, rows + (size_t)(16 * tb + t) * row_stride + column), scale);
        transpose16(r);
        for (int e = 0; e < d; e++) _mm512_storeu_ps(dst + e * 64 + 16 * tb, r[e]);
    }
}

// The inverse for up to 16 channels of a head's output: `oT[e * 64 + t]` (e < count <= 16)
// into columns `column ..< column + count` of 64 rows of `c` floats. A whole vector may spill
// into the columns after them, which are written later; a store that would pass the end of a
// row is masked.
CK_AVX512 static inline void ck_store_head_transposed(const float *oT, float *out, int c, int column, int count) {
    const __mmask16 md = (__mmask16)(count >= 16 ? 0xFFFF : (1u << count) - 1);
    for (int tb = 0; tb < 4; tb++) {
        __m512 r[16];
        for (int e = 0; e < 16; e++) r[e] = e < count ? _mm512_loadu_ps(oT + e * 64 + 16 * tb) : _mm512_setzero_ps();
        transpose16(r);
        for (int t = 0; t < 16; t++) {
            float *dst = out + (size_t)(16 * tb + t) * c + column;
            if (column + 16 <= c)
                _mm512_storeu_ps(dst, r[t]);
            else
                _mm512_mask_storeu_ps(dst, md, r[t]);
        }
    }
}

#endif
