// Conversions between 8-bit samples and floats in [0, 1] for images and recorded frames:
// plain loops the compiler vectorises, built twice (the x86-64 baseline and AVX-512F, chosen
// per call from the CPU). They compute exactly what the scalar Swift conversions they replace
// did: `v / 255` in float32, and clamp (NaN to 0), times 255 in float32, round.

#include "CKernels.h"

#include "simd_common.h"

#define CK_AVX512_PLAIN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

// Clamped to [0, 1]; NaN fails `x > 0` and becomes 0.
#define CK_UNIT(x) ((x) > 0.0f ? ((x) < 1.0f ? (x) : 1.0f) : 0.0f)

#define CK_PIXEL_LOOPS(SUFFIX, ATTR)                                                                      \
    ATTR static void u8_to_unit_##SUFFIX(const uint8_t *src, float *dst, size_t n) {                     \
        for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] / 255.0f;                                   \
    }                                                                                                     \
    /* Half away from zero: y - trunc(y) is exact for 0 <= y <= 255. */                                   \
    ATTR static void unit_to_u8_away_##SUFFIX(const float *src, uint8_t *dst, size_t n) {                \
        for (size_t i = 0; i < n; i++) {                                                                  \
            const float y = CK_UNIT(src[i]) * 255.0f;                                                     \
            const int t = (int)y;                                                                         \
            dst[i] = (uint8_t)(t + (y - (float)t >= 0.5f));                                               \
        }                                                                                                 \
    }                                                                                                     \
    /* Half to even: adding and taking away 2^23 rounds 0 <= y < 2^23 to an integer in the   */          \
    /* default rounding mode (the compiler may not fold it without fast-math).               */          \
    ATTR static void unit_to_u8_even_##SUFFIX(const float *src, uint8_t *dst, size_t n) {                \
        for (size_t i = 0; i < n; i++) {                                                                  \
            const float y = CK_UNIT(src[i]) * 255.0f;                                                     \
            dst[i] = (uint8_t)(int)((y + 8388608.0f) - 8388608.0f);                                       \
        }                                                                                                 \
    }

CK_PIXEL_LOOPS(base, )
CK_PIXEL_LOOPS(avx512, CK_AVX512_PLAIN)

// The probe once per process (CPUID can trap to the hypervisor in a virtual machine).
static int wide(void) {
    static int cached = -1;
    int w = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (w < 0) {
        w = ck_cpu_avx512_base(0);
        __atomic_store_n(&cached, w, __ATOMIC_RELAXED);
    }
    return w;
}

void ck_u8_to_unit_f32(const uint8_t *src, float *dst, size_t n) {
    if (wide())
        u8_to_unit_avx512(src, dst, n);
    else
        u8_to_unit_base(src, dst, n);
}

void ck_unit_f32_to_u8_half_away(const float *src, uint8_t *dst, size_t n) {
    if (wide())
        unit_to_u8_away_avx512(src, dst, n);
    else
        unit_to_u8_away_base(src, dst, n);
}

void ck_unit_f32_to_u8_half_even(const float *src, uint8_t *dst, size_t n) {
    if (wide())
        unit_to_u8_even_avx512(src, dst, n);
    else
        unit_to_u8_even_base(src, dst, n);
}
