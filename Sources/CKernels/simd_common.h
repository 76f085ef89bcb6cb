#ifndef SPKDEBLUR_SIMD_COMMON_H
#define SPKDEBLUR_SIMD_COMMON_H
// Shared by the kernel files: the AVX-512 target attribute, the CPU feature probe and the
// vector exp. Internal to CKernels (not part of include/).

#include <cpuid.h>
#include <immintrin.h>

#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

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

// exp(x) for x <= ~88: 2^(x log2 e) = 2^n * 2^f, |f| <= 1/2, 2^f by its degree-7 Taylor
// polynomial (relative error ~5e-9 before rounding), 2^n applied by vscalefps (which
// underflows to 0 for very negative n).
CK_AVX512 static inline __m512 ck_exp_ps(__m512 x) {
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    t = _mm512_max_ps(t, _mm512_set1_ps(-200.0f));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.5252733804059838e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428441e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284770e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821576e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

#endif
