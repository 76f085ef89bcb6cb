// bf16 GEMM with AVX-512 BF16 (`vdpbf16ps`): fp32 in, fp32 out, products of bf16-rounded
// operands summed in fp32.
//
// Right operand: packed once into column panels of 48 (the last one 16, 32 or 48 wide,
// zero-padded), each with its inner size padded with zeros to a multiple of 32 (whole AMX
// tiles for gemm_amx.c; this kernel reads only the first even(k) rows). Within a panel, for every pair of rows (k, k+1) and every column j, the two
// bf16 values sit side by side in one 32-bit lane, which is the operand layout of
// `vdpbf16ps`: lane j += a[k] * b[k][j] + a[k+1] * b[k+1][j].
// Left operand: a block of rows is converted to bf16 rows (k padded to even); a pair of
// neighbouring values of one row is then a 32-bit word, broadcast to all lanes.
// Micro-kernel: 8 rows x 48 columns (24 zmm accumulators).

#include "CKernels.h"
#include "gemm_tile.h"

#include "simd_common.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define CK_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

enum { PANEL = 48, MR = 8, MC = 64 };

int ck_has_avx512bf16(void) {
    unsigned subleaves = 0;
    if (!ck_cpu_avx512_base(&subleaves) || subleaves < 1) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;  // AVX512_BF16
}

static inline uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float ck_bf16_round(float x) {
    uint32_t u = (uint32_t)to_bf16(x) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline int even(int k) { return (k + 1) & ~1; }

size_t ck_bf16_packed_count(int k, int n) {
    int full = n / PANEL, rest = n - full * PANEL;
    int last = (rest + 15) / 16 * 16;
    return (size_t)ck_pad32(k) * (size_t)(full * PANEL + last);
}

void ck_bf16_pack_b(const float *b, int k, int n, int transposed, uint16_t *packed) {
    int kp = ck_pad32(k);
    uint16_t *out = packed;
    for (int j0 = 0; j0 < n; j0 += PANEL) {
        int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
        for (int kk = 0; kk < kp / 2; kk++) {
            for (int j = 0; j < w; j++) {
                for (int h = 0; h < 2; h++) {
                    int row = 2 * kk + h, col = j0 + j;
                    float v = 0;
                    if (row < k && col < n) v = transposed ? b[(size_t)col * k + row] : b[(size_t)row * n + col];
                    *out++ = to_bf16(v);
                }
            }
        }
    }
}

// Converts `rows` rows of `k` floats (stride lda) to bf16 rows of `kp` values (zero padded).
CK_BF16 static void convert_rows(const float *a, int lda, int rows, int k, int kp, uint16_t *dst) {
    for (int r = 0; r < rows; r++) {
        const float *src = a + (size_t)r * lda;
        uint16_t *d = dst + (size_t)r * kp;
        int i = 0;
        for (; i + 32 <= k; i += 32) {
            __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
            _mm512_storeu_si512((void *)(d + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
        if (i < kp) {
            int left = k - i;  // 0..31 values, kp - i <= 32 outputs
            __mmask16 mlo = (__mmask16)(left >= 16 ? 0xFFFF : ((1u << left) - 1));
            __mmask16 mhi = (__mmask16)(left <= 16 ? 0 : ((1u << (left - 16)) - 1));
            __m512 lo = _mm512_maskz_loadu_ps(mlo, src + i), hi = _mm512_maskz_loadu_ps(mhi, src + i + 16);
            int outs = kp - i;
            __mmask32 mo = outs >= 32 ? 0xFFFFFFFFu : ((1u << outs) - 1);
            _mm512_mask_storeu_epi16((void *)(d + i), mo, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

// rows x (16 * NV) tile: c[r][j] (+)= sum_k a[r][k] * panel[k][j] (+ bias[j]).
// `a` rows are bf16 with stride kp; `cols` columns of the tile are stored.
#define MICRO_KERNEL(NV)                                                                                    \
    CK_BF16 static void micro_##NV(int kp, const uint16_t *a, int rows, const uint16_t *panel, float *c,    \
                                   int ldc, int cols, const float *bias, int accumulate) {                   \
        __m512 acc[MR][NV];                                                                                 \
        for (int r = 0; r < MR; r++)                                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        const uint32_t *ar[MR];                                                                             \
        for (int r = 0; r < MR; r++) ar[r] = (const uint32_t *)(a + (size_t)(r < rows ? r : rows - 1) * kp); \
        const __m512 *bp = (const __m512 *)panel;                                                           \
        for (int kk = 0; kk < kp / 2; kk++) {                                                               \
            __m512bh b[NV];                                                                                 \
            for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_ps((const float *)(bp + kk * NV + v)); \
            for (int r = 0; r < MR; r++) {                                                                  \
                __m512bh x = (__m512bh)_mm512_set1_epi32((int)ar[r][kk]);                                   \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, b[v]);              \
            }                                                                                               \
        }                                                                                                   \
        CK_STORE_TILE(NV)                                                                                   \
    }

MICRO_KERNEL(1)
MICRO_KERNEL(2)
MICRO_KERNEL(3)

void ck_gemm_bf16(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c, int ldc,
                  const float *bias, int accumulate) {
    if (m >= 16 && k > 0 && n > 0 && ck_amx_active())
        ck_gemm_bf16_amx(m, n, k, a, lda, packed, c, ldc, bias, accumulate);
    else
        ck_gemm_bf16_avx512(m, n, k, a, lda, packed, c, ldc, bias, accumulate);
}

CK_BF16 void ck_gemm_bf16_avx512(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c,
                                 int ldc, const float *bias, int accumulate) {
    if (m <= 0 || n <= 0) return;
    int kp = even(k);
    if (kp == 0) {
        ck_gemm_empty(m, n, c, ldc, bias, accumulate);
        return;
    }
    // The converted rows: on the stack for the small products of the fused blocks (a call
    // there takes a microsecond or two, and an allocation per call was a measurable share).
    uint16_t stack_buf[MC * 256] __attribute__((aligned(64)));
    uint16_t *buf = kp <= 256 ? stack_buf : (uint16_t *)aligned_alloc(64, ((size_t)MC * kp * 2 + 63) / 64 * 64);
    if (!buf) abort();  // out of memory: as a failed allocation anywhere else
    for (int i0 = 0; i0 < m; i0 += MC) {
        int mc = m - i0 < MC ? m - i0 : MC;
        convert_rows(a + (size_t)i0 * lda, lda, mc, k, kp, buf);
        const uint16_t *panel = packed;
        for (int j0 = 0; j0 < n; j0 += PANEL) {
            int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
            int cols = n - j0 < w ? n - j0 : w;
            const float *bj = bias ? bias + j0 : NULL;
            for (int ir = 0; ir < mc; ir += MR) {
                int rows = mc - ir < MR ? mc - ir : MR;
                const uint16_t *ai = buf + (size_t)ir * kp;
                float *ci = c + (size_t)(i0 + ir) * ldc + j0;
                switch (w / 16) {
                case 3: micro_3(kp, ai, rows, panel, ci, ldc, cols, bj, accumulate); break;
                case 2: micro_2(kp, ai, rows, panel, ci, ldc, cols, bj, accumulate); break;
                default: micro_1(kp, ai, rows, panel, ci, ldc, cols, bj, accumulate); break;
                }
            }
            panel += (size_t)ck_pad32(k) * w;
        }
    }
    if (buf != stack_buf) free(buf);
}

CK_BF16 void ck_f32_to_bf16(const float *x, uint16_t *y, size_t count) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512 lo = _mm512_loadu_ps(x + i), hi = _mm512_loadu_ps(x + i + 16);
        _mm512_storeu_si512((void *)(y + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; i < count; i++) y[i] = to_bf16(x[i]);
}

// The dense convolution of conv.c on bf16 inputs: the image converted once to bf16 (with
// ck_f32_to_bf16), the weight packed by ck_bf16_pack_b, so a run of patch values is a run of
// (k, k+1) pairs and one 32-bit broadcast feeds a `vdpbf16ps`. Needs an even `cin`, so that
// every run starts and ends on a pair.
enum { CONV_MAX_SEGMENTS = 64 };

#define CONV_MICRO_BF16(NV)                                                                                 \
    CK_BF16 static void conv_micro_##NV(int segments, const uint32_t *const *a, int pairs, const int *boff, \
                                        const uint16_t *panel, float *c, int ldc, int rows, int cols,        \
                                        const float *bias, int accumulate) {                                 \
        __m512 acc[MR][NV];                                                                                 \
        for (int r = 0; r < MR; r++)                                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        for (int s = 0; s < segments; s++) {                                                                \
            const uint32_t *const *ar = a + s * MR;                                                         \
            const __m512 *bp = (const __m512 *)panel + (size_t)boff[s] * NV;                                \
            for (int kk = 0; kk < pairs; kk++) {                                                            \
                __m512bh b[NV];                                                                             \
                for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_ps((const float *)(bp + kk * NV + v)); \
                for (int r = 0; r < MR; r++) {                                                              \
                    __m512bh x = (__m512bh)_mm512_set1_epi32((int)ar[r][kk]);                               \
                    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, b[v]);          \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        CK_STORE_TILE(NV)                                                                                   \
    }

CONV_MICRO_BF16(1)
CONV_MICRO_BF16(2)
CONV_MICRO_BF16(3)

#define CONV_DRIVER ck_conv_bf16_avx512_into
#define CONV_ATTR CK_BF16
#define CONV_ELEM uint16_t
#define CONV_OPERAND uint32_t
#define CONV_UNIT 2
#define CONV_PANEL_WIDTH PANEL
#define CONV_PANEL_ROWS(patch) ck_pad32(patch)
#define CONV_SEGMENTS CONV_MAX_SEGMENTS
#include "conv_driver.h"

int ck_conv_bf16_into(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                      const uint16_t *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                      int row_first, int row_count, int out_row_first) {
    if (ck_amx_active() && ck_conv_bf16_amx(x, height, width, cin, kernel, stride, padding, packed, cout, out,
                                            out_width, bias, accumulate, row_first, row_count, out_row_first))
        return 1;
    return ck_conv_bf16_avx512_into(x, height, width, cin, kernel, stride, padding, packed, cout, out, out_width, bias,
                            accumulate, row_first, row_count, out_row_first);
}

int ck_conv_bf16(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding, const uint16_t *packed,
                 int cout, float *out, int out_width, const float *bias, int accumulate, int row_first, int row_count) {
    return ck_conv_bf16_into(x, height, width, cin, kernel, stride, padding, packed, cout, out, out_width, bias,
                             accumulate, row_first, row_count, 0);
}
